package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crated/crated"
)

// RunImport is the contract of Store.ImportVersions, run by every backend
// beside Run:
//
//   - The batch is written in one transaction, in order; each item gets one
//     ImportResult. Any error (ENOTFOUND for an unknown OwnerID of a crate
//     to create or an unknown PublishedBy, EINTERNAL) writes nothing.
//   - The crate is found by Crate.CanonName (CrateID is ignored). A missing
//     crate is created with the item's metadata and OwnerID as its only
//     owner; an existing crate keeps its metadata and its owners. An item
//     whose Crate.Name differs from the existing crate's Name is a Conflict.
//   - A version whose VersKey the crate already has (from the store or from
//     an earlier item of the batch) is Identical when Vers and Cksum are the
//     same, and changes nothing, not even the yanked flag; otherwise it is a
//     Conflict. Either way the result's VersionID (Identical) or Reason
//     (Conflict) says which version it met.
//   - An Imported version keeps Yanked, PublishedAt (the current time when
//     zero) and every byte of Entry, Manifest and Readme; MaxVersion follows
//     the same rule as for PublishVersion; one audit entry "import" per
//     imported version, by PublishedBy, with the crate's Name and the Vers.
//   - Importing the same batch twice changes nothing the second time.
//   - Imports race publishes and other imports as publishes race each
//     other: of one new crate or version, exactly one row is written; an
//     import that loses sees the winner as Identical (same Cksum) and never
//     fails for it.
func RunImport(t *testing.T, newStore func(t *testing.T) crated.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s crated.Store)
	}{
		{"NewCrates", testImportNew},
		{"Idempotent", testImportIdempotent},
		{"Conflicts", testImportConflicts},
		{"ExistingCrate", testImportExistingCrate},
		{"UnknownUser", testImportUnknownUser},
		{"AllYanked", testImportAllYanked},
		{"RacingPublish", testImportRacingPublish},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, newStore)
			tt.fn(t, s)
		})
	}
}

// importItem is newVersion as an import: yanked as given, the entry's
// "yanked" left false as in every stored Entry.
func importItem(name, vers string, user int64, yanked bool) *crated.NewVersion {
	nv := newVersion(0, name, vers, user)
	nv.Version.Yanked = yanked
	return nv
}

func mustImport(t *testing.T, s crated.Store, batch []*crated.NewVersion) []crated.ImportResult {
	t.Helper()
	res, err := s.ImportVersions(t.Context(), batch)
	if err != nil {
		t.Fatalf("ImportVersions: %v", err)
	}
	if len(res) != len(batch) {
		t.Fatalf("ImportVersions returned %d results for %d versions", len(res), len(batch))
	}
	return res
}

func statuses(res []crated.ImportResult) []crated.ImportStatus {
	out := make([]crated.ImportStatus, len(res))
	for i, r := range res {
		out[i] = r.Status
	}
	return out
}

func wantStatuses(t *testing.T, res []crated.ImportResult, want ...crated.ImportStatus) {
	t.Helper()
	if got := statuses(res); !slices.Equal(got, want) {
		t.Fatalf("statuses = %v, want %v (results %+v)", got, want, res)
	}
}

func countImportAudit(t *testing.T, s crated.Store) int {
	t.Helper()
	es, err := s.Audit(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == "import" {
			n++
		}
	}
	return n
}

func testImportNew(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	old := importItem("foo-bar", "1.0.0", alice.ID, true)
	old.Version.PublishedAt = time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)
	now := importItem("foo-bar", "1.1.0", alice.ID, false)
	now.Version.PublishedAt = time.Time{}
	other := importItem("baz", "0.1.0-rc.1+build.7", alice.ID, false)
	before := time.Now().Add(-time.Minute)
	res := mustImport(t, s, []*crated.NewVersion{old, now, other})
	wantStatuses(t, res, crated.Imported, crated.Imported, crated.Imported)

	c, err := s.CrateByName(t.Context(), "foo_bar")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "foo-bar" || c.MaxVersion != "1.1.0" || c.Description != old.Crate.Description {
		t.Errorf("crate = %q max %q desc %q; want foo-bar, 1.1.0 and the item's metadata", c.Name, c.MaxVersion, c.Description)
	}
	if got := mustOwners(t, s, c.ID); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("owners = %v, want [alice]", got)
	}
	vs, err := s.Versions(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Vers != "1.0.0" || vs[1].Vers != "1.1.0" {
		t.Fatalf("versions = %+v, want 1.0.0 then 1.1.0", vs)
	}
	if vs[0].ID != res[0].VersionID || vs[1].ID != res[1].VersionID {
		t.Errorf("result ids %d, %d; versions have %d, %d", res[0].VersionID, res[1].VersionID, vs[0].ID, vs[1].ID)
	}
	if !vs[0].Yanked || vs[1].Yanked {
		t.Errorf("yanked = %v, %v; want true, false", vs[0].Yanked, vs[1].Yanked)
	}
	if !vs[0].PublishedAt.Equal(old.Version.PublishedAt) {
		t.Errorf("PublishedAt = %v, want %v", vs[0].PublishedAt, old.Version.PublishedAt)
	}
	if vs[1].PublishedAt.Before(before) {
		t.Errorf("zero PublishedAt stored as %v, want the current time", vs[1].PublishedAt)
	}
	for i, nv := range []*crated.NewVersion{old, now} {
		v := vs[i]
		if !bytes.Equal(v.Entry, nv.Version.Entry) || !bytes.Equal(v.Manifest, nv.Version.Manifest) ||
			v.Readme != nv.Version.Readme || v.Cksum != nv.Version.Cksum || v.Size != nv.Version.Size ||
			v.VersKey != nv.Version.VersKey || v.SortKey != nv.Version.SortKey || v.PublishedBy != alice.ID {
			t.Errorf("version %s = %+v, want the item's fields", v.Vers, v)
		}
	}
	b, err := s.CrateByName(t.Context(), "baz")
	if err != nil || b.MaxVersion != "0.1.0-rc.1+build.7" {
		t.Errorf("baz = %+v, %v; want MaxVersion 0.1.0-rc.1+build.7", b, err)
	}
	if n := countImportAudit(t, s); n != 3 {
		t.Errorf("%d import audit entries, want 3", n)
	}
	es, _ := s.Audit(t.Context(), 1)
	if len(es) != 1 || es[0].Action != "import" || es[0].Crate != "baz" || es[0].Version != "0.1.0-rc.1+build.7" || es[0].UserID != alice.ID {
		t.Errorf("last audit entry = %+v, want import of baz 0.1.0-rc.1+build.7 by alice", es)
	}
}

func testImportIdempotent(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	batch := func() []*crated.NewVersion {
		return []*crated.NewVersion{
			importItem("foo", "1.0.0", alice.ID, true),
			importItem("foo", "1.1.0", alice.ID, false),
			importItem("bar", "2.0.0", alice.ID, false),
		}
	}
	first := mustImport(t, s, batch())
	crates, versions, _ := s.CountCrates(t.Context())
	second := batch()
	// The flag of an identical version is the store's, not the batch's.
	second[0].Version.Yanked = false
	res := mustImport(t, s, second)
	wantStatuses(t, res, crated.Identical, crated.Identical, crated.Identical)
	for i := range res {
		if res[i].VersionID != first[i].VersionID {
			t.Errorf("identical version %d has id %d, first imported as %d", i, res[i].VersionID, first[i].VersionID)
		}
	}
	c2, v2, _ := s.CountCrates(t.Context())
	if c2 != crates || v2 != versions {
		t.Errorf("second import changed the counts: %d/%d -> %d/%d", crates, versions, c2, v2)
	}
	c, _ := s.CrateByName(t.Context(), "foo")
	vs, _ := s.Versions(t.Context(), c.ID)
	if !vs[0].Yanked {
		t.Errorf("an identical import unyanked foo 1.0.0")
	}
	if n := countImportAudit(t, s); n != 3 {
		t.Errorf("%d import audit entries after two imports, want 3", n)
	}
}

func testImportConflicts(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	mustImport(t, s, []*crated.NewVersion{importItem("foo-bar", "1.0.0", alice.ID, false)})

	otherSum := importItem("foo-bar", "1.0.0", alice.ID, false)
	otherSum.Version.Cksum = "00" + otherSum.Version.Cksum[2:]
	build := importItem("foo-bar", "1.0.0+linux", alice.ID, false)
	spelling := importItem("foo_bar", "2.0.0", alice.ID, false)
	fresh := importItem("foo-bar", "1.2.0", alice.ID, false)
	// Two items with one key in a batch: the second meets the first.
	dupA := importItem("dup", "0.1.0", alice.ID, false)
	dupB := importItem("dup", "0.1.0+other", alice.ID, false)
	dupC := importItem("dup", "0.1.0", alice.ID, false)
	res := mustImport(t, s, []*crated.NewVersion{otherSum, build, spelling, fresh, dupA, dupB, dupC})
	wantStatuses(t, res, crated.Conflict, crated.Conflict, crated.Conflict, crated.Imported,
		crated.Imported, crated.Conflict, crated.Identical)
	for _, i := range []int{0, 1, 2, 5} {
		if res[i].Reason == "" {
			t.Errorf("conflict %d has no reason", i)
		}
	}
	if res[6].VersionID != res[4].VersionID {
		t.Errorf("the batch's duplicate got id %d, the first %d", res[6].VersionID, res[4].VersionID)
	}
	c, _ := s.CrateByName(t.Context(), "foo_bar")
	vs, _ := s.Versions(t.Context(), c.ID)
	if len(vs) != 2 || vs[0].Cksum == otherSum.Version.Cksum || vs[1].Vers != "1.2.0" {
		t.Errorf("versions after conflicts = %+v, want the first 1.0.0 and 1.2.0", vs)
	}
	if c.Name != "foo-bar" || c.MaxVersion != "1.2.0" {
		t.Errorf("crate = %q max %q, want foo-bar 1.2.0", c.Name, c.MaxVersion)
	}
}

func testImportExistingCrate(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	_, c := publishNew(t, s, "foo", "1.0.0", alice.ID)
	item := importItem("foo", "0.9.0", bob.ID, false)
	item.Crate.Description = "imported description"
	newer := importItem("foo", "2.0.0", bob.ID, false)
	res := mustImport(t, s, []*crated.NewVersion{item, newer})
	wantStatuses(t, res, crated.Imported, crated.Imported)
	got, _ := s.CrateByName(t.Context(), "foo")
	if got.Description != c.Description {
		t.Errorf("description = %q, want the existing %q", got.Description, c.Description)
	}
	if got.MaxVersion != "2.0.0" {
		t.Errorf("MaxVersion = %q, want 2.0.0", got.MaxVersion)
	}
	if owners := mustOwners(t, s, c.ID); !slices.Equal(owners, []string{"alice"}) {
		t.Errorf("owners = %v, want [alice]: an existing crate keeps its owners", owners)
	}
}

func testImportUnknownUser(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	good := importItem("good", "1.0.0", alice.ID, false)
	noOwner := importItem("orphan", "1.0.0", alice.ID, false)
	noOwner.OwnerID = alice.ID + 1000
	_, err := s.ImportVersions(t.Context(), []*crated.NewVersion{good, noOwner})
	if !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("unknown owner: err = %v, want ENOTFOUND", err)
	}
	noPublisher := importItem("orphan", "1.0.0", alice.ID+1000, false)
	noPublisher.OwnerID = alice.ID
	_, err = s.ImportVersions(t.Context(), []*crated.NewVersion{good, noPublisher})
	if !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("unknown publisher: err = %v, want ENOTFOUND", err)
	}
	if crates, versions, _ := s.CountCrates(t.Context()); crates != 0 || versions != 0 {
		t.Errorf("a failed batch left %d crates, %d versions", crates, versions)
	}
	if n := countImportAudit(t, s); n != 0 {
		t.Errorf("a failed batch left %d audit entries", n)
	}
}

func testImportAllYanked(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	mustImport(t, s, []*crated.NewVersion{
		importItem("gone", "1.0.0", alice.ID, true),
		importItem("gone", "1.1.0", alice.ID, true),
		importItem("half", "1.0.0", alice.ID, false),
		importItem("half", "1.1.0", alice.ID, true),
	})
	for name, want := range map[string]string{"gone": "1.1.0", "half": "1.0.0"} {
		c, err := s.CrateByName(t.Context(), name)
		if err != nil || c.MaxVersion != want {
			t.Errorf("%s: MaxVersion = %+v, %v; want %s", name, c, err, want)
		}
	}
}

func testImportRacingPublish(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	const n = 6
	errs := Race(n, func(i int) error {
		if i%2 == 0 {
			_, err := s.PublishVersion(t.Context(), newVersion(0, "race", "1.0.0", alice.ID))
			return err
		}
		res, err := s.ImportVersions(t.Context(), []*crated.NewVersion{importItem("race", "1.0.0", alice.ID, false)})
		if err == nil && res[0].Status == crated.Conflict {
			err = fmt.Errorf("import of the identical version: conflict %q", res[0].Reason)
		}
		return err
	})
	for i, err := range errs {
		if i%2 == 1 && err != nil {
			t.Errorf("import %d: %v", i, err)
		}
		if i%2 == 0 && err != nil && !crated.IsCode(err, crated.ECONFLICT) {
			t.Errorf("publish %d: %v, want success or ECONFLICT", i, err)
		}
	}
	c, err := s.CrateByName(t.Context(), "race")
	if err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.Versions(t.Context(), c.ID); len(vs) != 1 {
		t.Errorf("%d versions of race, want 1", len(vs))
	}
}
