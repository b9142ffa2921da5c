// Package synth makes realistic, deterministic crates for crated's
// benchmarks: names spread over the index's directories, versions, index
// lines of the size crates.io serves, cargo's publish metadata and frame, and
// real .crate files (gzip tar with a normalized Cargo.toml, source code and a
// README) that the server accepts.
//
// Everything is derived from the crate name and version alone, so the seeder
// and the load generator, run separately, agree on what a crate looks like.
// Nothing here is random between runs.
package synth

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// CratesIOIndex is the registry URL of a dependency on crates.io, as cargo
// sends it when publishing to another registry.
const CratesIOIndex = "https://github.com/rust-lang/crates.io-index"

// Sizes of the source file before compression. Generated code compresses
// about 5 times, so Large gives a .crate of about 20 KB, the size of a
// typical real crate, and Small one of about 2 KB for seeding millions.
const (
	Small = 2 << 10
	Large = 110 << 10
)

var words = strings.Fields(`
	async buffer cache codec config core crypto data derive engine error event
	fast file format graph hash http index io json lazy log macro map mem
	net num parse pool proto queue rand regex rpc runtime schema serde shared
	sim sql stream sync task text time tls token trace tree util uuid value
	vec wire worker xml yaml zip agent audit batch billing cloud edge fleet
	gateway identity infra ledger metrics orders payments policy search store
	telemetry tenant`)

// Name returns the name of the i-th benchmark crate: a made-up word, a
// common one and the number, like "tavemi-ledger-1234", so that names are
// unique and spread over the index's two-level directories as real names do.
func Name(i int) string {
	h := mix(uint64(i))
	const consonants, vowels = "bdfgklmnprstvz", "aeiou"
	var b strings.Builder
	for k := 2 + h%2; k > 0; k-- {
		h /= 2
		b.WriteByte(consonants[h%uint64(len(consonants))])
		h /= uint64(len(consonants))
		b.WriteByte(vowels[h%uint64(len(vowels))])
		h /= uint64(len(vowels))
	}
	return fmt.Sprintf("%s-%s-%d", b.String(), words[h%uint64(len(words))], i)
}

// Version returns the j-th version of a crate, in increasing semver order:
// 0.1.0, 0.1.1, 0.1.2, 0.1.3, 0.2.0, ... 0.4.3, 1.1.0, ...
func Version(j int) string {
	return fmt.Sprintf("%d.%d.%d", j/16, 1+(j/4)%4, j%4)
}

// IndexPath returns the path of a crate's sparse-index file below /index/.
func IndexPath(name string) string {
	n := strings.ToLower(name)
	switch len(n) {
	case 1:
		return "1/" + n
	case 2:
		return "2/" + n
	case 3:
		return "3/" + n[:1] + "/" + n
	}
	return n[:2] + "/" + n[2:4] + "/" + n
}

// Dep is one dependency of a generated crate.
type Dep struct {
	Name     string
	Req      string
	Features []string
	Optional bool
	Kind     string // normal, dev or build
	// Registry is the index URL of another registry, "" for this one.
	Registry string
}

// Crate is one generated crate version.
type Crate struct {
	Name, Vers  string
	Description string
	License     string
	Repository  string
	RustVersion string
	Keywords    []string
	Categories  []string
	Deps        []Dep
	Features    map[string][]string
	Readme      string
	// CodeBytes is the size of src/lib.rs.
	CodeBytes int
}

var cratesIODeps = []Dep{
	{Name: "serde", Req: "^1.0", Features: []string{"derive"}},
	{Name: "serde_json", Req: "^1.0"},
	{Name: "tokio", Req: "^1.38", Features: []string{"rt-multi-thread", "macros", "net"}},
	{Name: "thiserror", Req: "^1.0"},
	{Name: "anyhow", Req: "^1.0"},
	{Name: "tracing", Req: "^0.1"},
	{Name: "bytes", Req: "^1.6"},
	{Name: "futures", Req: "^0.3", Optional: true},
	{Name: "regex", Req: "^1.10"},
	{Name: "uuid", Req: "^1.8", Features: []string{"v4", "serde"}},
	{Name: "chrono", Req: "^0.4", Features: []string{"serde"}, Optional: true},
	{Name: "reqwest", Req: "^0.12", Features: []string{"json", "rustls-tls"}, Optional: true},
	{Name: "proptest", Req: "^1.4", Kind: "dev"},
	{Name: "criterion", Req: "^0.5", Kind: "dev"},
	{Name: "cc", Req: "^1.0", Kind: "build"},
}

var categories = []string{"development-tools", "network-programming", "encoding", "data-structures", "asynchronous", "web-programming"}

// New returns the crate name at vers with a source file of about codeBytes.
// internal, when not empty, is a crate of the same registry to depend on, as
// private crates depend on each other.
func New(name, vers string, codeBytes int, internal string) *Crate {
	r := rng(name, vers)
	c := &Crate{
		Name:        name,
		Vers:        vers,
		Description: fmt.Sprintf("%s: %s and %s helpers for the %s service, used across the platform team's projects.", name, pick(r), pick(r), pick(r)),
		License:     "MIT OR Apache-2.0",
		Repository:  "https://git.example.com/platform/" + name,
		RustVersion: "1.74",
		Keywords:    []string{pick(r), pick(r), pick(r)},
		Categories:  []string{categories[r.IntN(len(categories))]},
		CodeBytes:   codeBytes,
	}
	// Three to six crates.io dependencies, in cargo's order.
	perm := r.Perm(len(cratesIODeps))
	for _, i := range perm[:3+r.IntN(4)] {
		d := cratesIODeps[i]
		d.Registry = CratesIOIndex
		if d.Kind == "" {
			d.Kind = "normal"
		}
		c.Deps = append(c.Deps, d)
	}
	if internal != "" {
		c.Deps = append(c.Deps, Dep{Name: internal, Req: "^0.1", Kind: "normal"})
	}
	sort.Slice(c.Deps, func(i, j int) bool {
		if c.Deps[i].Name != c.Deps[j].Name {
			return c.Deps[i].Name < c.Deps[j].Name
		}
		return c.Deps[i].Kind < c.Deps[j].Kind
	})
	c.Features = map[string][]string{"default": {"std"}, "std": {}}
	for _, d := range c.Deps {
		if d.Optional {
			c.Features[d.Name] = []string{"dep:" + d.Name}
		}
	}
	c.Readme = readme(c, r)
	return c
}

// IndexLine returns the crate's sparse-index line (no newline) in
// crates.io's key order, as the server would render it for cksum.
func (c *Crate) IndexLine(cksum string, pubtime time.Time) []byte {
	type dep struct {
		Name            string   `json:"name"`
		Req             string   `json:"req"`
		Features        []string `json:"features"`
		Optional        bool     `json:"optional"`
		DefaultFeatures bool     `json:"default_features"`
		Target          *string  `json:"target"`
		Kind            string   `json:"kind"`
		Registry        *string  `json:"registry"`
	}
	deps := make([]dep, len(c.Deps))
	for i, d := range c.Deps {
		deps[i] = dep{Name: d.Name, Req: d.Req, Features: nonNil(d.Features), Optional: d.Optional, DefaultFeatures: true, Kind: d.Kind}
		if d.Registry != "" {
			deps[i].Registry = &d.Registry
		}
	}
	b, err := json.Marshal(struct {
		Name        string              `json:"name"`
		Vers        string              `json:"vers"`
		Deps        []dep               `json:"deps"`
		Cksum       string              `json:"cksum"`
		Features    map[string][]string `json:"features"`
		Yanked      bool                `json:"yanked"`
		RustVersion string              `json:"rust_version"`
		Pubtime     string              `json:"pubtime"`
	}{c.Name, c.Vers, deps, cksum, c.Features, false, c.RustVersion, pubtime.UTC().Format("2006-01-02T15:04:05Z")})
	if err != nil {
		panic(err) // only plain types: cannot fail
	}
	return b
}

// Metadata returns the JSON cargo sends before the .crate when publishing
// (PROTOCOL.md 4.2), with every key present.
func (c *Crate) Metadata() []byte {
	type dep struct {
		Optional        bool     `json:"optional"`
		DefaultFeatures bool     `json:"default_features"`
		Name            string   `json:"name"`
		Features        []string `json:"features"`
		VersionReq      string   `json:"version_req"`
		Target          *string  `json:"target"`
		Kind            string   `json:"kind"`
		Registry        string   `json:"registry,omitempty"`
	}
	deps := make([]dep, len(c.Deps))
	for i, d := range c.Deps {
		deps[i] = dep{Optional: d.Optional, DefaultFeatures: true, Name: d.Name, Features: nonNil(d.Features), VersionReq: d.Req, Kind: d.Kind, Registry: d.Registry}
	}
	readmeFile := "README.md"
	b, err := json.Marshal(map[string]any{
		"name":          c.Name,
		"vers":          c.Vers,
		"deps":          deps,
		"features":      c.Features,
		"authors":       []string{"Platform Team <platform@example.com>"},
		"description":   c.Description,
		"documentation": nil,
		"homepage":      nil,
		"readme":        c.Readme,
		"readme_file":   readmeFile,
		"keywords":      c.Keywords,
		"categories":    c.Categories,
		"license":       c.License,
		"license_file":  nil,
		"repository":    c.Repository,
		"badges":        map[string]any{},
		"links":         nil,
		"rust_version":  c.RustVersion,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// Tarball returns the .crate file: a gzip tar whose entries all lie under
// "{name}-{vers}/", as `cargo package` makes it.
func (c *Crate) Tarball() []byte {
	prefix := c.Name + "-" + c.Vers + "/"
	r := rng(c.Name, c.Vers+"/src")
	files := []struct {
		name string
		body []byte
	}{
		{".cargo_vcs_info.json", []byte(`{"git":{"sha1":"` + fmt.Sprintf("%016x%016x%08x", r.Uint64(), r.Uint64(), r.Uint32()) + `"},"path_in_vcs":""}` + "\n")},
		{"Cargo.toml", []byte(c.manifest(true))},
		{"Cargo.toml.orig", []byte(c.manifest(false))},
		{"README.md", []byte(c.Readme)},
		{"src/lib.rs", code(c, r)},
	}
	var buf bytes.Buffer
	zw := gzipPool.Get().(*gzip.Writer)
	defer gzipPool.Put(zw)
	zw.Reset(&buf)
	tw := tar.NewWriter(zw)
	mtime := time.Date(2006, 7, 24, 1, 21, 28, 0, time.UTC) // cargo's fixed mtime
	for _, f := range files {
		hdr := &tar.Header{Name: prefix + f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatGNU}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err) // writing to memory: cannot fail
		}
		tw.Write(f.body)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// gzipPool keeps compressors: a new one allocates most of a megabyte, more
// than the whole work of compressing a small crate.
var gzipPool = sync.Pool{New: func() any {
	// cargo compresses at the best level; the default one makes files a few
	// percent larger in a third of the time, which matters when seeding.
	zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return zw
}}

// Frame returns the body of `PUT /api/v1/crates/new`: u32 LE length and the
// metadata JSON, u32 LE length and the .crate.
func Frame(metadata, tarball []byte) []byte {
	b := make([]byte, 0, 8+len(metadata)+len(tarball))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(metadata)))
	b = append(b, metadata...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tarball)))
	return append(b, tarball...)
}

// manifest renders Cargo.toml; normalized is the form `cargo package` writes
// into the archive, with dependencies as tables.
func (c *Crate) manifest(normalized bool) string {
	var b strings.Builder
	if normalized {
		b.WriteString("# THIS FILE IS AUTOMATICALLY GENERATED BY CARGO\n#\n# When uploading crates to the registry Cargo will automatically\n# \"normalize\" Cargo.toml files for maximal compatibility.\n\n")
	}
	fmt.Fprintf(&b, "[package]\nedition = \"2021\"\nrust-version = %q\nname = %q\nversion = %q\n", c.RustVersion, c.Name, c.Vers)
	fmt.Fprintf(&b, "authors = [\"Platform Team <platform@example.com>\"]\ndescription = %q\nreadme = \"README.md\"\n", c.Description)
	fmt.Fprintf(&b, "keywords = [%s]\ncategories = [%s]\nlicense = %q\nrepository = %q\n", quoteList(c.Keywords), quoteList(c.Categories), c.License, c.Repository)
	if normalized {
		fmt.Fprintf(&b, "\n[lib]\nname = %q\npath = \"src/lib.rs\"\n", strings.ReplaceAll(c.Name, "-", "_"))
	}
	sections := map[string]string{"normal": "dependencies", "dev": "dev-dependencies", "build": "build-dependencies"}
	for _, kind := range []string{"normal", "dev", "build"} {
		for _, d := range c.Deps {
			if d.Kind != kind {
				continue
			}
			fmt.Fprintf(&b, "\n[%s.%s]\nversion = %q\n", sections[kind], d.Name, d.Req)
			if len(d.Features) > 0 {
				fmt.Fprintf(&b, "features = [%s]\n", quoteList(d.Features))
			}
			if d.Optional {
				b.WriteString("optional = true\n")
			}
			if d.Registry == "" {
				b.WriteString("registry = \"internal\"\n")
			}
		}
	}
	b.WriteString("\n[features]\n")
	keys := make([]string, 0, len(c.Features))
	for k := range c.Features {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = [%s]\n", k, quoteList(c.Features[k]))
	}
	return b.String()
}

// code writes Rust source of about c.CodeBytes: documented functions with
// varied identifiers and constants, which compress like real code.
func code(c *Crate, r *rand.Rand) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "//! %s\n//!\n//! %s\n\n#![forbid(unsafe_code)]\n\nuse std::collections::HashMap;\n\n", c.Name, c.Description)
	types := []string{"u64", "u32", "usize", "i64"}
	first := ""
	for n := 0; n == 0 || b.Len() < c.CodeBytes; n++ {
		w1, w2, w3 := pick(r), pick(r), pick(r)
		t := types[r.IntN(len(types))]
		fmt.Fprintf(&b, "/// Computes the %s %s of `input` for the %s stage.\n///\n/// %s.\n", w1, w2, w3, sentence(r))
		fn := fmt.Sprintf("%s_%s_%d", w1, w2, n)
		if first == "" {
			first = fn
		}
		fmt.Fprintf(&b, "pub fn %s(input: &[u8], seed: %s) -> %s {\n", fn, t, t)
		fmt.Fprintf(&b, "    let mut acc: %s = seed ^ 0x%x;\n", t, r.Uint32())
		fmt.Fprintf(&b, "    for (i, b) in input.iter().enumerate() {\n")
		for k := 1 + r.IntN(4); k > 0; k-- {
			switch r.IntN(3) {
			case 0:
				fmt.Fprintf(&b, "        acc = acc.wrapping_mul(%d).wrapping_add((*b as %s) ^ %d);\n", 3+r.IntN(250), t, r.IntN(1<<16))
			case 1:
				fmt.Fprintf(&b, "        // %s\n        acc ^= (acc >> %d).wrapping_add(0x%x);\n", sentence(r), 1+r.IntN(31), r.Uint32())
			default:
				v := pick(r) + "_" + pick(r)
				fmt.Fprintf(&b, "        let %s = (*b as %s).wrapping_sub(%d);\n        acc = acc.wrapping_add(%s << %d);\n", v, t, r.IntN(1<<12), v, r.IntN(8))
			}
		}
		fmt.Fprintf(&b, "        if i %% %d == 0 {\n            acc = acc.rotate_left(%d);\n        }\n    }\n    acc\n}\n\n", 2+r.IntN(30), 1+r.IntN(31))
		if n%5 == 0 {
			fmt.Fprintf(&b, "/// A %s %s table.\npub struct %s%s%d {\n    entries: HashMap<String, %s>,\n    limit: usize,\n}\n\n", w3, w1, title(w3), title(w1), n, t)
			fmt.Fprintf(&b, "impl %s%s%d {\n    /// Makes an empty table holding at most `limit` entries.\n    pub fn new(limit: usize) -> Self {\n        Self { entries: HashMap::with_capacity(%d), limit }\n    }\n}\n\n", title(w3), title(w1), n, 8+r.IntN(120))
		}
	}
	fmt.Fprintf(&b, "#[cfg(test)]\nmod tests {\n    #[test]\n    fn folds() {\n        assert_eq!(super::%s(&[], 0), 0x%x);\n    }\n}\n", first, r.Uint32())
	return b.Bytes()
}

func readme(c *Crate, r *rand.Rand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\n## Usage\n\n```toml\n[dependencies]\n%s = { version = \"%s\", registry = \"internal\" }\n```\n\n", c.Name, c.Description, c.Name, c.Vers)
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "- `%s_%s` handles the %s %s path and keeps %s %s state between calls.\n", pick(r), pick(r), pick(r), pick(r), pick(r), pick(r))
	}
	b.WriteString("\n## License\n\nLicensed under either of Apache License, Version 2.0 or MIT license at your option.\n")
	return b.String()
}

func rng(name, vers string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(vers))
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, mix(s)))
}

// mix is splitmix64's finalizer: a cheap bijective scramble.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// sentence is a comment of eight to sixteen words.
func sentence(r *rand.Rand) string {
	n := 8 + r.IntN(9)
	w := make([]string, n)
	for i := range w {
		w[i] = pick(r)
	}
	w[0] = title(w[0])
	return strings.Join(w, " ")
}

func pick(r *rand.Rand) string { return words[r.IntN(len(words))] }

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
