package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// limitCrate is a crate and its metadata that agree, with n dependencies
// and the given features, for the limits that count them.
type limitCrate struct {
	name, vers string
	files      []testenv.Entry // extra files
	manifest   string          // extra Cargo.toml text
	deps       int
	features   map[string][]string
	meta       func(map[string]any)
}

func (c limitCrate) frame(t *testing.T) []byte {
	vers := c.vers
	if vers == "" {
		vers = "1.0.0"
	}
	p := c.name + "-" + vers + "/"
	toml := fmt.Sprintf("[package]\nname = %q\nversion = %q\n", c.name, vers)
	var deps []any
	for i := range c.deps {
		toml += fmt.Sprintf("[dependencies.dep%d]\nversion = \"1\"\n", i)
		deps = append(deps, map[string]any{"name": fmt.Sprintf("dep%d", i), "version_req": "^1", "features": []string{},
			"optional": false, "default_features": true, "target": nil, "kind": "normal",
			"registry": "https://github.com/rust-lang/crates.io-index"})
	}
	if len(c.features) > 0 {
		toml += "[features]\n"
		names := make([]string, 0, len(c.features))
		for f := range c.features {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			toml += fmt.Sprintf("%s = [%s]\n", f, quoteAll(c.features[f]))
		}
	}
	toml += c.manifest
	entries := append([]testenv.Entry{{Name: p + "Cargo.toml", Body: toml}, {Name: p + "src/lib.rs", Body: "pub fn f() {}\n"}}, c.files...)
	meta := testenv.Metadata(c.name, vers, func(m map[string]any) {
		if deps != nil {
			m["deps"] = deps
		}
		if c.features != nil {
			m["features"] = c.features
		}
		if c.meta != nil {
			c.meta(m)
		}
	})
	return testenv.Frame(meta, testenv.Tarball(t, entries...))
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// TestPublishLimits checks every publish limit key end to end: a crate
// just over a low configured value is refused with the status and message
// naming the limit and nothing is stored, and the same crate publishes
// under the defaults, which take every crate crates.io took.
func TestPublishLimits(t *testing.T) {
	low := testenv.StartCrated(t, func(c *config.Config) {
		s := &c.Server
		s.MaxMetadataSize = 2000
		s.MaxUnpackedSize = 64 << 10
		s.MaxFiles = 5
		s.MaxPathLength = 40
		s.MaxManifestSize = 300
		s.MaxDependencies = 2
		s.MaxFeatures = 4
		s.MaxFeatureValues = 2
		s.MaxVersionLength = 12
		s.MaxDescriptionLength = 10
		s.MaxKeywords = 2
		s.MaxKeywordLength = 5
		s.MaxCategories = 2
		s.ReservedNames = []string{"secret-project"}
	})
	def := testenv.StartCrated(t)
	lowToken, defToken := low.AddUser("alice"), def.AddUser("alice")

	features := func(n, values int) map[string][]string {
		f := map[string][]string{}
		for i := range n {
			f[fmt.Sprintf("f%d", i)] = []string{}
		}
		for i := range values {
			f[fmt.Sprintf("f%d", i+1)] = []string{}
			f["f0"] = append(f["f0"], fmt.Sprintf("f%d", i+1))
		}
		return f
	}
	for _, tc := range []struct {
		key    string
		crate  limitCrate
		status int
		detail string
	}{
		{"max_metadata_size", limitCrate{name: "big-meta", meta: func(m map[string]any) { m["readme"] = strings.Repeat("r", 3000) }},
			413, "JSON metadata blob too large"},
		{"max_unpacked_size", limitCrate{name: "big-unpacked", files: []testenv.Entry{{Name: "big-unpacked-1.0.0/data", Body: strings.Repeat("z", 100<<10)}}},
			413, "the crate unpacks to more than 65536 bytes"},
		{"max_files", limitCrate{name: "many-files", files: []testenv.Entry{
			{Name: "many-files-1.0.0/a"}, {Name: "many-files-1.0.0/b"}, {Name: "many-files-1.0.0/c"}, {Name: "many-files-1.0.0/d"}}},
			413, "more than 5 files and directories"},
		{"max_path_length", limitCrate{name: "long-path", files: []testenv.Entry{{Name: "long-path-1.0.0/src/some/deeper/module.rs"}}},
			400, "a path longer than 40 bytes"},
		{"max_manifest_size", limitCrate{name: "big-manifest", manifest: "# " + strings.Repeat("m", 300) + "\n"},
			413, "Cargo.toml in the crate is larger than 300 bytes"},
		{"max_dependencies", limitCrate{name: "many-deps", deps: 3}, 400, "too many dependencies: 3, the limit is 2"},
		{"max_features", limitCrate{name: "many-features", features: features(5, 0)}, 400, "too many features: 5, the limit is 4"},
		{"max_feature_values", limitCrate{name: "wide-feature", features: features(1, 3)}, 400, "feature `f0` has too many values: 3, the limit is 2"},
		{"max_version_length", limitCrate{name: "long-version", vers: "1.0.0-alpha.12345"}, 400, "longer than 12 characters"},
		{"max_description_length", limitCrate{name: "long-description", meta: func(m map[string]any) { m["description"] = "eleven char" }},
			400, "the description is too long: 11 characters, the limit is 10"},
		{"max_keywords", limitCrate{name: "many-keywords", meta: func(m map[string]any) { m["keywords"] = []string{"a", "b", "c"} }},
			400, "expected at most 2 keywords per crate, found 3"},
		{"max_keyword_length", limitCrate{name: "long-keyword", meta: func(m map[string]any) { m["keywords"] = []string{"sixsix"} }},
			400, "keywords are at most 5 characters long"},
		{"max_categories", limitCrate{name: "many-categories", meta: func(m map[string]any) { m["categories"] = []string{"a", "b", "c"} }},
			400, "expected at most 2 categories per crate, found 3"},
		{"reserved_names", limitCrate{name: "Secret_Project"}, 400, "the name `Secret_Project` is reserved"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			body := tc.crate.frame(t)
			status, resp, _ := do(t, "PUT", low.URL+"/api/v1/crates/new", lowToken, body)
			if status != tc.status || !strings.Contains(string(resp), tc.detail) {
				t.Errorf("%s lowered: %d %s, want %d %q", tc.key, status, resp, tc.status, tc.detail)
			}
			if status, resp, _ := do(t, "GET", low.URL+"/api/v1/crates/"+tc.crate.name, "", nil); status != 404 {
				t.Errorf("refused crate is visible: %d %s", status, resp)
			}
			if status, resp, _ := do(t, "PUT", def.URL+"/api/v1/crates/new", defToken, body); status != 200 {
				t.Errorf("%s default: %d %s", tc.key, status, resp)
			}
		})
	}

	// Reserved names: the configured list replaces the default, whose
	// Windows device names a Windows checkout cannot hold; the toolchain
	// names crates.io reserves are published crates and are accepted.
	for _, tc := range []struct {
		srv         *testenv.Crated
		token, name string
		status      int
	}{
		{low, lowToken, "nul", 200},
		{def, defToken, "nul", 400},
		{def, defToken, "COM1", 400},
		{def, defToken, "std", 200},
		{def, defToken, "compiler_builtins", 200},
		{def, defToken, "core", 200},
	} {
		status, resp, _ := do(t, "PUT", tc.srv.URL+"/api/v1/crates/new", tc.token, limitCrate{name: tc.name}.frame(t))
		if status != tc.status {
			t.Errorf("publish %s: %d %s, want %d", tc.name, status, resp, tc.status)
		}
	}
}
