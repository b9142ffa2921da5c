package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"
)

// Entry is one tar entry of a hand-made .crate.
type Entry struct {
	Name     string
	Body     string
	Type     byte // tar.TypeReg when zero
	Linkname string
}

// Tarball builds a gzipped tar from entries, for tests that need crates
// cargo would never produce.
func Tarball(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.Name, Typeflag: typ, Linkname: e.Linkname, Mode: 0o644, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CrateFiles returns the entries of a minimal valid crate.
func CrateFiles(name, vers string) []Entry {
	prefix := name + "-" + vers + "/"
	return []Entry{
		{Name: prefix + "Cargo.toml", Body: fmt.Sprintf("[package]\nname = %q\nversion = %q\nedition = \"2021\"\n", name, vers)},
		{Name: prefix + "src/lib.rs", Body: "pub fn f() {}\n"},
	}
}

// Metadata returns publish metadata as cargo sends it, for a crate without
// dependencies or features; edit may change fields before it is encoded.
func Metadata(name, vers string, edit ...func(map[string]any)) []byte {
	m := map[string]any{
		"name": name, "vers": vers, "deps": []any{}, "features": map[string]any{},
		"authors": []string{}, "description": "test crate", "documentation": nil, "homepage": nil,
		"readme": nil, "readme_file": nil, "keywords": []string{}, "categories": []string{},
		"license": "MIT", "license_file": nil, "repository": nil, "badges": map[string]any{},
		"links": nil, "rust_version": nil,
	}
	for _, e := range edit {
		e(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// Frame encodes cargo's publish body.
func Frame(meta, crate []byte) []byte {
	out := make([]byte, 0, 8+len(meta)+len(crate))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(meta)))
	out = append(out, meta...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(crate)))
	return append(out, crate...)
}
