package cargo

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files and fuzz seed corpora under testdata/")

// goldenPubtime is the fixed publish time of golden entries (with
// nanoseconds and a zone, which the entry must drop).
var goldenPubtime = time.Date(2026, 11, 27, 14, 14, 3, 123456789, time.FixedZone("CET", 3600))

const ownIndexURL = "sparse+http://127.0.0.1:18777/index/"

// checkGolden compares got with testdata/golden/name, or rewrites it with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

// The index line of a real publish: renamed optional target-specific dep,
// build dep, dev deps, a foreign-registry dep, crates.io deps, "dep:" and
// "?/" features (so features2 and v:2).
func TestIndexEntryGoldenReal(t *testing.T) {
	m := realMetadata(t)
	_, crate := realPublish(t)
	e := NewIndexEntry(m, sha256Hex(crate), goldenPubtime, []string{ownIndexURL})
	line := e.Line()
	checkGolden(t, "tiny-crate-0.1.0+build.5.json", append(line, '\n'))

	if e.V != 2 || e.Features2 == nil || e.Pubtime != "2026-11-27T13:14:03Z" {
		t.Errorf("entry %+v", e)
	}
	// Deps sorted by name then kind (normal, build, dev).
	var order []string
	for _, d := range e.Deps {
		order = append(order, d.Name+"/"+d.Kind)
	}
	if got := strings.Join(order, " "); got != "extra-dep/normal extra-dep/build extra-dep/dev helper/dev renamed/normal" {
		t.Errorf("dependency order %s", got)
	}
	// Encoding/json reads the line back to the same entry.
	back, err := ParseIndexLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("ParseIndexLine(Line()) = %+v, want %+v", back, e)
	}
	if enc, _ := json.Marshal(e); !bytes.Equal(enc, line) {
		t.Errorf("json.Marshal differs from Line")
	}
}

// A synthetic crate for what the real one lacks: a dependency from this
// registry (registry URL equal to ours, in another spelling), a feature
// that only transitively enables a features2 feature, no features2 at all
// in the second entry, links, characters that need escaping.
func TestIndexEntryGoldenSynthetic(t *testing.T) {
	m := &NewCrate{
		Name: "Synth_crate",
		Vers: "2.0.0-rc.1",
		Deps: []NewCrateDep{
			{Name: "zeta", VersionReq: "^1", Kind: "dev", DefaultFeatures: true},
			{Name: "alpha", VersionReq: ">=1.2, <1.5", Kind: "", DefaultFeatures: true, Registry: ptr("HTTP://127.0.0.1:18777/index")},
			{Name: "zeta", VersionReq: "^1", Kind: "normal", Optional: true, DefaultFeatures: true, Features: []string{"b", "a"}},
			{Name: "beta", VersionReq: "~0.3", Kind: "build", DefaultFeatures: false, Registry: ptr("https://other.example/git-index")},
			{Name: "gamma", VersionReq: "=1.0.0", Kind: "normal", DefaultFeatures: true, Target: ptr(`cfg(target_os = "linux")`), Registry: ptr("")},
		},
		Features: map[string][]string{
			"default": {"std"},
			"std":     {"zeta/std"},
			"weak":    {"zeta?/extra"},
			"uses":    {"weak"},
			"chain":   {"uses"},
			"plain":   {},
		},
		Links:       ptr("synth"),
		RustVersion: ptr("1.80"),
	}
	e := NewIndexEntry(m, strings.Repeat("ab", 32), goldenPubtime, []string{"sparse+http://127.0.0.1:18777/index/", "http://other-name/index/"})
	checkGolden(t, "synth.json", append(e.Line(), '\n'))

	m.Features = map[string][]string{"default": {"x"}, "x": {}}
	m.Vers = "2.0.0"
	m.Name = "q\"uote\\<&>\u2028\x01"
	e = NewIndexEntry(m, strings.Repeat("cd", 32), time.Time{}, nil)
	checkGolden(t, "synth-v1.json", append(e.Line(), '\n'))
	if e.V != 0 || e.Features2 != nil || e.Pubtime != "" {
		t.Errorf("entry without new features: %+v", e)
	}
}

func TestSplitFeatures(t *testing.T) {
	type fm = map[string][]string
	for _, tc := range []struct {
		name   string
		in     fm
		f1, f2 fm
	}{
		{"none", fm{}, fm{}, nil},
		{"no deps", fm{"feature1": {"val1", "val2"}, "feature2": {"val3"}},
			fm{"feature1": {"val1", "val2"}, "feature2": {"val3"}}, nil},
		{"with deps", fm{"feature1": {"dep:val1", "val2"}, "feature2": {"val3", "val4?/val5"}},
			fm{}, fm{"feature1": {"dep:val1", "val2"}, "feature2": {"val3", "val4?/val5"}}},
		{"mixed", fm{"feature1": {"val1", "val2"}, "feature2": {"dep:val3"}, "feature3": {"val4", "val5?/val6"}},
			fm{"feature1": {"val1", "val2"}}, fm{"feature2": {"dep:val3"}, "feature3": {"val4", "val5?/val6"}}},
		{"nested", fm{"feature1": {"feature2"}, "feature2": {}, "feature3": {"feature1"}},
			fm{"feature1": {"feature2"}, "feature2": {}, "feature3": {"feature1"}}, nil},
		{"nested mixed", fm{"feature1": {"feature2"}, "feature2": {"feature3"}, "feature3": {"dep:foo"}},
			fm{}, fm{"feature1": {"feature2"}, "feature2": {"feature3"}, "feature3": {"dep:foo"}}},
		{"dep/feat is old syntax", fm{"a": {"x/y"}}, fm{"a": {"x/y"}}, nil},
		{"dep: inside is not a prefix", fm{"a": {"xdep:y"}}, fm{"a": {"xdep:y"}}, nil},
	} {
		f1, f2 := SplitFeatures(tc.in)
		if !reflect.DeepEqual(f1, tc.f1) || !reflect.DeepEqual(f2, tc.f2) {
			t.Errorf("%s: SplitFeatures = %v, %v; want %v, %v", tc.name, f1, f2, tc.f1, tc.f2)
		}
	}
	// A long chain moves entirely (crates.io stops after 100 rounds; the
	// fixpoint is what it means).
	long := map[string][]string{"f0": {"dep:x"}}
	for i := 1; i < 300; i++ {
		long["f"+strings.Repeat("x", i)] = []string{"f" + strings.Repeat("x", i-1)}
	}
	long["fx"] = []string{"f0"}
	if f1, _ := SplitFeatures(long); len(f1) != 0 {
		t.Errorf("%d features left behind in a chain", len(f1))
	}
}

func TestIsOwnIndexURL(t *testing.T) {
	own := []string{"sparse+https://Reg.Example.com/index/", "https://reg.example.com/git/index"}
	for u, want := range map[string]bool{
		"sparse+https://reg.example.com/index/":    true,
		"sparse+https://reg.example.com/index":     true,
		"https://reg.example.com/index/":           true,
		"https://REG.example.com/index":            true,
		"HTTPS://reg.example.com/index///":         true,
		"https://reg.example.com/git/index":        true,
		"sparse+https://reg.example.com/git/index": true,
		"https://reg.example.com/Index/":           false,
		"https://reg.example.com/index/x":          false,
		"https://other.example.com/index/":         false,
		"http://reg.example.com/index/":            false,
		CratesIOIndexURL:                           false,
		"":                                         false,
	} {
		if got := IsOwnIndexURL(u, own); got != want {
			t.Errorf("IsOwnIndexURL(%q) = %v", u, got)
		}
	}
}

func TestSetYanked(t *testing.T) {
	for _, tc := range []struct {
		in     string
		yanked bool
		want   string
		msg    string
	}{
		{in: `{"name":"a","vers":"1.0.0","deps":[],"cksum":"x","features":{},"yanked":false}`, yanked: true,
			want: `{"name":"a","vers":"1.0.0","deps":[],"cksum":"x","features":{},"yanked":true}`},
		{in: `{"name":"a","features":{},"yanked":true,"links":"z","v":2}`, yanked: false,
			want: `{"name":"a","features":{},"yanked":false,"links":"z","v":2}`},
		{in: `{"name":"a","yanked":null}`, yanked: true, want: `{"name":"a","yanked":true}`},
		{in: `{"name":"a", "yanked" :  false }`, yanked: true, want: `{"name":"a", "yanked" :  true }`},
		// Escaped key spellings are the same key.
		{in: `{"name":"a","yank\u0065d":false}`, yanked: true, want: `{"name":"a","yank\u0065d":true}`},
		// Nested "yanked" keys and strings are data, not the flag.
		{in: `{"name":"yanked","deps":[{"yanked":false,"name":"\"yanked\":false"}],"yanked":false}`, yanked: true,
			want: `{"name":"yanked","deps":[{"yanked":false,"name":"\"yanked\":false"}],"yanked":true}`},
		// Missing: inserted after features2, else features, else at the end.
		{in: `{"name":"a","features":{"x":[]},"features2":{"y":["dep:z"]},"v":2}`, yanked: true,
			want: `{"name":"a","features":{"x":[]},"features2":{"y":["dep:z"]},"yanked":true,"v":2}`},
		{in: `{"name":"a","features":{},"links":"q"}`, yanked: false,
			want: `{"name":"a","features":{},"yanked":false,"links":"q"}`},
		{in: `{"name":"a"}`, yanked: true, want: `{"name":"a","yanked":true}`},
		{in: `{}`, yanked: true, want: `{"yanked":true}`},
		// Duplicates are all rewritten.
		{in: `{"yanked":false,"yanked":false}`, yanked: true, want: `{"yanked":true,"yanked":true}`},
		// Not one JSON object.
		{in: ``, msg: "expected a JSON object"},
		{in: `[]`, msg: "expected a JSON object"},
		{in: `{"name":"a"`, msg: "invalid index line"},
		{in: `{"name":"a"} x`, msg: "unexpected data after the JSON object"},
		{in: `{"name":"a"}{}`, msg: "unexpected data after the JSON object"},
		{in: `{"name":}`, msg: "invalid index line"},
	} {
		got, err := SetYanked([]byte(tc.in), tc.yanked)
		if tc.msg != "" {
			wantCode(t, "SetYanked("+tc.in+")", err, invalid, tc.msg)
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("SetYanked(%s, %v) = %s, %v; want %s", tc.in, tc.yanked, got, err, tc.want)
		}
	}
	// On a real line: only the flag changes, and it parses back.
	line := NewIndexEntry(realMetadata(t), strings.Repeat("0", 64), goldenPubtime, nil).Line()
	y, err := SetYanked(line, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Replace(line, []byte(`"yanked":false`), []byte(`"yanked":true`), 1); !bytes.Equal(y, want) {
		t.Errorf("SetYanked changed more than the flag:\n%s\n%s", y, want)
	}
	if e, err := ParseIndexLine(y); err != nil || !e.Yanked {
		t.Errorf("ParseIndexLine(yanked) = %+v, %v", e, err)
	}
}

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        `"plain"`,
		`q"b\`:         `"q\"b\\"`,
		"\b\f\n\r\t":   `"\b\f\n\r\t"`,
		"\x00\x01\x1f": `"\u0000\u0001\u001f"`,
		"\x7f":         "\"\x7f\"",
		"<&>":          `"<&>"`,
		"é\u2028😀":     "\"é\u2028😀\"",
		"bad\xffbyte":  `"bad\ufffdbyte"`,
		"":             `""`,
	} {
		got := string(appendJSONString(nil, in))
		if got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s does not parse: %v", got, err)
		}
	}
}

func TestIndexPath(t *testing.T) {
	for name, want := range map[string]string{
		"a":          "1/a",
		"A":          "1/a",
		"ab":         "2/ab",
		"abc":        "3/a/abc",
		"Abc":        "3/a/abc",
		"abcd":       "ab/cd/abcd",
		"cargo":      "ca/rg/cargo",
		"serde_json": "se/rd/serde_json",
		"MyCrate":    "my/cr/mycrate",
		"foo-bar":    "fo/o-/foo-bar",
		"":           "",
	} {
		if got := IndexPath(name); got != want {
			t.Errorf("IndexPath(%q) = %q, want %q", name, got, want)
		}
		if name == "" {
			continue
		}
		got, ok := NameFromIndexPath(want)
		if !ok || got != strings.ToLower(name) {
			t.Errorf("NameFromIndexPath(%q) = %q, %v", want, got, ok)
		}
	}
	for _, p := range []string{
		"", "config.json", "a", "1/", "1/ab", "2/a", "2/abc", "3/abc", "3/b/abc", "3/a/ab",
		"ab/cd/abce", "ab/ce/abcd", "ab/abcd", "ab/cd/ef/abcd", "/ab/cd/abcd", "ab/cd/abcd/",
		"ab//cd/abcd", "1/A", "2/AB", "Ab/cd/Abcd", "ab/cd/ABCD", "1/_", "1/1", "2/1a", "3/-/-ab",
		"ab/c./abc.d", "ab/c /abc d", "fo/o%/foo%2f", "../../etc/passwd", "ab/cd/abcd\x00",
		"aa/aa/" + "aaaa" + strings.Repeat("a", 61),
	} {
		if n, ok := NameFromIndexPath(p); ok {
			t.Errorf("NameFromIndexPath(%q) = %q, true", p, n)
		}
	}
	if n, ok := NameFromIndexPath("aa/aa/" + strings.Repeat("a", 64)); !ok || len(n) != 64 {
		t.Errorf("64-character name refused")
	}
}

func BenchmarkNewIndexEntryLine(b *testing.B) {
	m := realMetadata(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = NewIndexEntry(m, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", goldenPubtime, []string{ownIndexURL}).Line()
	}
}
