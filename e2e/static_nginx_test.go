package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/static"
)

// staticNginx is crated publishing its static tree and nginx in front of it,
// configured by what `crated nginx-config` prints.
type staticNginx struct {
	srv *testenv.Crated
	// url is nginx's, the registry's base_url; direct is crated's own
	// listener.
	url, direct, accessLog string
	// tree is server_config.static_dir.
	tree string
}

func startStaticNginx(t *testing.T, edit ...func(*config.Config)) *staticNginx {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	crPort, ngPort := freePort(t), freePort(t)
	sn := &staticNginx{url: fmt.Sprintf("http://127.0.0.1:%d", ngPort), direct: fmt.Sprintf("http://127.0.0.1:%d", crPort),
		accessLog: filepath.Join(dir, "downloads.log")}
	sn.srv, sn.tree = staticServer(t, append([]func(*config.Config){func(c *config.Config) {
		c.Server.Port = crPort
		c.Server.BaseURL = sn.url
	}}, edit...)...)
	opt, err := sn.srv.NginxOptions(fmt.Sprintf("127.0.0.1:%d", ngPort), "", sn.accessLog, "the test")
	if err != nil {
		t.Fatal(err)
	}
	var gen bytes.Buffer
	if err := static.WriteNginx(&gen, opt); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crated.conf"), gen.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		os.Mkdir(filepath.Join(dir, d), 0o777)
	}
	conf := fmt.Sprintf(`events { worker_connections 256; }
http {
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/crated.conf;
}
`, dir)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startNginx(t, bin, dir, file, ngPort)
	return sn
}

// fetch fetches url with optional header pairs.
func fetch(t *testing.T, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	r, _ := http.NewRequest(method, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirects.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// noRedirects returns a redirect as the answer it is: nginx answers a
// directory of the tree with one, where crated's answer is wanted.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// sameAnswer fails unless nginx answers path with the bytes and the
// headers crated sends for it (ETag and Last-Modified aside: nginx has its
// own), then checks that nginx's ETag revalidates to a 304.
func (sn *staticNginx) sameAnswer(t *testing.T, path string, hdr ...string) []byte {
	t.Helper()
	want, wantBody := fetch(t, "GET", sn.direct+path, hdr...)
	got, body := fetch(t, "GET", sn.url+path, hdr...)
	if want.StatusCode != 200 || got.StatusCode != 200 || !bytes.Equal(body, wantBody) {
		t.Errorf("%s: nginx %d %q, crated %d %q", path, got.StatusCode, body, want.StatusCode, wantBody)
		return body
	}
	for _, h := range []string{"Content-Type", "Cache-Control", "Content-Disposition", "Content-Length", "X-Content-Type-Options", "X-Frame-Options"} {
		if got.Header.Get(h) != want.Header.Get(h) {
			t.Errorf("%s: nginx sends %s %q, crated %q", path, h, got.Header.Get(h), want.Header.Get(h))
		}
	}
	etag := got.Header.Get("ETag")
	if etag == "" {
		t.Errorf("%s: nginx sends no ETag", path)
	}
	if again, _ := fetch(t, "GET", sn.url+path, append([]string{"If-None-Match", etag}, hdr...)...); again.StatusCode != 304 {
		t.Errorf("%s: revalidation with nginx's ETag: %d, want 304", path, again.StatusCode)
	}
	return body
}

// TestStaticNginx: nginx configured by `crated nginx-config` serves every
// change at once (the files are written before crated answers), with
// crated's bytes and headers and 304s; cargo builds through it; the
// downloads it served are counted by `crated downloads ingest`, once.
func TestStaticNginx(t *testing.T) {
	sn := startStaticNginx(t)
	alice := sn.srv.AddUser("alice")
	c := testenv.NewCargo(t, "sparse+"+sn.url+"/index/", "")
	publish(t, c, testenv.Package(t, alphaToml, nil), alice)

	idx := "/index/al/ph/alpha"
	sn.sameAnswer(t, "/index/config.json")
	if body := sn.sameAnswer(t, idx); !bytes.Contains(body, []byte(`"vers":"0.1.0"`)) {
		t.Fatalf("index file through nginx after the publish: %s", body)
	}
	sn.sameAnswer(t, "/api/v1/crates/alpha/0.1.0/download")
	// What the tree does not hold, its directories included, is crated's
	// answer, not nginx's 404 page or redirect; so is a file being written.
	if err := os.WriteFile(filepath.Join(sn.tree, "index", "al", "ph", ".static-probe"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/index/al/ph", "/index/al/ph/", "/index/", "/index/al/ph/.static-probe", "/index/zz/zz/zzzz", "/index/3/a",
		"/api/v1/crates/nope/1.0.0/download", "/api/v1/crates/alpha/0.1.0"} {
		want, wantBody := fetch(t, "GET", sn.direct+p)
		got, body := fetch(t, "GET", sn.url+p)
		if got.StatusCode != want.StatusCode || !bytes.Equal(body, wantBody) {
			t.Errorf("%s: nginx %d %q, crated %d %q", p, got.StatusCode, body, want.StatusCode, wantBody)
		}
	}

	for _, step := range []struct {
		method, verb, want string
	}{{"DELETE", "yank", `"yanked":true`}, {"PUT", "unyank", `"yanked":false`}} {
		if st, b, _ := req(t, step.method, sn.url+"/api/v1/crates/alpha/0.1.0/"+step.verb, nil, "Authorization", alice); st != 200 {
			t.Fatalf("%s through nginx: %d %s", step.verb, st, b)
		}
		if _, body := fetch(t, "GET", sn.url+idx); !bytes.Contains(body, []byte(step.want)) {
			t.Errorf("index file through nginx right after the %s: %s", step.verb, body)
		}
		sn.sameAnswer(t, idx)
	}

	// Crated's own counts so far (the comparisons above) are flushed; from
	// here only nginx serves the crate file.
	ctx := context.Background()
	if err := sn.srv.HTTP.FlushDownloads(ctx); err != nil {
		t.Fatal(err)
	}
	downloads := func() int64 {
		cr, err := sn.srv.Store.CrateByName(ctx, "alpha")
		if err != nil {
			t.Fatal(err)
		}
		return cr.Downloads
	}
	before := downloads()

	consumer := testenv.Package(t, alphaConsumerToml, map[string]string{"src/main.rs": alphaConsumerMain})
	if out := c.MustRun(consumer, "run", "-q"); strings.TrimSpace(out) != "alpha=1" {
		t.Errorf("consumer through nginx: %q", out)
	}
	if err := sn.srv.HTTP.FlushDownloads(ctx); err != nil {
		t.Fatal(err)
	}
	if n := downloads(); n != before {
		t.Errorf("crated counted %d downloads during the build: nginx did not serve the crate file", n-before)
	}
	// One more download, a HEAD and a 304: only 200 GETs count.
	fetch(t, "GET", sn.url+"/api/v1/crates/alpha/0.1.0/download")
	resp, _ := fetch(t, "HEAD", sn.url+"/api/v1/crates/alpha/0.1.0/download")
	fetch(t, "GET", sn.url+"/api/v1/crates/alpha/0.1.0/download", "If-None-Match", resp.Header.Get("ETag"))
	fetch(t, "GET", sn.url+"/api/v1/crates/alpha/9.9.9/download") // not there: crated's 404

	// nginx buffers the download log and writes it within a second: the
	// three 200s, the HEAD and the 304 (the 404 was crated's, not logged).
	waitLines(t, sn.accessLog, 5)
	state, err := static.LoadIngestState(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := static.Ingest(ctx, sn.srv.Store, state, sn.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	// The first comparison's GET, the build's and the one above.
	if res.Counted != 3 || downloads() != before+3 {
		t.Errorf("ingest counted %d (store: +%d), want 3: %+v", res.Counted, downloads()-before, res)
	}
	if res, err := static.Ingest(ctx, sn.srv.Store, state, sn.accessLog); err != nil || res.Counted != 0 || downloads() != before+3 {
		t.Errorf("second ingest of the same log: %+v %v, store +%d, want nothing new", res, err, downloads()-before)
	}
}

// TestStaticNginxPrivate: on an auth_required registry nginx refuses
// anonymous and wrong-token reads of the static files with crated's 401
// and login challenge, and serves a token holder, cargo included.
func TestStaticNginxPrivate(t *testing.T) {
	sn := startStaticNginx(t, func(c *config.Config) { c.Server.AuthRequired = true })
	token := sn.srv.AddUser("alice")
	providers := "\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n"
	c := testenv.NewCargo(t, "sparse+"+sn.url+"/index/", providers)
	c.Env = []string{"CARGO_REGISTRIES_CRATED_TOKEN=" + token}
	publish(t, c, testenv.Package(t, alphaToml, nil), token)
	// The endpoint nginx asks.
	if resp, _ := fetch(t, "GET", sn.direct+"/api/v1/auth", "Authorization", token); resp.StatusCode != 204 {
		t.Errorf("GET /api/v1/auth with a token: %d, want 204", resp.StatusCode)
	}
	if resp, _ := fetch(t, "GET", sn.direct+"/api/v1/auth"); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("GET /api/v1/auth without a token: %d %q, want 401 and the challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	for _, p := range []string{"/index/config.json", "/index/al/ph/alpha", "/api/v1/crates/alpha/0.1.0/download"} {
		for _, tok := range []string{"", "crated_wrong"} {
			var hdr []string
			if tok != "" {
				hdr = []string{"Authorization", tok}
			}
			resp, body := fetch(t, "GET", sn.url+p, hdr...)
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Cargo login_url="`+sn.url+`/me"` ||
				!bytes.Contains(body, []byte(`{"errors":[{"detail":`)) {
				t.Errorf("%s with token %q through nginx: %d %q %s", p, tok, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		}
		sn.sameAnswer(t, p, "Authorization", token)
	}

	consumer := testenv.Package(t, alphaConsumerToml, map[string]string{"src/main.rs": alphaConsumerMain})
	if out := c.MustRun(consumer, "run", "-q"); strings.TrimSpace(out) != "alpha=1" {
		t.Errorf("private consumer through nginx: %q", out)
	}
}

// waitLines waits until the file at path holds n lines, for at most 10 s.
func waitLines(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		have := bytes.Count(b, []byte("\n"))
		if have >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d lines after 10 s, want %d:\n%s", path, have, n, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
