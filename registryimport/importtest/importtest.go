// Package importtest writes source registries for the tests of
// registryimport and `crated import`: an index tree and the .crate files in
// each layout the import reads.
package importtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/crated/crated/cargo"
)

// Layout is how a source registry keeps its .crate files.
type Layout string

const (
	// Flat is cargo-local-registry's, panamax's and Kellnr's
	// {name}-{version}.crate (here in one directory).
	Flat Layout = "flat"
	// Ktra is {name}/{version}/download under dl_dir_path.
	Ktra Layout = "ktra"
	// Static is crates.io's {name}/{name}-{version}.crate.
	Static Layout = "static"
)

// Layouts lists every layout.
var Layouts = []Layout{Flat, Ktra, Static}

// Version is one version of the source registry.
type Version struct {
	Name, Vers string
	// Line is the index line as the source has it.
	Line []byte
	// Crate is the .crate file; its sha256 is the line's cksum.
	Crate []byte
}

// Crate returns a .crate file cargo can build: a library with one function.
func Crate(name, vers string) []byte {
	prefix := name + "-" + vers + "/"
	files := []struct{ name, body string }{
		{prefix + "Cargo.toml", fmt.Sprintf("[package]\nname = %q\nversion = %q\nedition = \"2021\"\n\n[lib]\npath = \"src/lib.rs\"\n", name, vers)},
		{prefix + "src/lib.rs", "pub fn answer() -> u32 { 42 }\n"},
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// Cksum is the index cksum of a .crate file.
func Cksum(crate []byte) string {
	sum := sha256.Sum256(crate)
	return hex.EncodeToString(sum[:])
}

func ptr(s string) *string { return &s }

// Fixture is a small registry that exercises every field of an index line,
// names and versions with '-' and '+', upper case, yanked versions and the
// four kinds of index paths. All lines but one are in crates.io's key order;
// my-lib-2's keys are in another order, and keep it.
func Fixture() []Version {
	var vs []Version
	add := func(e *cargo.IndexEntry) {
		c := Crate(e.Name, e.Vers)
		e.Cksum = Cksum(c)
		if e.Deps == nil {
			e.Deps = []cargo.IndexDep{}
		}
		if e.Features == nil {
			e.Features = map[string][]string{}
		}
		vs = append(vs, Version{Name: e.Name, Vers: e.Vers, Line: e.Line(), Crate: c})
	}
	add(&cargo.IndexEntry{Name: "foo-bar", Vers: "1.0.0", Yanked: true, Links: ptr("foo"),
		Pubtime: "2021-03-04T05:06:07Z"})
	add(&cargo.IndexEntry{Name: "foo-bar", Vers: "1.1.0-rc.1+build.5",
		Deps: []cargo.IndexDep{{Name: "baz", Req: "^0.1", Features: []string{}, Optional: true,
			DefaultFeatures: true, Kind: "normal"}},
		Features:    map[string][]string{"default": {}, "fast": {}},
		Features2:   map[string][]string{"with-baz": {"dep:baz"}},
		RustVersion: ptr("1.60"), Pubtime: "2022-01-02T03:04:05Z", V: 2})
	add(&cargo.IndexEntry{Name: "baz", Vers: "0.1.0"})
	add(&cargo.IndexEntry{Name: "abc", Vers: "1.0.0",
		Deps: []cargo.IndexDep{{Name: "serde1", Req: "^1.0.100", Features: []string{"derive"},
			DefaultFeatures: false, Target: ptr("cfg(unix)"), Kind: "dev",
			Registry: ptr(cargo.CratesIOIndexURL), Package: ptr("serde")}}})
	add(&cargo.IndexEntry{Name: "a", Vers: "0.0.1"})
	add(&cargo.IndexEntry{Name: "ab", Vers: "1.0.0"})
	add(&cargo.IndexEntry{Name: "Serde_Like", Vers: "1.0.0"})
	add(&cargo.IndexEntry{Name: "Serde_Like", Vers: "1.0.1", Yanked: true})
	c := Crate("my-lib-2", "2.0.0-alpha-1")
	vs = append(vs, Version{Name: "my-lib-2", Vers: "2.0.0-alpha-1", Crate: c,
		Line: []byte(`{"vers":"2.0.0-alpha-1","name":"my-lib-2","cksum":"` + Cksum(c) + `","deps":[],"features":{},"yanked":false}`)})
	return vs
}

// IndexFiles returns the content of each index file of vs, by path.
func IndexFiles(vs []Version) map[string][]byte {
	files := map[string][]byte{}
	for _, v := range vs {
		p := cargo.IndexPath(v.Name)
		files[p] = append(append(files[p], v.Line...), '\n')
	}
	return files
}

// CratePath is where layout keeps the .crate of name@vers, relative to the
// crates directory.
func CratePath(layout Layout, name, vers string) string {
	switch layout {
	case Ktra:
		return filepath.Join(name, vers, "download")
	case Static:
		return filepath.Join(name, name+"-"+vers+".crate")
	}
	return name + "-" + vers + ".crate"
}

// Write writes vs as a source registry under root, with a config.json and
// a .git directory in the index as a git checkout has, and returns the
// index and crates directories.
func Write(t testing.TB, root string, vs []Version, layout Layout) (indexDir, cratesDir string) {
	t.Helper()
	indexDir, cratesDir = filepath.Join(root, "index"), filepath.Join(root, "crates")
	files := IndexFiles(vs)
	files["config.json"] = []byte(`{"dl":"https://old.example.com/dl","api":"https://old.example.com"}`)
	files[".git/HEAD"] = []byte("ref: refs/heads/main\n")
	files[".git/objects/ab/cdef"] = []byte("not an index file\n")
	for p, body := range files {
		mustWrite(t, filepath.Join(indexDir, p), body)
	}
	for _, v := range vs {
		mustWrite(t, filepath.Join(cratesDir, CratePath(layout, v.Name, v.Vers)), v.Crate)
	}
	return indexDir, cratesDir
}

func mustWrite(t testing.TB, path string, body []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
}
