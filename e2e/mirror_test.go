package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	out := c.MustFail(privlib, "publish", "--token", alice, "--allow-dirty")
	if !strings.Contains(out, "--registry") {
		t.Errorf("cargo publish with crates-io replaced and no --registry: %s", out)
	}
	c.MustRun(privlib, "publish", "--registry", "crated", "--token", alice, "--allow-dirty")
	// Or once for all: registry.default, as docs/mirror.md suggests.
	withDefault := testenv.NewCargo(t, "sparse+"+srv.URL+"/all/index/", `
[source.crates-io]
replace-with = "crated"

[registry]
default = "crated"
`)
	privlib2 := testenv.Package(t, `[package]
name = "privlib2"
version = "0.1.0"
edition = "2021"
description = "private"
license = "MIT"
`, nil)
	withDefault.MustRun(privlib2, "publish", "--token", alice, "--allow-dirty")
	// privlib's index line names crates.io for leftpad, as cargo sent it:
	// consumers resolve it through their replacement of crates.io.
	if code, body := get(t, srv.URL+"/all/index/pr/iv/privlib"); code != 200 || !strings.Contains(string(body), `"registry":"https://github.com/rust-lang/crates.io-index"`) {
		t.Errorf("privlib index line: %d %s", code, body)
	}
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
	out = fresh.MustRun(consumer, "run")
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

func getWith(t *testing.T, url string, hdr map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestMirrorHTTP: config.json of both indexes, ETag/304, auth_required on
// every mirror route, and a tampered upstream .crate answered 502 and not
// cached.
func TestMirrorHTTP(t *testing.T) {
	genuine := testenv.Tarball(t, testenv.CrateFiles("tamper", "1.0.0")...)
	sum := sha256.Sum256(genuine)
	var served atomic.Value
	served.Store([]byte("not the genuine file"))
	var crateHits atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index/config.json":
			fmt.Fprintf(w, `{"dl":"http://%s/crates"}`, r.Host) // no markers: cargo's suffix rule
		case "/index/ta/mp/tamper":
			fmt.Fprintf(w, `{"name":"tamper","vers":"1.0.0","deps":[],"cksum":"%x","features":{}}`+"\n", sum)
		case "/crates/tamper/1.0.0/download":
			crateHits.Add(1)
			w.Write(served.Load().([]byte))
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()

	srv := testenv.StartCrated(t, func(cfg *config.Config) {
		cfg.Server.AuthRequired = true
		cfg.Server.MetricsToken = "metrics-secret"
		cfg.Mirror = &config.MirrorConfig{UpstreamIndex: upstream.URL + "/index/", IndexTTL: time.Minute,
			ServeStaleOnError: true, UpstreamTimeout: 5 * time.Second, UpstreamConcurrency: 2}
		cfg.CrateFiles.CacheDirPath = filepath.Join(filepath.Dir(cfg.DB.DBDirPath), "cache")
	})
	token := srv.AddUser("reader")
	auth := map[string]string{"Authorization": token}

	for _, path := range []string{"/mirror/index/config.json", "/mirror/index/ta/mp/tamper",
		"/mirror/dl/tamper/1.0.0/download", "/ktra/api/v1/mirror/tamper/1.0.0/download",
		"/all/index/config.json", "/all/index/ta/mp/tamper", "/all/dl/tamper/1.0.0/download"} {
		if code, _, h := getWith(t, srv.URL+path, nil); code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "Cargo") {
			t.Errorf("GET %s without a token: %d, want 401 with a Cargo challenge", path, code)
		}
	}

	var cfgs [2]struct {
		DL           string `json:"dl"`
		API          string `json:"api"`
		AuthRequired bool   `json:"auth-required"`
	}
	for i, path := range []string{"/mirror/index/config.json", "/all/index/config.json"} {
		code, body, _ := getWith(t, srv.URL+path, auth)
		if code != 200 || json.Unmarshal(body, &cfgs[i]) != nil {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
	}
	if cfgs[0].DL != srv.URL+"/mirror/dl/{crate}/{version}/download" || cfgs[0].API != "" || !cfgs[0].AuthRequired {
		t.Errorf("/mirror/ config.json = %+v", cfgs[0])
	}
	if cfgs[1].DL != srv.URL+"/all/dl/{crate}/{version}/download" || cfgs[1].API != srv.URL || !cfgs[1].AuthRequired {
		t.Errorf("/all/ config.json = %+v", cfgs[1])
	}

	code, _, h := getWith(t, srv.URL+"/mirror/index/ta/mp/tamper", auth)
	etag := h.Get("ETag")
	if code != 200 || etag == "" {
		t.Fatalf("index file: %d, ETag %q", code, etag)
	}
	if code, _, _ := getWith(t, srv.URL+"/mirror/index/ta/mp/tamper", map[string]string{"Authorization": token, "If-None-Match": etag}); code != 304 {
		t.Errorf("revalidation with the ETag: %d, want 304", code)
	}

	// The tampered file: 502 every time (nothing cached), then the genuine
	// one once the upstream is fixed.
	for range 2 {
		if code, body, _ := getWith(t, srv.URL+"/mirror/dl/tamper/1.0.0/download", auth); code != 502 {
			t.Fatalf("tampered download: %d %s, want 502", code, body)
		}
	}
	if n := crateHits.Load(); n != 2 {
		t.Errorf("upstream downloads after two refusals: %d, want 2 (nothing cached)", n)
	}
	served.Store(genuine)
	for _, path := range []string{"/mirror/dl/tamper/1.0.0/download", "/all/dl/tamper/1.0.0/download", "/ktra/api/v1/mirror/tamper/1.0.0/download"} {
		code, body, h := getWith(t, srv.URL+path, auth)
		if code != 200 || !bytes.Equal(body, genuine) || h.Get("ETag") != fmt.Sprintf(`"%x"`, sum) {
			t.Errorf("GET %s: %d, %d bytes, ETag %s", path, code, len(body), h.Get("ETag"))
		}
	}
	if n := crateHits.Load(); n != 3 {
		t.Errorf("upstream downloads: %d, want 3 (the genuine file fetched once)", n)
	}
	// Metrics name the outcome (a private registry's /metrics needs the
	// metrics token).
	_, metrics, _ := getWith(t, srv.URL+"/metrics", map[string]string{"Authorization": "Bearer metrics-secret"})
	if !strings.Contains(string(metrics), `crated_mirror_upstream_requests_total{kind="crate",outcome="checksum_mismatch"} 2`) {
		t.Errorf("metrics lack the checksum mismatches:\n%s", grepLines(string(metrics), "crated_mirror"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMirrorUpstreamLimits: upstream_timeout ends a request to an upstream
// that does not answer (502 with nothing cached), and upstream_concurrency
// caps the requests in flight to it.
func TestMirrorUpstreamLimits(t *testing.T) {
	release := make(chan struct{})
	var inflight, maxInflight, total atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		total.Add(1)
		n := inflight.Add(1)
		for {
			m := maxInflight.Load()
			if n <= m || maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		if strings.Contains(r.URL.Path, "slow") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			inflight.Add(-1)
			return
		}
		// Leave the count before answering: once crated has the answer
		// and frees its slot, this request no longer counts, so the
		// maximum cannot include a request that is only finishing.
		time.Sleep(50 * time.Millisecond)
		inflight.Add(-1)
		http.NotFound(w, r)
	}))
	defer upstream.Close()
	defer close(release)

	srv := testenv.StartCrated(t, func(cfg *config.Config) {
		cfg.Mirror = &config.MirrorConfig{UpstreamIndex: upstream.URL + "/index/", IndexTTL: time.Minute,
			ServeStaleOnError: true, UpstreamTimeout: 300 * time.Millisecond, UpstreamConcurrency: 2}
		cfg.CrateFiles.CacheDirPath = filepath.Join(filepath.Dir(cfg.DB.DBDirPath), "cache")
	})
	// Nothing cached and no answer: the timeout turns the wait into a 502.
	if code, body := get(t, srv.URL+"/mirror/index/sl/ow/slow"); code != 502 {
		t.Fatalf("upstream that never answers: %d %s, want 502", code, body)
	}
	if n := total.Load(); n != 1 {
		t.Fatalf("upstream requests for one timed-out file: %d, want 1 (a timeout is not retried)", n)
	}

	// The timed-out request ends at the upstream once crated has hung up.
	for i := 0; inflight.Load() != 0; i++ {
		if i == 500 {
			t.Fatal("the timed-out upstream request never ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	maxInflight.Store(0)

	// Six different files at once: never more than two upstream requests
	// in flight.
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			http.Get(fmt.Sprintf("%s/mirror/index/na/me/name%d", srv.URL, i))
		}()
	}
	wg.Wait()
	if n := maxInflight.Load(); n != 2 {
		t.Errorf("most upstream requests in flight: %d, want upstream_concurrency = 2", n)
	}
}
