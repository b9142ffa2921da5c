package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// mirrorOf returns a configuration edit that makes a crated the mirror of
// upstream's sparse index.
func mirrorOf(upstream *testenv.Crated, edit ...func(*config.MirrorConfig)) func(*config.Config) {
	return func(cfg *config.Config) {
		cfg.Mirror = &config.MirrorConfig{
			UpstreamIndex:       "sparse+" + upstream.URL + "/index/",
			IndexTTL:            60 * time.Second,
			ServeStaleOnError:   true,
			UpstreamTimeout:     5 * time.Second,
			UpstreamConcurrency: 4,
		}
		cfg.CrateFiles.CacheDirPath = filepath.Join(filepath.Dir(cfg.DB.DBDirPath), "cache")
		for _, e := range edit {
			e(cfg.Mirror)
		}
	}
}

// replacingCargo returns cargo whose crates-io is replaced by the sparse
// index at indexURL, as docs/mirror.md tells users to configure it.
func replacingCargo(t *testing.T, indexURL string) *testenv.Cargo {
	return testenv.NewCargo(t, indexURL, `
[source.crates-io]
replace-with = "crated"
`)
}

// consumerOf is a binary crate depending on the given crates from
// "crates.io" (that is, with no registry key).
func consumerOf(t *testing.T, deps map[string]string, main string) string {
	var b strings.Builder
	b.WriteString("[package]\nname = \"consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n")
	for name, req := range deps {
		b.WriteString(name + " = \"" + req + "\"\n")
	}
	return testenv.Package(t, b.String(), map[string]string{"src/main.rs": main})
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestMirrorCargo: stock cargo with crates-io replaced by /mirror/index/
// builds a consumer from crates held by another crated; Ktra's mirror route
// serves the same bytes; with the upstream stopped a fresh CARGO_HOME still
// builds from the cache (the index files are expired: served stale).
func TestMirrorCargo(t *testing.T) {
	up := testenv.StartCrated(t)
	token := up.AddUser("upstream")
	mustPublish(t, up, token, "leftpad", "1.0.0")
	mustPublish(t, up, token, "leftpad", "1.2.0")
	srv := testenv.StartCrated(t, mirrorOf(up, func(m *config.MirrorConfig) {
		m.IndexTTL = 0 // revalidate every time: stale serving is what keeps the build alive
	}))

	consumer := consumerOf(t, map[string]string{"leftpad": "1"}, "fn main() { leftpad::f(); println!(\"ok\"); }\n")
	c := replacingCargo(t, "sparse+"+srv.URL+"/mirror/index/")
	out := c.MustRun(consumer, "run")
	if !strings.Contains(out, "ok") {
		t.Fatalf("consumer output: %s", out)
	}
	lock, err := os.ReadFile(filepath.Join(consumer, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lock), "name = \"leftpad\"\nversion = \"1.2.0\"") {
		t.Fatalf("Cargo.lock does not pin leftpad 1.2.0 from the mirror:\n%s", lock)
	}

	// The mirrored index file is the upstream's, byte for byte.
	_, upFile := get(t, up.URL+"/index/le/ft/leftpad")
	code, mirFile := get(t, srv.URL+"/mirror/index/le/ft/leftpad")
	if code != 200 || !bytes.Equal(upFile, mirFile) {
		t.Fatalf("mirror index file = %d %q, want the upstream's %q", code, mirFile, upFile)
	}
	// Ktra's route and the mirror route serve the upstream's bytes.
	_, upCrate := get(t, up.URL+"/api/v1/crates/leftpad/1.2.0/download")
	for _, path := range []string{"/mirror/dl/leftpad/1.2.0/download", "/ktra/api/v1/mirror/leftpad/1.2.0/download"} {
		code, b := get(t, srv.URL+path)
		if code != 200 || !bytes.Equal(b, upCrate) {
			t.Errorf("GET %s: %d, %d bytes; want the upstream's %d bytes", path, code, len(b), len(upCrate))
		}
	}

	up.Stop()
	fresh := replacingCargo(t, "sparse+"+srv.URL+"/mirror/index/")
	out = fresh.MustRun(consumer, "run")
	if !strings.Contains(out, "ok") {
		t.Fatalf("consumer output with the upstream down: %s", out)
	}
	// Without the lockfile cargo resolves again, from stale index files.
	os.Remove(filepath.Join(consumer, "Cargo.lock"))
	fresh2 := replacingCargo(t, "sparse+"+srv.URL+"/mirror/index/")
	fresh2.MustRun(consumer, "build")
	// Something never fetched is an upstream failure, not a 404.
	if code, body := get(t, srv.URL+"/mirror/index/ne/ve/never"); code != 502 {
		t.Errorf("uncached file with the upstream down: %d %s, want 502", code, body)
	}
}

// TestMirrorCombined: /all/index/ serves private and mirrored crates as one
// crates-io replacement; a private name shadows the upstream's entry, even
// when the upstream entry was cached first; cargo publish still works.
func TestMirrorCombined(t *testing.T) {
	up := testenv.StartCrated(t)
	upToken := up.AddUser("upstream")
	mustPublish(t, up, upToken, "leftpad", "1.0.0")
	mustPublish(t, up, upToken, "dupe", "1.0.0")
	mustPublish(t, up, upToken, "dupe", "2.0.0")
	mustPublish(t, up, upToken, "foo_bar", "1.0.0")
	srv := testenv.StartCrated(t, mirrorOf(up))
	alice := srv.AddUser("alice")

	// Before any private crate exists, /all/ shows the upstream's dupe.
	code, body := get(t, srv.URL+"/all/index/du/pe/dupe")
	if code != 200 || !strings.Contains(string(body), `"vers":"2.0.0"`) {
		t.Fatalf("/all/ dupe before the private publish: %d %s", code, body)
	}

	// A private crate published with cargo through the combined source:
	// crates-io is replaced, so cargo needs --registry.
	c := replacingCargo(t, "sparse+"+srv.URL+"/all/index/")
	privlib := testenv.Package(t, `[package]
name = "privlib"
version = "0.1.0"
edition = "2021"
description = "private"
license = "MIT"

[dependencies]
leftpad = "1"
`, map[string]string{"src/lib.rs": "pub fn p() -> u32 { leftpad::f(); 7 }\n"})
	c.MustRun(privlib, "publish", "--registry", "crated", "--token", alice, "--allow-dirty")
	// Private names that the upstream also has.
	mustPublish(t, srv, alice, "dupe", "0.5.0")
	mustPublish(t, srv, alice, "foo-bar", "0.1.0")

	code, body = get(t, srv.URL+"/all/index/du/pe/dupe")
	if code != 200 || !strings.Contains(string(body), `"vers":"0.5.0"`) || strings.Contains(string(body), `"vers":"1.0.0"`) || strings.Contains(string(body), `"vers":"2.0.0"`) {
		t.Fatalf("/all/ dupe after the private publish: %d %s; want the private 0.5.0 only", code, body)
	}
	if code, body := get(t, srv.URL+"/all/dl/dupe/2.0.0/download"); code != 404 {
		t.Errorf("/all/ download of the upstream's dupe 2.0.0: %d %s, want 404", code, body)
	}
	// Another spelling of a private name: never the upstream's file.
	if code, body := get(t, srv.URL+"/all/index/fo/o_/foo_bar"); code != 404 {
		t.Errorf("/all/ foo_bar beside private foo-bar: %d %s, want 404", code, body)
	}
	// The plain mirror is unaffected: it is the upstream.
	if code, _ := get(t, srv.URL+"/mirror/index/fo/o_/foo_bar"); code != 200 {
		t.Errorf("/mirror/ foo_bar: %d, want 200", code)
	}

	consumer := consumerOf(t, map[string]string{"privlib": "0.1", "dupe": "0.5", "leftpad": "1"},
		"fn main() { leftpad::f(); dupe::f(); println!(\"p={}\", privlib::p()); }\n")
	fresh := replacingCargo(t, "sparse+"+srv.URL+"/all/index/")
	out := fresh.MustRun(consumer, "run")
	if !strings.Contains(out, "p=7") {
		t.Fatalf("consumer output: %s", out)
	}
	// cargo asked for dupe 1.x would find nothing: the private crate wins.
	bad := consumerOf(t, map[string]string{"dupe": "2"}, "fn main() {}\n")
	out = fresh.MustFail(bad, "build")
	if !strings.Contains(out, "dupe") {
		t.Errorf("resolving dupe 2 through /all/: %s", out)
	}
}

// TestMirrorRefusals: deny answers 404 for index and download; min_age hides
// versions published just now (crated records pubtime on publish).
func TestMirrorRefusals(t *testing.T) {
	up := testenv.StartCrated(t)
	token := up.AddUser("upstream")
	mustPublish(t, up, token, "evil-thing", "1.0.0")
	mustPublish(t, up, token, "fresh", "1.0.0")

	srv := testenv.StartCrated(t, mirrorOf(up, func(m *config.MirrorConfig) {
		m.Deny = []string{"evil_*"}
		m.MinAge = time.Hour
	}))
	for _, path := range []string{"/mirror/index/ev/il/evil-thing", "/mirror/dl/evil-thing/1.0.0/download", "/all/index/ev/il/evil-thing"} {
		if code, body := get(t, srv.URL+path); code != 404 {
			t.Errorf("GET %s: %d %s, want 404 (denied)", path, code, body)
		}
	}
	// fresh 1.0.0 is younger than min_age: its file exists but is empty.
	code, body := get(t, srv.URL+"/mirror/index/fr/es/fresh")
	if code != 200 || len(body) != 0 {
		t.Errorf("fresh under min_age: %d %q, want 200 and no lines", code, body)
	}
	if code, body := get(t, srv.URL+"/mirror/dl/fresh/1.0.0/download"); code != 404 {
		t.Errorf("download of a version under min_age: %d %s, want 404", code, body)
	}
	// The same upstream without min_age shows it: the filter did the hiding.
	open := testenv.StartCrated(t, mirrorOf(up))
	if code, body := get(t, open.URL+"/mirror/index/fr/es/fresh"); code != 200 || !strings.Contains(string(body), `"vers":"1.0.0"`) {
		t.Errorf("fresh without min_age: %d %q", code, body)
	}
}
