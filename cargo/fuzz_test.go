package cargo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/crated/crated"
)

// The fuzz targets check invariants, not just the absence of panics. Their
// seed corpora live in testdata/fuzz/<Name>/ and run with every go test;
// go test -update rewrites them from the fixtures below.

// checkErr fails unless err is nil or an unwrapped *crated.Error with one of
// the codes: no input may produce an internal error.
func checkErr(t *testing.T, err error, codes ...string) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := err.(*crated.Error)
	if !ok {
		t.Fatalf("error %T %v is not a *crated.Error", err, err)
	}
	for _, c := range codes {
		if e.Code == c {
			return
		}
	}
	t.Fatalf("error code %s not in %v: %v", e.Code, codes, err)
}

var fuzzLimits = Limits{MaxMetadata: 4096, MaxCrate: 1 << 20, MaxUnpacked: 1 << 20, MaxEntries: 64, MaxPath: 300, MaxManifest: 64 << 10,
	MaxDependencies: 20, MaxFeatures: 20, MaxFeatureValues: 10, MaxVersionLength: 40, MaxKeywords: 3, MaxKeywordLength: 10, MaxCategories: 3}

func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		meta, crate, err := ReadFrame(bytes.NewReader(body), fuzzLimits)
		checkErr(t, err, crated.EINVALID, crated.ETOOLARGE)
		if err != nil {
			return
		}
		if int64(len(meta)) > fuzzLimits.MaxMetadata || int64(len(crate)) > fuzzLimits.MaxCrate {
			t.Fatalf("parts over the limits: %d, %d", len(meta), len(crate))
		}
		if !bytes.Equal(frame(meta, crate), body) {
			t.Fatalf("accepted frame does not reassemble into the body")
		}
		// A body whose bytes are taken without a copy splits the same.
		tmeta, tcrate, err := ReadFrame(&takeReader{bytes.NewBuffer(body)}, fuzzLimits)
		if err != nil || !bytes.Equal(tmeta, meta) || !bytes.Equal(tcrate, crate) {
			t.Fatalf("a taker body splits differently: %v", err)
		}
	})
}

func FuzzInspectCrate(f *testing.F) {
	// raw means data is an uncompressed tar to gzip first, so that mutations
	// explore tar structure rather than break the gzip checksum.
	f.Fuzz(func(t *testing.T, data []byte, raw bool, name, vers string) {
		crate := data
		if raw {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			zw.Write(data)
			zw.Close()
			crate = buf.Bytes()
		}
		pkg, err := InspectCrate(crate, name, vers, fuzzLimits)
		checkErr(t, err, crated.EINVALID, crated.ETOOLARGE)
		if err != nil {
			return
		}
		v, err := ParseVersion(vers)
		if err != nil || validateIdent("crate", name, false) != nil {
			t.Fatalf("accepted an invalid name or version %q %q", name, vers)
		}
		mv, err := ParseVersion(pkg.Manifest.Version)
		if err != nil || mv != v || pkg.Manifest.Name != name {
			t.Fatalf("accepted a manifest for %s %s", pkg.Manifest.Name, pkg.Manifest.Version)
		}
		if pkg.Files > fuzzLimits.MaxEntries || pkg.UnpackedSize > fuzzLimits.MaxUnpacked {
			t.Fatalf("accepted %d files of %d bytes", pkg.Files, pkg.UnpackedSize)
		}
		// Walk the accepted archive independently: every entry is a file or
		// directory under the root, without "..", and there is one manifest.
		zr, err := gzip.NewReader(bytes.NewReader(crate))
		if err != nil {
			t.Fatal(err)
		}
		root := name + "-" + v.String()
		tr := tar.NewReader(zr)
		manifests := 0
		// Folded path to the name as written: an accepted archive unpacks
		// the same everywhere (directory entries may repeat).
		seen := map[string]string{}
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("accepted archive fails to read: %v", err)
			}
			if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeDir {
				t.Fatalf("accepted entry %q of type %c", hdr.Name, hdr.Typeflag)
			}
			p := strings.TrimSuffix(hdr.Name, "/")
			if p != root && !strings.HasPrefix(p, root+"/") {
				t.Fatalf("accepted entry %q outside %s", hdr.Name, root)
			}
			if p == root && hdr.Typeflag != tar.TypeDir {
				t.Fatalf("accepted file %q as root", hdr.Name)
			}
			for _, c := range strings.Split(p, "/") {
				if c == ".." || c == "." || c == "" {
					t.Fatalf("accepted path %q", hdr.Name)
				}
			}
			if strings.EqualFold(strings.TrimPrefix(hdr.Name, root+"/"), "Cargo.toml") {
				manifests++
			}
			folded := strings.ToLower(p)
			if prev, ok := seen[folded]; ok && (prev != p || hdr.Typeflag != tar.TypeDir) {
				t.Fatalf("accepted %q after %q", hdr.Name, prev)
			}
			seen[folded] = p
			if len(hdr.Name) > fuzzLimits.MaxPath {
				t.Fatalf("accepted a path of %d bytes", len(hdr.Name))
			}
		}
		if manifests != 1 {
			t.Fatalf("accepted %d manifests", manifests)
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	own := []string{ownIndexURL}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(data)
		checkErr(t, err, crated.EINVALID)
		if err != nil {
			return
		}
		err = m.Validate(fuzzLimits)
		checkErr(t, err, crated.EINVALID)
		if err != nil {
			return
		}
		if ValidateName(m.Name) != nil || fuzzLimits.IsReserved(m.Name) {
			t.Fatalf("accepted name %q", m.Name)
		}
		if v, err := ParseVersion(m.Vers); err != nil || v.String() != m.Vers || len(m.Vers) > fuzzLimits.MaxVersionLength {
			t.Fatalf("accepted version %q", m.Vers)
		}
		for _, d := range m.Deps {
			r, err := ParseRequirement(d.VersionReq)
			if err != nil || len(r) == 0 {
				t.Fatalf("accepted requirement %q", d.VersionReq)
			}
		}
		if len(m.Deps) > fuzzLimits.MaxDependencies || len(m.Features) > fuzzLimits.MaxFeatures ||
			len(m.Keywords) > fuzzLimits.MaxKeywords || len(m.Categories) > fuzzLimits.MaxCategories {
			t.Fatalf("accepted over the limits")
		}
		if p, ok := NameFromIndexPath(IndexPath(m.Name)); !ok || p != strings.ToLower(m.Name) {
			t.Fatalf("index path of %q does not round-trip", m.Name)
		}

		// The index line is valid JSON and reads back to the entry.
		e := NewIndexEntry(m, strings.Repeat("0", 64), goldenPubtime, own)
		line := e.Line()
		if !json.Valid(line) || bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("invalid index line %s", line)
		}
		back, err := ParseIndexLine(line)
		if err != nil {
			t.Fatal(err)
		}
		if back.Name != m.Name || back.Vers != m.Vers || len(back.Deps) != len(m.Deps) || back.Yanked {
			t.Fatalf("index line reads back as %+v", back)
		}
		if (back.V == 2) != (back.Features2 != nil) {
			t.Fatalf("v %d with features2 %v", back.V, back.Features2)
		}
		merged := map[string][]string{}
		for k, v := range back.Features {
			merged[k] = v
		}
		for k, v := range back.Features2 {
			if _, dup := merged[k]; dup {
				t.Fatalf("feature %q in both maps", k)
			}
			merged[k] = v
		}
		if !sameFeatures(merged, m.Features) {
			t.Fatalf("features %v + %v differ from %v", back.Features, back.Features2, m.Features)
		}
		y, err := SetYanked(line, true)
		if err != nil {
			t.Fatal(err)
		}
		by, err := ParseIndexLine(y)
		if err != nil || !by.Yanked {
			t.Fatalf("SetYanked: %s %v", y, err)
		}
		by.Yanked = false
		if !reflect.DeepEqual(by, back) {
			t.Fatalf("SetYanked changed more than yanked")
		}
		if u, err := SetYanked(y, false); err != nil || !bytes.Equal(u, line) {
			t.Fatalf("unyank does not restore the line")
		}
	})
}

// sameFeatures compares feature maps treating nil and empty values alike.
func sameFeatures(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}

func FuzzParseVersion(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b string) {
		va, errA := ParseVersion(a)
		checkErr(t, errA, crated.EINVALID)
		vb, errB := ParseVersion(b)
		if errA != nil {
			return
		}
		// Strict grammar: exactly one spelling.
		if va.String() != a {
			t.Fatalf("ParseVersion(%q).String() = %q", a, va.String())
		}
		k, err := ParseVersion(va.Key())
		if err != nil || k.Build != "" || k.Compare(va) != 0 || !strings.HasPrefix(a, va.Key()) {
			t.Fatalf("Key %q of %q", va.Key(), a)
		}
		sk := va.SortKey()
		for i := 0; i < len(sk); i++ {
			if sk[i] < 0x21 || sk[i] > 0x7e {
				t.Fatalf("SortKey %q not printable", sk)
			}
		}
		if errB != nil {
			return
		}
		c := va.Compare(vb)
		if c != -vb.Compare(va) {
			t.Fatalf("Compare not antisymmetric for %q, %q", a, b)
		}
		if got := strings.Compare(sk, vb.SortKey()); got != c {
			t.Fatalf("%q vs %q: SortKey order %d, Compare %d", a, b, got, c)
		}
	})
}

func FuzzValidateRequirement(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		r, perr := ParseRequirement(s)
		verr := ValidateRequirement(s)
		checkErr(t, perr, crated.EINVALID)
		checkErr(t, verr, crated.EINVALID)
		if perr != nil {
			if verr == nil {
				t.Fatalf("ValidateRequirement accepts unparsable %q", s)
			}
			return
		}
		if (verr == nil) != (len(r) > 0) {
			t.Fatalf("ValidateRequirement(%q) = %v with %d comparators", s, verr, len(r))
		}
		if len(r) > maxComparators {
			t.Fatalf("%d comparators", len(r))
		}
		// The normal form parses to itself.
		n := r.String()
		r2, err := ParseRequirement(n)
		if err != nil || r2.String() != n || !reflect.DeepEqual(r, r2) {
			t.Fatalf("normal form %q of %q: %v", n, s, err)
		}
	})
}

// TestWriteFuzzSeeds rewrites the seed corpora with -update.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	meta, crate := realPublish(t)
	extra, err := os.ReadFile("testdata/extra-dep-0.1.0.crate")
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("testdata/publish-frame.bin")
	if err != nil {
		t.Fatal(err)
	}
	rawTar := func(gzipped []byte) []byte {
		zr, err := gzip.NewReader(bytes.NewReader(gzipped))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	seeds := map[string][][]any{
		"FuzzReadFrame": {
			{body},
			{frame([]byte(`{}`), []byte("x"))},
			{frame(nil, nil)},
			{body[:100]},
			{append(frame([]byte("{}"), nil), 0)},
		},
		"FuzzInspectCrate": {
			{crate, false, "tiny-crate", "0.1.0+build.5"},
			{rawTar(crate), true, "tiny-crate", "0.1.0+build.5"},
			{extra, false, "extra-dep", "0.1.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), file("foo-1.0.0/src/lib.rs", "")), true, "foo", "1.0.0"},
			{tarball(t, dir("foo-1.0.0/"), file("foo-1.0.0/cargo.toml", fooManifest)), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"[dependencies]\nbar = { version = \"1\", package = \"baz\", features = [\"x\"] }\n[target.'cfg(unix)'.build-dependencies]\nq = \"2\"\n")), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), file("foo-1.0.0/../x", "")), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), entry{name: "foo-1.0.0/l", typeflag: tar.TypeSymlink, link: "/"}), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), file("foo-1.0.0/CARGO.TOML", fooManifest)), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", "[package]\nname = \"foo\"\nversion.workspace = true\n")), true, "foo", "1.0.0"},
			{cat(rawPAX([][2]string{{"path", "foo-1.0.0/Cargo.toml"}}), rawEntry("x", '0', int64(len(fooManifest)), []byte(fooManifest)), rawEnd()), true, "foo", "1.0.0"},
			// Ambiguous archives: a file twice, a file that is also a
			// directory, names differing only in case, a 6 KB path.
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), file("foo-1.0.0/src/lib.rs", "a"), file("foo-1.0.0/src/lib.rs", "b")), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), file("foo-1.0.0/src", ""), file("foo-1.0.0/src/lib.rs", "")), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), dir("foo-1.0.0/x/"), file("foo-1.0.0/x", "")), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), file("foo-1.0.0/src/lib.rs", ""), file("foo-1.0.0/SRC/lib.rs", "")), true, "foo", "1.0.0"},
			{tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest), entry{name: longPath(6000), body: "x", format: tar.FormatPAX}), true, "foo", "1.0.0"},
			{tarball(t, dir("foo-1.0.0/"), dir("foo-1.0.0/src/"), file("foo-1.0.0/Cargo.toml", fooManifest), file("foo-1.0.0/src/lib.rs", ""), dir("foo-1.0.0/src/")), true, "foo", "1.0.0"},
		},
		"FuzzParseMetadata": {
			{meta},
			{[]byte(`{"name":"a","vers":"1.0.0","deps":[],"features":{}}`)},
			{[]byte(`{"name":"a","vers":"1.0.0-rc.1+b","deps":[{"name":"b","version_req":"1.*","features":["x/y"],"optional":true,"default_features":false,"target":"cfg(unix)","kind":"dev","registry":"https://x/index","explicit_name_in_toml":"_c"}],"features":{"f":["dep:_c","g"],"g":["_c?/z"],"h":[]},"keywords":["a+b"],"links":"z","rust_version":"1.2.3","homepage":"https://h"}`)},
		},
		"FuzzParseVersion": {
			{"1.2.3", "1.2.3-alpha"},
			{"1.0.0-alpha.1", "1.0.0-alpha.beta"},
			{"0.2.0+build.5", "0.2.0"},
			{"1.0.0-0.3.7", "1.0.0-x.7.z.92"},
			{"18446744073709551615.0.0", "1.0.0-99999999999999999999"},
			{"1.0", "v1.2.3"},
		},
		"FuzzValidateRequirement": {
			{"^1.2.3"}, {">=1.2, <1.5"}, {"1.*"}, {"1.2.x"}, {"*"}, {"=1.0.0-rc.1+b"},
			{"~0.3"}, {"1.*.*"}, {" <= 2 , > 1 "}, {"1 2"}, {"^"}, {strings.Repeat("1,", 33) + "1"},
		},
	}
	// The other real publishes.
	files, err := filepath.Glob("testdata/publish/*.bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		meta, crate, err := ReadFrame(bytes.NewReader(body), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMetadata(meta)
		if err != nil {
			t.Fatal(err)
		}
		seeds["FuzzReadFrame"] = append(seeds["FuzzReadFrame"], []any{body})
		seeds["FuzzParseMetadata"] = append(seeds["FuzzParseMetadata"], []any{meta})
		seeds["FuzzInspectCrate"] = append(seeds["FuzzInspectCrate"], []any{rawTar(crate), true, m.Name, m.Vers})
		seeds["FuzzParseVersion"] = append(seeds["FuzzParseVersion"], []any{m.Vers, "1.2.3"})
		for _, d := range m.Deps {
			seeds["FuzzValidateRequirement"] = append(seeds["FuzzValidateRequirement"], []any{d.VersionReq})
		}
	}
	for name, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, vals := range list {
			var b strings.Builder
			b.WriteString("go test fuzz v1\n")
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
				case string:
					fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
				case bool:
					fmt.Fprintf(&b, "bool(%v)\n", v)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
