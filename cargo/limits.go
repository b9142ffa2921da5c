package cargo

import "slices"

// Limits bound everything parsed from one publish. crates.io applies its
// limits to new crates and grants exceptions (PROTOCOL.md section 5):
// winapi 0.3.9 has 399 features, web-sys 0.3.60 1,503, icondata 23,000;
// older crates have 6 or 11 keywords, or keywords with spaces. A private registry
// must take every crate crates.io took, so the defaults here are that
// generous, each an operator may lower (server_config keys, see
// docs/configuration.md), and they bound the work and memory of one
// publish:
//
//   - MaxMetadata 1 MiB: the JSON metadata, README and features included;
//     crates.io's limit, which every crate it took therefore fits in
//     (web-sys's, with 1,503 features, is 50 KB).
//   - MaxCrate 10 MiB: the compressed .crate file, crates.io's default upload
//     limit ("max upload size is: N").
//   - MaxUnpacked 512 MiB: the decompressed tar stream. crates.io allows
//     max(512 MiB, upload limit) and cargo refuses to unpack more than
//     max(512 MiB, 20 x compressed) when it downloads the crate.
//   - MaxEntries 100000: tar entries (files and directories), and separately
//     the distinct directories. Neither cargo nor crates.io sets a limit;
//     the largest crates ship a few thousand files.
//   - MaxPath 4096: bytes in one entry's path, PATH_MAX on Linux: a longer
//     path cannot be unpacked by cargo anywhere.
//   - MaxManifest 4 MiB: the Cargo.toml inside the tarball, the one entry
//     read into memory and parsed. Normalized manifests are a few KiB;
//     web-sys's, with 1,503 features, is 53 KiB; one with icondata's
//     23,000 features would be about 1.5 MiB. The TOML parser is slow on
//     hostile input within the shape limits of parseManifest
//     (BenchmarkParseManifestHostile): about 0.1-0.4 MB/s against 1-3 MB/s
//     for a plain manifest, so a hostile 4 MiB manifest costs tens of
//     seconds of CPU. A registry that does not need such crates can set
//     256 KiB (about a second).
//   - MaxDependencies 5000 (crates.io 500), MaxFeatures 30000 (crates.io
//     300), MaxFeatureValues 30000 (crates.io 300 per feature).
//   - MaxVersionLength 150: crates.io's cap on the version string.
//   - MaxDescription 65536 characters (crates.io 1000), MaxKeywords 100
//     (crates.io 5), MaxKeywordLength 100 (crates.io 20), MaxCategories 100
//     (crates.io 5): limits crates.io added after crates exceeded them.
//   - ReservedNames: the crate names refused at publish, compared
//     canonically (CanonicalName). nil means DefaultReservedNames; an empty
//     non-nil list reserves nothing.
//
// A zero field means "use the default" (WithDefaults), so that a Limits
// literal that sets only some fields gets the defaults for the others.
type Limits struct {
	MaxMetadata int64
	MaxCrate    int64
	MaxUnpacked int64
	MaxEntries  int
	MaxPath     int

	MaxManifest      int64
	MaxDependencies  int
	MaxFeatures      int
	MaxFeatureValues int

	MaxVersionLength int
	MaxDescription   int
	MaxKeywords      int
	MaxKeywordLength int
	MaxCategories    int

	ReservedNames []string
}

// Default limits; see Limits.
const (
	DefaultMaxMetadata      = 1 << 20
	DefaultMaxCrate         = 10 << 20
	DefaultMaxUnpacked      = 512 << 20
	DefaultMaxEntries       = 100000
	DefaultMaxPath          = 4096
	DefaultMaxManifest      = 4 << 20
	DefaultMaxDependencies  = 5000
	DefaultMaxFeatures      = 30000
	DefaultMaxFeatureValues = 30000
	DefaultMaxVersionLength = 150
	DefaultMaxDescription   = 65536
	DefaultMaxKeywords      = 100
	DefaultMaxKeywordLength = 100
	DefaultMaxCategories    = 100

	// MaxNameLength is the longest crate or dependency name: crates.io's
	// rule since its first day, so no published crate exceeds it.
	MaxNameLength = 64
)

// DefaultReservedNames are the Windows device names: a crate named so
// cannot be unpacked on Windows (cargo unpacks it into a directory of that
// name), which is why crates.io reserves them too. The toolchain names
// crates.io also reserves (std, core, alloc, compiler_builtins...) are
// published crates or names cargo handles, so they are not reserved here.
var DefaultReservedNames = []string{
	"con", "prn", "aux", "nul",
	"com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
	"lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
}

// DefaultLimits returns the limits described on Limits.
func DefaultLimits() Limits { return Limits{}.WithDefaults() }

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	def := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	def64 := func(p *int64, d int64) {
		if *p <= 0 {
			*p = d
		}
	}
	def64(&l.MaxMetadata, DefaultMaxMetadata)
	def64(&l.MaxCrate, DefaultMaxCrate)
	def64(&l.MaxUnpacked, DefaultMaxUnpacked)
	def(&l.MaxEntries, DefaultMaxEntries)
	def(&l.MaxPath, DefaultMaxPath)
	def64(&l.MaxManifest, DefaultMaxManifest)
	def(&l.MaxDependencies, DefaultMaxDependencies)
	def(&l.MaxFeatures, DefaultMaxFeatures)
	def(&l.MaxFeatureValues, DefaultMaxFeatureValues)
	def(&l.MaxVersionLength, DefaultMaxVersionLength)
	def(&l.MaxDescription, DefaultMaxDescription)
	def(&l.MaxKeywords, DefaultMaxKeywords)
	def(&l.MaxKeywordLength, DefaultMaxKeywordLength)
	def(&l.MaxCategories, DefaultMaxCategories)
	if l.ReservedNames == nil {
		l.ReservedNames = DefaultReservedNames
	}
	return l
}

// IsReserved reports whether name is one of l's reserved names, compared
// canonically.
func (l Limits) IsReserved(name string) bool {
	reserved := l.ReservedNames
	if reserved == nil {
		reserved = DefaultReservedNames
	}
	canon := CanonicalName(name)
	return slices.ContainsFunc(reserved, func(r string) bool { return CanonicalName(r) == canon })
}
