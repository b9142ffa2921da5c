package cargo

// Limits bound everything parsed from one publish. The defaults are those of
// crates.io (PROTOCOL.md section 5), which every crate built by stock cargo
// already fits in:
//
//   - MaxMetadata 1 MiB: the JSON metadata, README included. crates.io
//     answers 413 "JSON metadata blob too large" above it.
//   - MaxCrate 10 MiB: the compressed .crate file, crates.io's default upload
//     limit ("max upload size is: N").
//   - MaxUnpacked 512 MiB: the decompressed tar stream. crates.io allows
//     max(512 MiB, upload limit) and cargo refuses to unpack more than
//     max(512 MiB, 20 x compressed) when it downloads the crate, so a larger
//     crate could not be used anyway.
//   - MaxEntries 10000: tar entries (files and directories). cargo sets no
//     limit of its own; 10000 is far above real crates (the largest crates
//     on crates.io ship a few thousand files) and bounds the work per publish.
//   - MaxManifest 256 KiB: the Cargo.toml inside the tarball, the one entry
//     that is read into memory and parsed. Normalized manifests are a few
//     KiB; the largest known (web-sys, windows, with thousands of features)
//     are under 100 KiB. On hostile input within the shape limits of
//     parseManifest the TOML parser is about 10 times slower than on a
//     plain manifest (up to a few microseconds per byte,
//     BenchmarkParseManifestHostile), so 1 MiB would let one publish cost
//     seconds of CPU.
//   - MaxDependencies 500, MaxFeatures 300, MaxFeatureValues 300: crates.io's
//     publish limits. A private registry may raise them for crates such as
//     windows-sys that have thousands of features.
//
// A zero field in the last four means "use the default", so that a Limits
// literal that sets only the sizes still gets the protocol limits.
type Limits struct {
	MaxMetadata int64
	MaxCrate    int64
	MaxUnpacked int64
	MaxEntries  int

	MaxManifest      int64
	MaxDependencies  int
	MaxFeatures      int
	MaxFeatureValues int
}

// Default limits; see Limits.
const (
	DefaultMaxMetadata      = 1 << 20
	DefaultMaxCrate         = 10 << 20
	DefaultMaxUnpacked      = 512 << 20
	DefaultMaxEntries       = 10000
	DefaultMaxManifest      = 256 << 10
	DefaultMaxDependencies  = 500
	DefaultMaxFeatures      = 300
	DefaultMaxFeatureValues = 300

	// MaxNameLength is the longest crate or dependency name (crates.io).
	MaxNameLength = 64
	// MaxVersionLength is the longest version string (crates.io).
	MaxVersionLength = 150
	// MaxDescriptionLength is the longest description, in characters.
	MaxDescriptionLength = 1000
	// MaxKeywords and MaxKeywordLength bound the keywords of a crate.
	MaxKeywords      = 5
	MaxKeywordLength = 20
	// MaxCategories bounds the categories of a crate.
	MaxCategories = 5
)

// DefaultLimits returns the crates.io limits described on Limits.
func DefaultLimits() Limits {
	return Limits{
		MaxMetadata:      DefaultMaxMetadata,
		MaxCrate:         DefaultMaxCrate,
		MaxUnpacked:      DefaultMaxUnpacked,
		MaxEntries:       DefaultMaxEntries,
		MaxManifest:      DefaultMaxManifest,
		MaxDependencies:  DefaultMaxDependencies,
		MaxFeatures:      DefaultMaxFeatures,
		MaxFeatureValues: DefaultMaxFeatureValues,
	}
}

func (l Limits) maxManifest() int64 {
	if l.MaxManifest > 0 {
		return l.MaxManifest
	}
	return DefaultMaxManifest
}

func (l Limits) maxDependencies() int {
	if l.MaxDependencies > 0 {
		return l.MaxDependencies
	}
	return DefaultMaxDependencies
}

func (l Limits) maxFeatures() int {
	if l.MaxFeatures > 0 {
		return l.MaxFeatures
	}
	return DefaultMaxFeatures
}

func (l Limits) maxFeatureValues() int {
	if l.MaxFeatureValues > 0 {
		return l.MaxFeatureValues
	}
	return DefaultMaxFeatureValues
}
