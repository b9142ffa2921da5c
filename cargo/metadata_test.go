package cargo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realPublish returns the metadata and .crate of a real `cargo publish`
// (cargo 1.95, captured into testdata/publish-frame.bin): tiny-crate
// 0.1.0+build.5 with an optional dependency behind a "dep:" feature, the
// same crate renamed as an optional cfg(unix) dependency with a "?/"
// feature, a build dependency, two dev dependencies, one of them from a
// foreign registry, and crates.io dependencies published to an
// alternative registry.
func realPublish(t testing.TB) (meta, crate []byte) {
	t.Helper()
	body, err := os.ReadFile("testdata/publish-frame.bin")
	if err != nil {
		t.Fatal(err)
	}
	meta, crate, err = ReadFrame(bytes.NewReader(body), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return meta, crate
}

func realMetadata(t testing.TB) *NewCrate {
	t.Helper()
	meta, _ := realPublish(t)
	m, err := ParseMetadata(meta)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ptr(s string) *string { return &s }

func TestParseMetadataReal(t *testing.T) {
	m := realMetadata(t)
	if m.Name != "tiny-crate" || m.Vers != "0.1.0+build.5" || len(m.Deps) != 5 {
		t.Fatalf("unexpected metadata %+v", m)
	}
	d := m.Deps[4]
	if d.Name != "extra-dep" || *d.ExplicitNameInToml != "renamed" || *d.Target != "cfg(unix)" ||
		!d.Optional || d.DefaultFeatures || d.Kind != "normal" || d.VersionReq != "^0.1.0" ||
		*d.Registry != CratesIOIndexURL || len(d.Features) != 1 {
		t.Errorf("renamed dependency parsed as %+v", d)
	}
	if m.Readme == nil || *m.Readme != "# tiny\n" || m.LicenseFile != nil || *m.RustVersion != "1.70" {
		t.Errorf("nullable strings parsed wrong: %+v", m)
	}
	if err := m.Validate(DefaultLimits()); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseMetadata(t *testing.T) {
	for _, tc := range []struct {
		name, json, code, msg string
	}{
		{"minimal", `{"name":"a","vers":"1.0.0"}`, "", ""},
		{"unknown fields ignored", `{"name":"a","vers":"1.0.0","new_field":[1,{"x":null}],"deps":[{"name":"b","artifact":["bin"],"lib":true}]}`, "", ""},
		{"nulls", `{"name":"a","vers":"1.0.0","deps":null,"features":null,"description":null,"badges":null}`, "", ""},
		{"duplicate keys", `{"name":"a","name":"b","vers":"1.0.0"}`, "", ""},
		{"not utf-8", "{\"name\":\"a\xff\",\"vers\":\"1.0.0\"}", invalid, "json body was not valid utf-8"},
		{"empty", ``, invalid, "invalid upload request"},
		{"truncated", `{"name":"a",`, invalid, "invalid upload request"},
		{"syntax", `{"name":"a",}`, invalid, "malformed JSON at byte"},
		{"array", `[1,2]`, invalid, "expected a JSON object"},
		{"wrong type", `{"name":1}`, invalid, "field `name` has the wrong type: found number, expected string"},
		{"nested wrong type", `{"name":"a","deps":[{"optional":"yes"}]}`, invalid, "field `deps.optional` has the wrong type: found string, expected bool"},
		{"features wrong type", `{"features":{"a":"b"}}`, invalid, "expected array"},
		{"trailing data", `{"name":"a"} {}`, invalid, "invalid upload request"},
	} {
		_, err := ParseMetadata([]byte(tc.json))
		wantCode(t, tc.name, err, tc.code, tc.msg)
	}
}

func TestValidateMetadata(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(m *NewCrate)
		code   string
		msg    string
	}{
		{"real", func(m *NewCrate) {}, "", ""},
		{"bad name", func(m *NewCrate) { m.Name = "1foo" }, invalid, "invalid crate name `1foo`: the first character must be an ASCII letter"},
		{"reserved name", func(m *NewCrate) { m.Name = "std" }, invalid, "the name `std` is reserved"},
		{"reserved name canonical", func(m *NewCrate) { m.Name = "My_Secret" }, invalid, "reserved"},
		{"reserved by default", func(m *NewCrate) { m.Name = "Nul" }, "", ""},
		{"bad version", func(m *NewCrate) { m.Vers = "1.0" }, invalid, "invalid version `1.0`"},
		{"v prefix", func(m *NewCrate) { m.Vers = "v1.0.0" }, invalid, "invalid version"},
		{"version 150", func(m *NewCrate) { m.Vers = "1.0.0-" + strings.Repeat("a", 144) }, "", ""},
		{"version too long", func(m *NewCrate) { m.Vers = "1.0.0-" + strings.Repeat("a", 145) }, invalid, "longer than 150 characters"},
		{"no deps", func(m *NewCrate) { m.Deps = nil }, "", ""},
		{"500 deps", func(m *NewCrate) { m.Deps = manyDeps(500) }, "", ""},
		{"501 deps", func(m *NewCrate) { m.Deps = manyDeps(501) }, invalid, "too many dependencies: 501, the limit is 500"},
		{"dep bad name", func(m *NewCrate) { m.Deps[0].Name = "_foo" }, invalid, "invalid dependency name `_foo`"},
		{"dep alias underscore", func(m *NewCrate) { m.Deps[0].ExplicitNameInToml = ptr("_foo") }, "", ""},
		{"dep alias bad", func(m *NewCrate) { m.Deps[0].ExplicitNameInToml = ptr("1foo") }, invalid, "invalid dependency name `1foo`"},
		{"dep star", func(m *NewCrate) { m.Deps[0].VersionReq = "*" }, invalid, "dependency `extra-dep`: wildcard (`*`) dependency constraints are not allowed"},
		{"dep req invalid", func(m *NewCrate) { m.Deps[0].VersionReq = "^^1" }, invalid, "dependency `extra-dep`: invalid version requirement `^^1`"},
		{"dep req empty", func(m *NewCrate) { m.Deps[0].VersionReq = "" }, invalid, "invalid version requirement"},
		{"dep req wildcard minor", func(m *NewCrate) { m.Deps[0].VersionReq = "1.*" }, "", ""},
		{"dep kind empty", func(m *NewCrate) { m.Deps[0].Kind = "" }, "", ""},
		{"dep kind bad", func(m *NewCrate) { m.Deps[0].Kind = "proc-macro" }, invalid, "unknown kind `proc-macro`"},
		{"dep feature bad", func(m *NewCrate) { m.Deps[0].Features = []string{"a b"} }, invalid, "dependency `extra-dep`: invalid character ` `"},
		{"dep feature slash", func(m *NewCrate) { m.Deps[0].Features = []string{"x/y"} }, "", ""},
		{"dep target empty", func(m *NewCrate) { m.Deps[0].Target = ptr("") }, invalid, "invalid target"},
		{"dep target control", func(m *NewCrate) { m.Deps[0].Target = ptr("cfg(unix)\n") }, invalid, "invalid target"},
		{"dep target cfg", func(m *NewCrate) { m.Deps[0].Target = ptr(`cfg(all(unix, target_arch = "x86_64"))`) }, "", ""},
		{"dep registry control", func(m *NewCrate) { m.Deps[0].Registry = ptr("http://x\x00") }, invalid, "invalid registry"},
		{"no features", func(m *NewCrate) { m.Features = nil }, "", ""},
		{"300 features", func(m *NewCrate) { m.Features = manyFeatures(300, 1) }, "", ""},
		{"301 features", func(m *NewCrate) { m.Features = manyFeatures(301, 1) }, invalid, "too many features: 301, the limit is 300"},
		{"300 values", func(m *NewCrate) { m.Features = manyFeatures(1, 300) }, "", ""},
		{"301 values", func(m *NewCrate) { m.Features = manyFeatures(1, 301) }, invalid, "has too many values: 301, the limit is 300"},
		{"feature name bad", func(m *NewCrate) { m.Features["-x"] = nil }, invalid, "invalid character `-` in feature `-x`"},
		{"feature name unicode", func(m *NewCrate) { m.Features["日本"] = nil }, "", ""},
		{"feature value bad", func(m *NewCrate) { m.Features["x"] = []string{"dep:1x"} }, invalid, "invalid dependency name `1x`"},
		{"feature value weak", func(m *NewCrate) { m.Features["x"] = []string{"_a?/b"} }, "", ""},
		{"description 1000", func(m *NewCrate) { m.Description = ptr(strings.Repeat("é", 1000)) }, "", ""},
		{"description 1001", func(m *NewCrate) { m.Description = ptr(strings.Repeat("a", 1001)) }, invalid, "description is too long"},
		{"5 keywords", func(m *NewCrate) { m.Keywords = []string{"a", "b", "c", "d", "e"} }, "", ""},
		{"6 keywords", func(m *NewCrate) { m.Keywords = []string{"a", "b", "c", "d", "e", "f"} }, invalid, "expected at most 5 keywords per crate, found 6"},
		{"keyword long", func(m *NewCrate) { m.Keywords = []string{strings.Repeat("k", 21)} }, invalid, "at most 20 characters"},
		{"keyword control", func(m *NewCrate) { m.Keywords = []string{"a\tb"} }, invalid, "invalid keyword `a\\tb`: it contains a control character"},
		{"keyword old style", func(m *NewCrate) { m.Keywords = []string{"shared memory", "-k"} }, "", ""},
		{"6 categories", func(m *NewCrate) { m.Categories = []string{"a", "b", "c", "d", "e", "f"} }, invalid, "expected at most 5 categories per crate, found 6"},
		{"links", func(m *NewCrate) { m.Links = ptr("python3.11") }, "", ""},
		{"links c++", func(m *NewCrate) { m.Links = ptr("stdc++") }, "", ""},
		{"links empty", func(m *NewCrate) { m.Links = ptr("") }, invalid, "invalid `links` value"},
		{"links space", func(m *NewCrate) { m.Links = ptr("a b") }, invalid, "invalid `links` value"},
		{"links slash", func(m *NewCrate) { m.Links = ptr("../x") }, invalid, "invalid `links` value"},
		{"rust_version 1", func(m *NewCrate) { m.RustVersion = ptr("1") }, "", ""},
		{"rust_version 3", func(m *NewCrate) { m.RustVersion = ptr("1.70.0") }, "", ""},
		{"rust_version 4", func(m *NewCrate) { m.RustVersion = ptr("1.70.0.1") }, invalid, "invalid rust-version"},
		{"rust_version op", func(m *NewCrate) { m.RustVersion = ptr("^1.70") }, invalid, "invalid rust-version"},
		{"rust_version pre", func(m *NewCrate) { m.RustVersion = ptr("1.70.0-nightly") }, invalid, "invalid rust-version"},
		{"rust_version empty", func(m *NewCrate) { m.RustVersion = ptr("") }, invalid, "invalid rust-version"},
		{"rust_version zero", func(m *NewCrate) { m.RustVersion = ptr("1.07") }, invalid, "invalid rust-version"},
		{"rust_version big", func(m *NewCrate) { m.RustVersion = ptr("99999999999999999999") }, invalid, "invalid rust-version"},
		{"homepage http", func(m *NewCrate) { m.Homepage = ptr("http://example.com/x?y#z") }, "", ""},
		{"homepage ftp", func(m *NewCrate) { m.Homepage = ptr("ftp://example.com") }, invalid, "URL for field `homepage` must begin with http:// or https://"},
		{"documentation js", func(m *NewCrate) { m.Documentation = ptr("javascript:alert(1)") }, invalid, "URL for field `documentation`"},
		{"repository relative", func(m *NewCrate) { m.Repository = ptr("https:/x") }, invalid, "URL for field `repository`"},
		{"repository no host", func(m *NewCrate) { m.Repository = ptr("https://") }, invalid, "`repository` is not a valid url"},
		{"repository bad", func(m *NewCrate) { m.Repository = ptr("https://exa mple.com") }, invalid, "`repository` is not a valid url"},
		{"repository empty", func(m *NewCrate) { m.Repository = ptr("") }, invalid, "URL for field `repository`"},
	} {
		m := realMetadata(t)
		tc.mutate(m)
		wantCode(t, tc.name, m.Validate(cratesIOLimits), tc.code, tc.msg)
	}
}

// cratesIOLimits are crates.io's limits for new crates, configured on a
// registry that wants them, and a reserved list of its own.
var cratesIOLimits = Limits{
	MaxDependencies: 500, MaxFeatures: 300, MaxFeatureValues: 300, MaxVersionLength: 150,
	MaxDescription: 1000, MaxKeywords: 5, MaxKeywordLength: 20, MaxCategories: 5,
	ReservedNames: []string{"std", "compiler-builtins", "my-secret"},
}

// The defaults take what crates.io took from crates published before its
// limits or under its per-crate exceptions.
func TestValidateMetadataDefaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(m *NewCrate)
	}{
		// crates.io's keyword character rule is not enforced at all.
		{"keywords with spaces", func(m *NewCrate) { m.Keywords = []string{"location infomation", "Router Os API", "nl80211.h"} }},
		{"winapi 0.3.9: 399 features", func(m *NewCrate) { m.Features = manyFeatures(399, 1) }},
		{"icondata: 23,000 features", func(m *NewCrate) { m.Features = manyFeatures(23000, 0) }},
		{"a feature enabling 5000 others", func(m *NewCrate) { m.Features = manyFeatures(1, 5000) }},
		{"compiler_builtins", func(m *NewCrate) { m.Name = "compiler_builtins" }},
		{"std", func(m *NewCrate) { m.Name = "std" }},
		{"800 dependencies", func(m *NewCrate) { m.Deps = manyDeps(800) }},
		{"scell 1.0.0: 11 keywords", func(m *NewCrate) { m.Keywords = strings.Fields("a b c d e f g h i j k") }},
		{"keyword of 21", func(m *NewCrate) { m.Keywords = []string{"distributed-inference"} }},
		{"a long description", func(m *NewCrate) { m.Description = ptr(strings.Repeat("a", 5000)) }},
		{"6 categories", func(m *NewCrate) { m.Categories = strings.Fields("a b c d e f") }},
	} {
		m := realMetadata(t)
		tc.mutate(m)
		if err := m.Validate(DefaultLimits()); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err := m.Validate(Limits{}); err != nil {
			t.Errorf("%s with zero Limits: %v", tc.name, err)
		}
		if err := m.Validate(cratesIOLimits); err == nil && tc.name != "keywords with spaces" {
			t.Errorf("%s: accepted with crates.io's limits", tc.name)
		}
	}
}

// Limits may raise the protocol limits for a private registry.
func TestValidateMetadataRaisedLimits(t *testing.T) {
	m := realMetadata(t)
	m.Features = manyFeatures(1000, 1)
	m.Deps = manyDeps(800)
	lim := DefaultLimits()
	lim.MaxFeatures, lim.MaxDependencies = 2000, 1000
	if err := m.Validate(lim); err != nil {
		t.Error(err)
	}
	lim.MaxFeatures = 999
	wantCode(t, "lowered limits", m.Validate(lim), invalid, "too many features: 1000, the limit is 999")
}

func manyDeps(n int) []NewCrateDep {
	deps := make([]NewCrateDep, n)
	for i := range deps {
		deps[i] = NewCrateDep{Name: fmt.Sprintf("dep%d", i), VersionReq: "^1", Kind: "normal", DefaultFeatures: true}
	}
	return deps
}

func manyFeatures(n, values int) map[string][]string {
	f := make(map[string][]string, n)
	for i := range n {
		vs := make([]string, values)
		for j := range vs {
			vs[j] = fmt.Sprintf("v%d", j)
		}
		f[fmt.Sprintf("f%d", i)] = vs
	}
	return f
}

// TestRealPublishes runs the whole publish pipeline on frames captured from
// cargo 1.95 publishing to a loopback registry at 127.0.0.1:18778: a
// workspace member with inherited fields, workspace dependencies, [lints],
// own-registry dependencies (no "registry" in the metadata, registry-index
// in Cargo.toml), renamed target-specific dev and build dependencies and a
// path-only dev dependency that cargo strips; and a crate with deep
// package.metadata tables, [[bin]], [badges], license-file, edition 2024.
func TestRealPublishes(t *testing.T) {
	files, err := filepath.Glob("testdata/publish/*.bin")
	if err != nil || len(files) < 2 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	own := []string{"sparse+http://127.0.0.1:18778/index/"}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		meta, crate, err := ReadFrame(bytes.NewReader(body), DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m, err := ParseMetadata(meta)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := m.Validate(DefaultLimits()); err != nil {
			t.Errorf("%s: Validate: %v", f, err)
		}
		pkg, err := InspectCrate(crate, m.Name, m.Vers, DefaultLimits())
		if err != nil {
			t.Errorf("%s: InspectCrate: %v", f, err)
			continue
		}
		if err := CheckManifest(m, &pkg.Manifest, own); err != nil {
			t.Errorf("%s: CheckManifest: %v", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".bin")
		checkGolden(t, name+".json", append(NewIndexEntry(m, sha256Hex(crate), goldenPubtime, own).Line(), '\n'))
	}
}

// BenchmarkPublishPipeline is everything this package does for one publish
// of a small real crate.
func BenchmarkPublishPipeline(b *testing.B) {
	body, err := os.ReadFile("testdata/publish-frame.bin")
	if err != nil {
		b.Fatal(err)
	}
	own := []string{ownIndexURL}
	lim := DefaultLimits()
	b.ReportAllocs()
	for b.Loop() {
		meta, crate, err := ReadFrame(bytes.NewReader(body), lim)
		if err != nil {
			b.Fatal(err)
		}
		m, err := ParseMetadata(meta)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Validate(lim); err != nil {
			b.Fatal(err)
		}
		pkg, err := InspectCrate(crate, m.Name, m.Vers, lim)
		if err != nil {
			b.Fatal(err)
		}
		if err := CheckManifest(m, &pkg.Manifest, own); err != nil {
			b.Fatal(err)
		}
		_ = NewIndexEntry(m, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", goldenPubtime, own).Line()
	}
}
