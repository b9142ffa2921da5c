package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/cargo"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// The crates.io API shapes a client such as the crates_io_api Rust crate or
// Renovate's crate datasource reads.
type apiCrate struct {
	Name             string    `json:"name"`
	Description      *string   `json:"description"`
	Repository       *string   `json:"repository"`
	MaxVersion       string    `json:"max_version"`
	MaxStableVersion *string   `json:"max_stable_version"`
	NewestVersion    string    `json:"newest_version"`
	DefaultVersion   *string   `json:"default_version"`
	NumVersions      int       `json:"num_versions"`
	Versions         []int64   `json:"versions"`
	Keywords         []string  `json:"keywords"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

type apiVersion struct {
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
	PublishedBy *struct {
		Login string `json:"login"`
	} `json:"published_by"`
}

type apiDependency struct {
	CrateID         string   `json:"crate_id"`
	Req             string   `json:"req"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Features        []string `json:"features"`
	Target          *string  `json:"target"`
	Kind            string   `json:"kind"`
}

const deltaToml = `[package]
name = "Delta_Crate"
version = "VERSION"
edition = "2021"
description = "Read back through the crates.io API"
license = "MIT OR Apache-2.0"
repository = "https://git.example/delta"
keywords = ["delta", "api"]
rust-version = "1.70"
readme = "README.md"

[features]
default = ["std"]
std = []
`

const deltaReadme = "# Delta\n\nRead me *back*.\n"

func apiGet(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestReadAPI publishes crates with stock cargo and reads them back through
// crates.io's read API, checking every answer against the index line cargo
// itself reads.
func TestReadAPI(t *testing.T) {
	srv := testenv.StartCrated(t)
	alice := srv.AddUser("alice")
	c := testenv.NewCargo(t, srv.IndexURL(), "")
	for _, v := range []string{"0.1.0", "0.2.0-rc.1", "0.1.1"} {
		dir := testenv.Package(t, strings.Replace(deltaToml, "VERSION", v, 1),
			map[string]string{"src/lib.rs": "pub fn hello() -> u32 { 1 }\n", "README.md": deltaReadme})
		publish(t, c, dir, alice, "--no-verify")
	}
	publish(t, c, testenv.Package(t, gammaToml, nil), alice, "--no-verify")
	publish(t, c, testenv.Package(t, alphaToml, nil), alice, "--no-verify")
	beta := testenv.Package(t, betaToml, map[string]string{"src/lib.rs": betaLib})
	publish(t, c, beta, alice, "--no-verify")
	c.MustRun(beta, "yank", "--registry", "crated", "--token", alice, "Delta_Crate@0.1.1")

	_, body := indexFile(t, srv, "de/lt/delta_crate")
	index := map[string]*cargo.IndexEntry{}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		e, err := cargo.ParseIndexLine([]byte(line))
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		index[e.Vers] = e
	}

	// The crate, by another spelling of its name.
	var show struct {
		Crate    apiCrate     `json:"crate"`
		Versions []apiVersion `json:"versions"`
	}
	resp, b := apiGet(t, srv.URL+"/api/v1/crates/delta-crate", "")
	if resp.StatusCode != 200 {
		t.Fatalf("crate: %d %s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &show); err != nil {
		t.Fatalf("crate: %v\n%s", err, b)
	}
	cr := show.Crate
	if cr.Name != "Delta_Crate" || *cr.Description != "Read back through the crates.io API" || *cr.Repository != "https://git.example/delta" ||
		!slices.Equal(cr.Keywords, []string{"delta", "api"}) || cr.NumVersions != 3 || len(cr.Versions) != 3 {
		t.Errorf("crate: %+v", cr)
	}
	if cr.MaxVersion != "0.2.0-rc.1" || cr.NewestVersion != "0.2.0-rc.1" || *cr.MaxStableVersion != "0.1.0" || *cr.DefaultVersion != "0.1.0" {
		t.Errorf("max %s newest %s stable %v default %v", cr.MaxVersion, cr.NewestVersion, *cr.MaxStableVersion, *cr.DefaultVersion)
	}
	if len(show.Versions) != 3 || len(index) != 3 {
		t.Fatalf("%d versions in the API, %d in the index", len(show.Versions), len(index))
	}
	for _, v := range show.Versions {
		line := index[v.Num]
		if line == nil {
			t.Fatalf("%s is not in the index", v.Num)
		}
		if v.Checksum != line.Cksum || v.Yanked != line.Yanked || !reflect.DeepEqual(v.Features, line.Features) ||
			v.RustVersion == nil || *v.RustVersion != *line.RustVersion || v.CreatedAt.UTC().Format(cargo.PubtimeFormat) != line.Pubtime {
			t.Errorf("%s: API %+v, index %s", v.Num, v, body)
		}
		if v.Crate != "Delta_Crate" || *v.License != "MIT OR Apache-2.0" || v.PublishedBy == nil || v.PublishedBy.Login != "alice" {
			t.Errorf("%s: %+v", v.Num, v)
		}
		// dl_path downloads the very file cargo checks against cksum.
		resp, crate := apiGet(t, srv.URL+v.DLPath, "")
		if resp.StatusCode != 200 || int64(len(crate)) != v.CrateSize {
			t.Errorf("%s: dl_path %s: %d, %d bytes, crate_size %d", v.Num, v.DLPath, resp.StatusCode, len(crate), v.CrateSize)
		}
		resp, readme := apiGet(t, srv.URL+v.ReadmePath, "")
		if resp.StatusCode != 200 || string(readme) != deltaReadme {
			t.Errorf("%s: readme %d %q", v.Num, resp.StatusCode, readme)
		}
	}
	if !index["0.1.1"].Yanked {
		t.Errorf("0.1.1 was yanked by cargo: %s", body)
	}

	// beta's dependencies as the index has them: the real crate name for
	// the renamed one, every kind and target.
	_, betaBody := indexFile(t, srv, "be/ta/beta")
	betaLine, err := cargo.ParseIndexLine(bytes.TrimSpace([]byte(betaBody)))
	if err != nil {
		t.Fatal(err)
	}
	var deps struct {
		Dependencies []apiDependency `json:"dependencies"`
	}
	if code := getJSON(t, srv.URL+"/api/v1/crates/beta/0.1.0/dependencies", &deps); code != 200 || len(deps.Dependencies) != len(betaLine.Deps) {
		t.Fatalf("dependencies: %d %+v, index %s", code, deps, betaBody)
	}
	for i, d := range deps.Dependencies {
		want := betaLine.Deps[i]
		name := want.Name
		if want.Package != nil {
			name = *want.Package
		}
		if d.CrateID != name || d.Req != want.Req || d.Kind != want.Kind || d.Optional != want.Optional ||
			d.DefaultFeatures != want.DefaultFeatures || !slices.Equal(d.Features, want.Features) || !reflect.DeepEqual(d.Target, want.Target) {
			t.Errorf("dependency %d: API %+v, index %+v", i, d, want)
		}
	}

	// Unknown crate and version: cargo's error body with a 404.
	for _, path := range []string{"/api/v1/crates/nope", "/api/v1/crates/Delta_Crate/9.0.0", "/api/v1/crates/gamma/0.1.0/readme"} {
		resp, b := apiGet(t, srv.URL+path, "")
		if resp.StatusCode != 404 || !strings.HasPrefix(string(b), `{"errors":[{"detail":"`) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}
}

// TestReadAPIPrivate: on a private registry the read API wants a token, as
// the index does.
func TestReadAPIPrivate(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.AuthRequired = true })
	token := srv.AddUser("alice")
	c := testenv.NewCargo(t, srv.IndexURL(), "\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n")
	c.Env = []string{"CARGO_REGISTRIES_CRATED_TOKEN=" + token}
	publish(t, c, testenv.Package(t, alphaToml, nil), token, "--no-verify")

	for _, path := range []string{"/api/v1/crates/alpha", "/api/v1/crates/alpha/versions", "/api/v1/crates/alpha/0.1.0"} {
		resp, b := apiGet(t, srv.URL+path, "")
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Cargo login_url="`+srv.URL+`/me"` || strings.Contains(string(b), "alpha") {
			t.Errorf("anonymous GET %s: %d %q %s", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), b)
		}
		if resp, b := apiGet(t, srv.URL+path, token); resp.StatusCode != 200 || !strings.Contains(string(b), `"num":"0.1.0"`) && !strings.Contains(string(b), `"max_version":"0.1.0"`) {
			t.Errorf("GET %s with a token: %d %s", path, resp.StatusCode, b)
		}
	}
}
