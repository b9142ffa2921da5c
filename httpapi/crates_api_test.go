package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/cargo"
	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/registry"
)

// CratesIOCrate, CratesIOVersion and CratesIODependency model what crates.io
// API clients read (the crates_io_api Rust crate, Renovate's crate
// datasource): the read API must decode into them.
type CratesIOCrate struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Description      *string   `json:"description"`
	Homepage         *string   `json:"homepage"`
	Documentation    *string   `json:"documentation"`
	Repository       *string   `json:"repository"`
	MaxVersion       string    `json:"max_version"`
	MaxStableVersion *string   `json:"max_stable_version"`
	NewestVersion    string    `json:"newest_version"`
	DefaultVersion   *string   `json:"default_version"`
	NumVersions      int       `json:"num_versions"`
	Yanked           bool      `json:"yanked"`
	Downloads        int64     `json:"downloads"`
	RecentDownloads  *int64    `json:"recent_downloads"`
	Versions         *[]int64  `json:"versions"`
	Keywords         *[]string `json:"keywords"`
	Categories       *[]string `json:"categories"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	Links            struct {
		Versions *string `json:"versions"`
		Owners   *string `json:"owners"`
	} `json:"links"`
}

type CratesIOVersion struct {
	ID          int64               `json:"id"`
	Crate       string              `json:"crate"`
	Num         string              `json:"num"`
	DLPath      string              `json:"dl_path"`
	ReadmePath  string              `json:"readme_path"`
	Checksum    string              `json:"checksum"`
	Yanked      bool                `json:"yanked"`
	CreatedAt   time.Time           `json:"created_at"`
	License     *string             `json:"license"`
	CrateSize   int64               `json:"crate_size"`
	Features    map[string][]string `json:"features"`
	RustVersion *string             `json:"rust_version"`
	LibLinks    *string             `json:"lib_links"`
	PublishedBy *struct {
		ID    int64   `json:"id"`
		Login string  `json:"login"`
		Name  *string `json:"name"`
	} `json:"published_by"`
	Links struct {
		Dependencies string `json:"dependencies"`
	} `json:"links"`
}

type CratesIODependency struct {
	VersionID       int64    `json:"version_id"`
	CrateID         string   `json:"crate_id"`
	Req             string   `json:"req"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Features        []string `json:"features"`
	Target          *string  `json:"target"`
	Kind            string   `json:"kind"`
}

type crateResponse struct {
	Crate      CratesIOCrate     `json:"crate"`
	Versions   []CratesIOVersion `json:"versions"`
	Keywords   []struct{ ID, Keyword string }
	Categories []struct{ ID, Slug string }
}

func getJSON(t *testing.T, e *env, path, token string, v any) *http.Response {
	t.Helper()
	r := e.do(t, "GET", path, token, nil)
	b := readAll(t, r)
	if r.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, r.StatusCode, b)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
	return r
}

// publishRich publishes foo-bar at vers with metadata in every field the
// read API shows, and a renamed optional dependency on base.
func publishRich(t *testing.T, e *env, token, vers string) []byte {
	t.Helper()
	files := testenv.CrateFiles("foo-bar", vers)
	files[0].Body = fmt.Sprintf("[package]\nname = \"foo-bar\"\nversion = %q\nedition = \"2021\"\nlinks = \"foo\"\nrust-version = \"1.70\"\n", vers) +
		"\n[dependencies.b]\npackage = \"base\"\nversion = \"^1\"\noptional = true\nregistry-index = \"sparse+http://registry.test/index/\"\n" +
		"\n[features]\ndefault = [\"fast\"]\nfast = []\nextra = [\"dep:b\"]\n"
	meta := testenv.Metadata("foo-bar", vers, func(m map[string]any) {
		m["deps"] = []any{map[string]any{"name": "base", "version_req": "^1", "features": []string{}, "optional": true,
			"default_features": true, "target": nil, "kind": "normal", "explicit_name_in_toml": "b"}}
		m["features"] = map[string]any{"default": []string{"fast"}, "fast": []string{}, "extra": []string{"dep:b"}}
		m["links"], m["rust_version"] = "foo", "1.70"
		m["description"], m["homepage"], m["repository"] = "Foo for your bar", "https://foo.example", "https://git.example/foo-bar"
		m["keywords"], m["categories"] = []string{"foo", "bar"}, []string{"development-tools"}
		m["readme"], m["license"] = "# Foo-Bar "+vers+"\n\nA **fast** bar.\n", "MIT OR Apache-2.0"
	})
	crate := testenv.Tarball(t, files...)
	r := e.do(t, "PUT", "/api/v1/crates/new", token, testenv.Frame(meta, crate))
	if r.StatusCode != 200 {
		t.Fatalf("publish foo-bar %s: %d %s", vers, r.StatusCode, readAll(t, r))
	}
	return crate
}

// indexLines reads the crate's sparse-index file, by version.
func indexLines(t *testing.T, e *env, path string) map[string]*cargo.IndexEntry {
	t.Helper()
	r := e.do(t, "GET", path, "", nil)
	out := map[string]*cargo.IndexEntry{}
	for _, line := range bytes.Split(bytes.TrimSpace(readAll(t, r)), []byte("\n")) {
		ie, err := cargo.ParseIndexLine(line)
		if err != nil {
			t.Fatal(err)
		}
		out[ie.Vers] = ie
	}
	return out
}

func TestCrateReadAPI(t *testing.T) {
	e := newEnv(t, httpapi.Config{}, registry.Config{})
	ctx := context.Background()
	alice, token, _ := e.svc.CreateUser(ctx, "alice", "")
	publishFrame(t, e, token, "base", "1.0.0")
	crates := map[string][]byte{}
	for _, v := range []string{"0.1.0", "0.3.0-beta.1", "0.2.0", "0.2.1"} {
		crates[v] = publishRich(t, e, token, v)
	}
	if r := e.do(t, "DELETE", "/api/v1/crates/foo-bar/0.2.1/yank", token, nil); r.StatusCode != 200 {
		t.Fatalf("yank: %d", r.StatusCode)
	}
	index := indexLines(t, e, "/index/fo/o-/foo-bar")

	// Any spelling of the name finds the crate, as on crates.io.
	var full crateResponse
	getJSON(t, e, "/api/v1/crates/Foo_Bar", "", &full)
	c := full.Crate
	if c.ID != "foo-bar" || c.Name != "foo-bar" || *c.Description != "Foo for your bar" || *c.Homepage != "https://foo.example" ||
		*c.Repository != "https://git.example/foo-bar" || c.Documentation != nil {
		t.Errorf("crate metadata: %+v", c)
	}
	// Highest not yanked (a pre-release counts), newest not yanked, highest
	// stable not yanked; 0.2.1 is yanked.
	if c.MaxVersion != "0.3.0-beta.1" || c.NewestVersion != "0.2.0" || c.MaxStableVersion == nil || *c.MaxStableVersion != "0.2.0" ||
		c.DefaultVersion == nil || *c.DefaultVersion != "0.2.0" || c.Yanked || c.NumVersions != 4 {
		t.Errorf("versions summary: max %s newest %s stable %v default %v yanked %v num %d", c.MaxVersion, c.NewestVersion, c.MaxStableVersion, c.DefaultVersion, c.Yanked, c.NumVersions)
	}
	if c.RecentDownloads != nil {
		t.Errorf("recent_downloads %d: crated keeps no such count", *c.RecentDownloads)
	}
	if c.CreatedAt.IsZero() || c.UpdatedAt.Before(c.CreatedAt) {
		t.Errorf("crate times: created %v updated %v", c.CreatedAt, c.UpdatedAt)
	}
	if c.Keywords == nil || !slices.Equal(*c.Keywords, []string{"foo", "bar"}) || c.Categories == nil || !slices.Equal(*c.Categories, []string{"development-tools"}) ||
		len(full.Keywords) != 2 || full.Keywords[0].Keyword != "foo" || len(full.Categories) != 1 || full.Categories[0].Slug != "development-tools" {
		t.Errorf("keywords and categories: %v %v %+v %+v", c.Keywords, c.Categories, full.Keywords, full.Categories)
	}
	// Versions newest first, ids listed on the crate.
	var nums []string
	var ids []int64
	for _, v := range full.Versions {
		nums, ids = append(nums, v.Num), append(ids, v.ID)
	}
	if !slices.Equal(nums, []string{"0.2.1", "0.2.0", "0.3.0-beta.1", "0.1.0"}) || c.Versions == nil || !slices.Equal(*c.Versions, ids) || c.Links.Versions != nil {
		t.Fatalf("versions %v, crate.versions %v", nums, c.Versions)
	}
	// Each version agrees with its index line, and with its .crate file.
	for _, v := range full.Versions {
		line := index[v.Num]
		if line == nil {
			t.Fatalf("version %s not in the index", v.Num)
		}
		want := map[string][]string{}
		for k, vs := range line.Features {
			want[k] = append([]string{}, vs...)
		}
		for k, vs := range line.Features2 {
			want[k] = append(want[k], vs...)
		}
		if v.Checksum != line.Cksum || v.Yanked != line.Yanked || !reflect.DeepEqual(v.Features, want) ||
			*v.RustVersion != *line.RustVersion || *v.LibLinks != *line.Links ||
			v.CreatedAt.UTC().Format(cargo.PubtimeFormat) != line.Pubtime {
			t.Errorf("%s: API %+v\nindex %+v", v.Num, v, line)
		}
		if v.Crate != "foo-bar" || *v.License != "MIT OR Apache-2.0" || v.CrateSize != int64(len(crates[v.Num])) || v.CreatedAt.IsZero() ||
			v.PublishedBy == nil || v.PublishedBy.ID != alice.ID || v.PublishedBy.Login != "alice" ||
			v.DLPath != "/api/v1/crates/foo-bar/"+v.Num+"/download" || v.ReadmePath != "/api/v1/crates/foo-bar/"+v.Num+"/readme" {
			t.Errorf("%s: %+v", v.Num, v)
		}
		// dl_path is relative to the api URL, as on crates.io.
		if r := e.do(t, "GET", v.DLPath, "", nil); r.StatusCode != 200 || !bytes.Equal(readAll(t, r), crates[v.Num]) {
			t.Errorf("%s: dl_path %s does not download the crate: %d", v.Num, v.DLPath, r.StatusCode)
		}
	}
	if !full.Versions[0].Yanked || full.Versions[1].Yanked {
		t.Errorf("yanked flags: %+v", full.Versions[:2])
	}
	if _, ok := full.Versions[0].Features["extra"]; !ok {
		t.Errorf("features2 (dep: syntax) not merged: %v", full.Versions[0].Features)
	}

	// ?include= (Renovate's) selects nothing: the crate object alone, its
	// summary fields still right.
	var bare struct {
		Crate      CratesIOCrate `json:"crate"`
		Versions   *[]any        `json:"versions"`
		Keywords   *[]any        `json:"keywords"`
		Categories *[]any        `json:"categories"`
	}
	getJSON(t, e, "/api/v1/crates/foo-bar?include=", "", &bare)
	if bare.Versions != nil || bare.Keywords != nil || bare.Categories != nil || bare.Crate.Versions != nil || bare.Crate.Keywords != nil ||
		bare.Crate.MaxVersion != "0.3.0-beta.1" || *bare.Crate.Repository != "https://git.example/foo-bar" ||
		bare.Crate.Links.Versions == nil || *bare.Crate.Links.Versions != "/api/v1/crates/foo-bar/versions" {
		t.Errorf("?include=: %+v", bare)
	}
	// default_version alone puts that one version under "versions"; unknown
	// parts are ignored.
	var dv crateResponse
	getJSON(t, e, "/api/v1/crates/foo-bar?include=default_version,release_tracks", "", &dv)
	if len(dv.Versions) != 1 || dv.Versions[0].Num != "0.2.0" || dv.Crate.Versions != nil {
		t.Errorf("?include=default_version: %+v", dv.Versions)
	}

	// /versions: newest first, semver order, pages.
	var list struct {
		Versions []CratesIOVersion `json:"versions"`
		Meta     struct {
			Total    int     `json:"total"`
			NextPage *string `json:"next_page"`
		} `json:"meta"`
	}
	getJSON(t, e, "/api/v1/crates/foo_bar/versions", "", &list)
	if list.Meta.Total != 4 || len(list.Versions) != 4 || list.Versions[0].Num != "0.2.1" || list.Meta.NextPage != nil ||
		!reflect.DeepEqual(list.Versions, full.Versions) {
		t.Errorf("versions: %+v", list)
	}
	getJSON(t, e, "/api/v1/crates/foo-bar/versions?sort=semver&per_page=3", "", &list)
	if list.Meta.Total != 4 || len(list.Versions) != 3 || list.Versions[0].Num != "0.3.0-beta.1" || list.Versions[2].Num != "0.2.0" ||
		list.Meta.NextPage == nil {
		t.Fatalf("semver page 1: %+v", list)
	}
	getJSON(t, e, "/api/v1/crates/foo-bar/versions"+*list.Meta.NextPage, "", &list)
	if len(list.Versions) != 1 || list.Versions[0].Num != "0.1.0" || list.Meta.NextPage != nil {
		t.Errorf("semver page 2: %+v", list)
	}

	// One version.
	var one struct {
		Version CratesIOVersion `json:"version"`
	}
	getJSON(t, e, "/api/v1/crates/FOO-BAR/0.2.0", "", &one)
	if !reflect.DeepEqual(one.Version, full.Versions[1]) {
		t.Errorf("version endpoint: %+v\nwant %+v", one.Version, full.Versions[1])
	}

	// Dependencies, from the index line: the real crate name, not the alias.
	var deps struct {
		Dependencies []CratesIODependency `json:"dependencies"`
	}
	getJSON(t, e, "/api/v1/crates/foo-bar/0.2.0/dependencies", "", &deps)
	if len(deps.Dependencies) != 1 {
		t.Fatalf("dependencies: %+v", deps)
	}
	d, line := deps.Dependencies[0], index["0.2.0"].Deps[0]
	if d.CrateID != "base" || d.Req != line.Req || !d.Optional || !d.DefaultFeatures || d.Kind != "normal" || d.Target != nil || d.VersionID != one.Version.ID || d.Features == nil {
		t.Errorf("dependency %+v, index %+v", d, line)
	}

	// The README as published, as text.
	r := e.do(t, "GET", "/api/v1/crates/foo-bar/0.2.0/readme", "", nil)
	if body := readAll(t, r); r.StatusCode != 200 || string(body) != "# Foo-Bar 0.2.0\n\nA **fast** bar.\n" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/markdown") {
		t.Errorf("readme: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), body)
	}

	// Not found: cargo's error body, with a 404.
	for _, path := range []string{
		"/api/v1/crates/nope", "/api/v1/crates/nope/versions", "/api/v1/crates/foo-bar/9.9.9",
		"/api/v1/crates/foo-bar/9.9.9/dependencies", "/api/v1/crates/foo-bar/9.9.9/readme",
		"/api/v1/crates/base/1.0.0/readme", // published without a README
		"/api/v1/crates/not%20a%20name",
	} {
		r := e.do(t, "GET", path, "", nil)
		var body struct {
			Errors []struct{ Detail string } `json:"errors"`
		}
		if err := json.Unmarshal(readAll(t, r), &body); err != nil || r.StatusCode != 404 || len(body.Errors) != 1 || body.Errors[0].Detail == "" {
			t.Errorf("GET %s: %d %+v %v", path, r.StatusCode, body, err)
		}
	}
	if r := e.do(t, "GET", "/api/v1/crates/foo-bar/versions?sort=size", "", nil); r.StatusCode != 400 {
		t.Errorf("unknown sort: %d, want 400", r.StatusCode)
	}
	// The routes beside it still answer: owners, download, search.
	if r := e.do(t, "GET", "/api/v1/crates/foo-bar/owners", "", nil); r.StatusCode != 200 || !strings.Contains(string(readAll(t, r)), `"login":"alice"`) {
		t.Errorf("owners: %d", r.StatusCode)
	}
	if r := e.do(t, "GET", "/api/v1/crates?q=foo", "", nil); r.StatusCode != 200 || !strings.Contains(string(readAll(t, r)), `"name":"foo-bar"`) {
		t.Errorf("search: %d", r.StatusCode)
	}
}

// TestCrateReadAPIPrivate: on a private registry the read API is a read like
// the index: 401 with cargo's challenge without a token, 401 for a bad one,
// 200 with a good one.
func TestCrateReadAPIPrivate(t *testing.T) {
	e := newEnv(t, httpapi.Config{AuthRequired: true}, registry.Config{})
	_, token, _ := e.svc.CreateUser(context.Background(), "alice", "")
	publishFrame(t, e, token, "secret", "1.0.0")
	for _, path := range []string{
		"/api/v1/crates/secret", "/api/v1/crates/secret/versions", "/api/v1/crates/secret/1.0.0",
		"/api/v1/crates/secret/1.0.0/dependencies", "/api/v1/crates/secret/1.0.0/readme",
		"/api/v1/crates/nope", // no telling which crates exist
	} {
		r := e.do(t, "GET", path, "", nil)
		b := readAll(t, r)
		if r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") != `Cargo login_url="http://registry.test/me"` || !strings.Contains(string(b), `"errors":[{"detail":`) {
			t.Errorf("anonymous GET %s: %d %q %s", path, r.StatusCode, r.Header.Get("WWW-Authenticate"), b)
		}
		if strings.Contains(string(b), "secret") {
			t.Errorf("anonymous GET %s leaks: %s", path, b)
		}
		if r := e.do(t, "GET", path, "crated_bad", nil); r.StatusCode != 401 {
			t.Errorf("bad token GET %s: %d", path, r.StatusCode)
		}
	}
	var out crateResponse
	getJSON(t, e, "/api/v1/crates/secret", token, &out)
	if out.Crate.Name != "secret" || len(out.Versions) != 1 || out.Versions[0].Num != "1.0.0" {
		t.Errorf("with a token: %+v", out)
	}
}

// TestRoutesDoNotConflict: net/http's mux panics when two patterns overlap
// and neither is more specific; the read API's patterns sit beside the
// download routes, Ktra's among them at every dl_path the config allows
// (config refuses ["api"] and ["api", "v1"], which would conflict).
func TestRoutesDoNotConflict(t *testing.T) {
	for _, dl := range [][]string{{"dl"}, {"api", "v1", "crates"}, {"crates"}, {"api", "v2"}, {"index"}, {"a", "b", "c", "d"}, {"api", "v1", "dl"}} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("dl_path %v: %v", dl, p)
				}
			}()
			httpapi.New(nil, nil, nil, httpapi.Config{DLPath: dl}, nil)
		}()
	}
}
