package crated

// ImportStatus is what Store.ImportVersions did with one version of a batch.
type ImportStatus int

const (
	// Imported: the version was inserted.
	Imported ImportStatus = iota + 1
	// Identical: the crate already had this exact version (same Vers and
	// Cksum); nothing was changed, not even its yanked flag.
	Identical
	// Conflict: the version was not inserted because it contradicts what
	// the store holds (see ImportResult.Reason).
	Conflict
)

func (s ImportStatus) String() string {
	switch s {
	case Imported:
		return "imported"
	case Identical:
		return "identical"
	case Conflict:
		return "conflict"
	}
	return "unknown"
}

// ImportResult is the outcome for one version of Store.ImportVersions.
type ImportResult struct {
	Status ImportStatus
	// VersionID is the version's id when Imported or Identical.
	VersionID int64
	// Reason says why a Conflict was not imported, for the user.
	Reason string
}

// CompareImported is the result of importing v where the store already
// holds version id, vers, with checksum cksum, under the same VersKey: the
// one rule every store applies.
func CompareImported(id int64, vers, cksum string, v *Version) ImportResult {
	switch {
	case vers != v.Vers:
		return ImportResult{Status: Conflict, Reason: "version `" + vers + "` is already there (versions are unique ignoring build metadata)"}
	case cksum != v.Cksum:
		return ImportResult{Status: Conflict, Reason: "version `" + vers + "` is already there with a different checksum (" + cksum + ")"}
	}
	return ImportResult{Status: Identical, VersionID: id}
}
