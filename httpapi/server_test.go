package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/index/sparse"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/registry"
	"github.com/crated/crated/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden files")

type env struct {
	*httptest.Server
	svc       *registry.Service
	store     *sqlite.Store
	blobs     *fs.Store
	ready     error
	blobReady error
}

func newEnv(t *testing.T, cfg httpapi.Config, rcfg registry.Config) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fs.New(filepath.Join(dir, "crates"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: st, blobs: blobs}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://registry.test"
	}
	rcfg.IndexURLs = []string{"sparse+" + cfg.BaseURL + "/index/"}
	e.svc = registry.New(st, blobs, rcfg)
	ix := sparse.New(st, 0)
	e.svc.OnChange(ix.Invalidate)
	if cfg.Checks == nil {
		cfg.Checks = []httpapi.ReadyCheck{
			{Name: "metadata_store", Check: func(ctx context.Context) error { return e.ready }},
			{Name: "blob_store", Check: func(ctx context.Context) error { return e.blobReady }, Degrades: true},
		}
	}
	e.Server = httptest.NewServer(httpapi.New(e.svc, ix, blobs, cfg, nil).Handler())
	t.Cleanup(e.Close)
	return e
}

func (e *env) do(t *testing.T, method, path, token string, body []byte, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, r *http.Response) []byte {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\ngot  %s\nwant %s", name, got, want)
	}
}

func TestConfigJSON(t *testing.T) {
	e := newEnv(t, httpapi.Config{}, registry.Config{})
	resp := e.do(t, "GET", "/index/config.json", "", nil)
	body := readAll(t, resp)
	golden(t, "config.json", body)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on config.json")
	}
	if r := e.do(t, "GET", "/index/config.json", "", nil, "If-None-Match", etag); r.StatusCode != 304 {
		t.Errorf("If-None-Match: %d, want 304", r.StatusCode)
	}

	priv := newEnv(t, httpapi.Config{AuthRequired: true}, registry.Config{})
	resp = priv.do(t, "GET", "/index/config.json", "", nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Cargo login_url="http://registry.test/me"` {
		t.Fatalf("private config.json without token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	_, token, err := priv.svc.CreateUser(context.Background(), "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	resp = priv.do(t, "GET", "/index/config.json", token, nil)
	golden(t, "config-auth-required.json", readAll(t, resp))
	// A bad token on a read is a 401 so that cargo says "token rejected".
	if r := priv.do(t, "GET", "/index/config.json", "crated_bad", nil); r.StatusCode != 401 {
		t.Errorf("bad token on private read: %d", r.StatusCode)
	}
}

func publishFrame(t *testing.T, e *env, token, name, vers string) []byte {
	t.Helper()
	crate := testenv.Tarball(t, testenv.CrateFiles(name, vers)...)
	resp := e.do(t, "PUT", "/api/v1/crates/new", token, testenv.Frame(testenv.Metadata(name, vers), crate))
	if resp.StatusCode != 200 {
		t.Fatalf("publish %s %s: %d %s", name, vers, resp.StatusCode, readAll(t, resp))
	}
	var out struct {
		Warnings struct {
			InvalidCategories []string `json:"invalid_categories"`
			InvalidBadges     []string `json:"invalid_badges"`
			Other             []string `json:"other"`
		} `json:"warnings"`
	}
	if err := json.Unmarshal(readAll(t, resp), &out); err != nil {
		t.Fatalf("publish response: %v", err)
	}
	return crate
}

func TestIndexAndDownload(t *testing.T) {
	e := newEnv(t, httpapi.Config{DLPath: []string{"dl", "files"}}, registry.Config{})
	_, token, _ := e.svc.CreateUser(context.Background(), "alice", "")
	crate := publishFrame(t, e, token, "My_Crate", "1.0.0+build.5")
	sum := sha256.Sum256(crate)
	cksum := hex.EncodeToString(sum[:])

	resp := e.do(t, "GET", "/index/my/_c/my_crate", "", nil)
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"cksum":"`+cksum+`"`) || !strings.HasSuffix(string(body), "\n") {
		t.Fatalf("index file: %d %s", resp.StatusCode, body)
	}
	etag := resp.Header.Get("ETag")
	if r := e.do(t, "GET", "/index/my/_c/my_crate", "", nil, "If-None-Match", etag); r.StatusCode != 304 {
		t.Errorf("conditional index read: %d, want 304", r.StatusCode)
	}
	if r := e.do(t, "GET", "/index/my/-c/my-crate", "", nil); r.StatusCode != 404 {
		t.Errorf("dash permutation: %d, want 404", r.StatusCode)
	}

	for _, path := range []string{"/api/v1/crates/My_Crate/1.0.0+build.5/download", "/dl/files/My_Crate/1.0.0+build.5/download"} {
		resp := e.do(t, "GET", path, "", nil)
		got := readAll(t, resp)
		if resp.StatusCode != 200 || !bytes.Equal(got, crate) {
			t.Fatalf("%s: %d, %d bytes (want %d)", path, resp.StatusCode, len(got), len(crate))
		}
		if resp.Header.Get("ETag") != `"`+cksum+`"` || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s headers: %v", path, resp.Header)
		}
	}
	if r := e.do(t, "GET", "/api/v1/crates/My_Crate/9.9.9/download", "", nil); r.StatusCode != 404 {
		t.Errorf("unknown version download: %d", r.StatusCode)
	}
	r := e.do(t, "GET", "/api/v1/crates/My_Crate/1.0.0+build.5/download", "", nil, "Range", "bytes=0-9")
	if b := readAll(t, r); r.StatusCode != 206 || !bytes.Equal(b, crate[:10]) {
		t.Errorf("range download: %d", r.StatusCode)
	}

	// Yank changes the index file and its ETag.
	if r := e.do(t, "DELETE", "/api/v1/crates/my_crate/1.0.0+build.5/yank", token, nil); r.StatusCode != 200 || string(readAll(t, r)) != "{\"ok\":true}\n" {
		t.Fatalf("yank: %d", r.StatusCode)
	}
	r = e.do(t, "GET", "/index/my/_c/my_crate", "", nil, "If-None-Match", etag)
	if b := readAll(t, r); r.StatusCode != 200 || !strings.Contains(string(b), `"yanked":true`) {
		t.Errorf("after yank: %d %s", r.StatusCode, b)
	}
}

func TestReadyz(t *testing.T) {
	e := newEnv(t, httpapi.Config{}, registry.Config{})
	if r := e.do(t, "GET", "/readyz", "", nil); r.StatusCode != 200 {
		t.Errorf("readyz: %d", r.StatusCode)
	}
	e.ready = errors.New("database down")
	r := e.do(t, "GET", "/readyz", "", nil)
	if b := readAll(t, r); r.StatusCode != 503 || strings.Contains(string(b), "database down") {
		t.Errorf("readyz when down: %d %s", r.StatusCode, b)
	}
	if r := e.do(t, "GET", "/healthz", "", nil); r.StatusCode != 200 {
		t.Errorf("healthz: %d", r.StatusCode)
	}
	// A failing object store degrades the replica but keeps it in the
	// balancer: index reads do not need it.
	e.ready, e.blobReady = nil, errors.New("bucket slow")
	r = e.do(t, "GET", "/readyz", "", nil)
	if b := readAll(t, r); r.StatusCode != 200 || !strings.Contains(string(b), `"degraded"`) || !strings.Contains(string(b), `"blob_store":"failed"`) {
		t.Errorf("readyz with a failing blob store: %d %s", r.StatusCode, b)
	}
}

// A check that hangs, ignoring its context, does not hang /readyz: each
// check has a deadline, and a required one that misses it answers 503.
func TestReadyzBoundsEachCheck(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	wait := func(context.Context) error { <-hang; return nil }
	e := newEnv(t, httpapi.Config{Checks: []httpapi.ReadyCheck{
		{Name: "metadata_store", Check: func(context.Context) error { return nil }},
		{Name: "blob_store", Check: wait, Degrades: true},
	}}, registry.Config{})
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Get(e.URL + "/readyz")
	if err != nil {
		t.Fatalf("readyz with a hanging blob store check did not answer: %v", err)
	}
	b := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"blob_store":"failed"`) {
		t.Errorf("readyz with a hanging blob store: %d %s", resp.StatusCode, b)
	}

	e = newEnv(t, httpapi.Config{Checks: []httpapi.ReadyCheck{{Name: "metadata_store", Check: wait}}}, registry.Config{})
	resp, err = client.Get(e.URL + "/readyz")
	if err != nil {
		t.Fatalf("readyz with a hanging store check did not answer: %v", err)
	}
	if b := readAll(t, resp); resp.StatusCode != 503 || !strings.Contains(string(b), "metadata_store") {
		t.Errorf("readyz with a hanging store: %d %s", resp.StatusCode, b)
	}
}

func TestStatusTable(t *testing.T) {
	for code, want := range map[string]int{
		crated.EINVALID: 400, crated.EUNAUTHORIZED: 401, crated.EFORBIDDEN: 403, crated.ENOTFOUND: 404,
		crated.ECONFLICT: 409, crated.ETOOLARGE: 413, crated.ERATELIMIT: 429, crated.EINTERNAL: 500,
		crated.EUNAVAILABLE: 503,
	} {
		if got := httpapi.Status(crated.Errorf(code, "x")); got != want {
			t.Errorf("%s: %d, want %d", code, got, want)
		}
	}
	if got := httpapi.Status(errors.New("driver exploded")); got != 500 {
		t.Errorf("plain error: %d", got)
	}
}

func TestKtraPasswordAPI(t *testing.T) {
	e := newEnv(t, httpapi.Config{PasswordLogin: true}, registry.Config{PasswordLogin: true, OpenRegistration: true, LoginPrefix: "ktra-secure-auth:"})
	tokenOf := func(r *http.Response) string {
		t.Helper()
		var out struct{ Token string }
		b := readAll(t, r)
		if r.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.Token == "" {
			t.Fatalf("want a token: %d %s", r.StatusCode, b)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("token response is cacheable")
		}
		return out.Token
	}
	t1 := tokenOf(e.do(t, "POST", "/ktra/api/v1/new_user/alice", "", []byte(`{"password":"correct horse"}`)))
	if r := e.do(t, "POST", "/ktra/api/v1/new_user/alice", "", []byte(`{"password":"correct horse"}`)); r.StatusCode != 409 {
		t.Errorf("registering twice: %d", r.StatusCode)
	}
	// Login rotates the token: the first one stops working.
	t2 := tokenOf(e.do(t, "POST", "/ktra/api/v1/login/alice", "", []byte(`{"password":"correct horse"}`)))
	if _, err := e.svc.Authenticate(context.Background(), t1); !crated.IsCode(err, crated.EFORBIDDEN) {
		t.Errorf("old token after login: %v", err)
	}
	u, err := e.svc.Authenticate(context.Background(), "Bearer "+t2)
	if err != nil || u.Login != "ktra-secure-auth:alice" {
		t.Fatalf("new token: %v %+v", err, u)
	}
	// Change password checks the old one.
	if r := e.do(t, "POST", "/ktra/api/v1/change_password/alice", "", []byte(`{"old_password":"wrong one!","new_password":"battery staple"}`)); r.StatusCode != 403 {
		t.Errorf("change with wrong old password: %d", r.StatusCode)
	}
	tokenOf(e.do(t, "POST", "/ktra/api/v1/change_password/alice", "", []byte(`{"old_password":"correct horse","new_password":"battery staple"}`)))
	if r := e.do(t, "POST", "/ktra/api/v1/login/alice", "", []byte(`{"password":"correct horse"}`)); r.StatusCode != 403 {
		t.Errorf("login with the old password: %d", r.StatusCode)
	}
	tokenOf(e.do(t, "POST", "/ktra/api/v1/login/alice", "", []byte(`{"password":"battery staple"}`)))

	// The /me page: a form, then the token after a login.
	r := e.do(t, "GET", "/me", "", nil)
	if b := readAll(t, r); r.StatusCode != 200 || !strings.Contains(string(b), "<form") {
		t.Errorf("/me page: %d", r.StatusCode)
	}
	form := url.Values{"name": {"alice"}, "password": {"battery staple"}}.Encode()
	r = e.do(t, "POST", "/me", "", []byte(form), "Content-Type", "application/x-www-form-urlencoded")
	b := readAll(t, r)
	if r.StatusCode != 200 || !strings.Contains(string(b), "crated_") || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("/me login: %d %s", r.StatusCode, b)
	}
	form = url.Values{"name": {"alice"}, "password": {"nope nope"}}.Encode()
	if r := e.do(t, "POST", "/me", "", []byte(form), "Content-Type", "application/x-www-form-urlencoded"); r.StatusCode != 403 {
		t.Errorf("/me with a wrong password: %d", r.StatusCode)
	}
}

func TestPasswordAPIOff(t *testing.T) {
	e := newEnv(t, httpapi.Config{PasswordLogin: false}, registry.Config{PasswordLogin: false})
	if r := e.do(t, "POST", "/ktra/api/v1/login/alice", "", []byte(`{"password":"x"}`)); r.StatusCode != 404 {
		t.Errorf("password login when off: %d", r.StatusCode)
	}
}

// TestPublishWarnsAboutMissingDependency: a dependency on a crate this
// registry does not hold is accepted, with a warning cargo prints.
func TestPublishWarnsAboutMissingDependency(t *testing.T) {
	e := newEnv(t, httpapi.Config{}, registry.Config{})
	_, token, _ := e.svc.CreateUser(context.Background(), "alice", "")
	files := testenv.CrateFiles("uses", "1.0.0")
	files[0].Body += "\n[dependencies.later]\nversion = \"^1\"\nregistry-index = \"sparse+http://registry.test/index/\"\n"
	meta := testenv.Metadata("uses", "1.0.0", func(m map[string]any) {
		m["deps"] = []any{map[string]any{"name": "later", "version_req": "^1", "features": []string{}, "optional": false, "default_features": true, "target": nil, "kind": "normal"}}
	})
	r := e.do(t, "PUT", "/api/v1/crates/new", token, testenv.Frame(meta, testenv.Tarball(t, files...)))
	b := readAll(t, r)
	if r.StatusCode != 200 || !strings.Contains(string(b), "`later` is not in this registry") {
		t.Fatalf("publish with a missing dependency: %d %s", r.StatusCode, b)
	}
}

// TestSearchPaging checks exact-name-first ranking, per_page capped at 100,
// and page.
// TestSearchPaging needs more matches than the per_page cap (100) to see
// the cap: 3 real publishes for the ranking, and 100 more written straight to
// the store (a publish through HTTP each would be slow for no gain).
func TestSearchPaging(t *testing.T) {
	e := newEnv(t, httpapi.Config{}, registry.Config{})
	alice, token, _ := e.svc.CreateUser(context.Background(), "alice", "")
	for _, name := range []string{"aserde", "serde_json", "serde"} {
		publishFrame(t, e, token, name, "1.0.0")
	}
	const more = 100
	for i := 0; i < more; i++ {
		testenv.StorePublish(t, e.store, alice.ID, fmt.Sprintf("zserde%03d", i), "1.0.0")
	}
	var out struct {
		Crates []struct{ Name string } `json:"crates"`
		Meta   struct{ Total int }     `json:"meta"`
	}
	search := func(q string) {
		t.Helper()
		out.Crates, out.Meta.Total = nil, 0
		r := e.do(t, "GET", "/api/v1/crates?"+q, "", nil)
		if err := json.Unmarshal(readAll(t, r), &out); err != nil || r.StatusCode != 200 {
			t.Fatalf("search %s: %d %v", q, r.StatusCode, err)
		}
	}
	search("q=serde&per_page=1000")
	if out.Meta.Total != 3+more || len(out.Crates) != 100 {
		t.Errorf("per_page=1000 with %d matches: total %d, %d crates; want total %d and the cap, 100", 3+more, out.Meta.Total, len(out.Crates), 3+more)
	}
	if len(out.Crates) < 2 || out.Crates[0].Name != "serde" || out.Crates[1].Name != "serde_json" {
		t.Errorf("ranking: exact match then prefix first, got %+v", out.Crates[:min(3, len(out.Crates))])
	}
	search("q=serde&per_page=1&page=2")
	if out.Meta.Total != 3+more || len(out.Crates) != 1 || out.Crates[0].Name != "serde_json" {
		t.Errorf("page 2: %+v", out)
	}
	// The last page holds what the cap left over.
	search("q=serde&per_page=100&page=2")
	if len(out.Crates) != 3 {
		t.Errorf("page 2 of 100: %d crates, want 3", len(out.Crates))
	}
}
