package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// req sends one request with headers (pairs) and returns status, body and
// headers.
func req(t *testing.T, method, url string, body []byte, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	r, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{
		Timeout: time.Minute,
		// Redirects are answers too (the OpenID login start).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func publishAPI(t *testing.T, srv *testenv.Crated, token, name, vers string, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	frame := testenv.Frame(testenv.Metadata(name, vers), testenv.Tarball(t, testenv.CrateFiles(name, vers)...))
	return req(t, "PUT", srv.URL+"/api/v1/crates/new", frame, append([]string{"Authorization", token}, hdr...)...)
}

// On a private registry no answer may be stored by a shared cache: a proxy
// in front once served a private crate to anonymous clients because
// downloads said "public".
func TestPrivateRegistryAnswersArePrivate(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.AuthRequired = true })
	token := srv.AddUser("alice")
	if st, b, _ := publishAPI(t, srv, token, "secret_sauce", "1.0.0"); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	for _, p := range []string{
		"/api/v1/crates/secret_sauce/1.0.0/download",
		"/dl/secret_sauce/1.0.0/download",
		"/index/config.json",
		"/index/se/cr/secret_sauce",
		"/api/v1/crates?q=secret",
		"/api/v1/crates/secret_sauce/owners",
		"/",
		"/crates/secret_sauce",
		"/me",
	} {
		// The UI answers crate pages with a notice (browsers carry no
		// token); its status does not matter here, its caching does.
		st, _, h := req(t, "GET", srv.URL+p, nil, "Authorization", token)
		cc := h.Get("Cache-Control")
		if !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") || strings.Contains(cc, "public") {
			t.Errorf("GET %s: %d, Cache-Control %q; want private", p, st, cc)
		}
	}
	// The answer without a token is not cacheable either.
	if _, _, h := req(t, "GET", srv.URL+"/index/config.json", nil); !strings.Contains(h.Get("Cache-Control"), "private") {
		t.Errorf("401: Cache-Control %q", h.Get("Cache-Control"))
	}

	// A public registry keeps its downloads publicly cacheable.
	pub := testenv.StartCrated(t)
	ptoken := pub.AddUser("alice")
	if st, b, _ := publishAPI(t, pub, ptoken, "open_sauce", "1.0.0"); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	if _, _, h := req(t, "GET", pub.URL+"/api/v1/crates/open_sauce/1.0.0/download", nil); h.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("public download: Cache-Control %q", h.Get("Cache-Control"))
	}
}

func TestMetricsAccess(t *testing.T) {
	get := func(t *testing.T, url string, hdr ...string) (int, string) {
		t.Helper()
		st, b, _ := req(t, "GET", url, nil, hdr...)
		return st, string(b)
	}
	const series = "crated_http_requests_total"

	t.Run("public registry: open", func(t *testing.T) {
		srv := testenv.StartCrated(t)
		get(t, srv.URL+"/index/config.json") // a request to count
		if st, b := get(t, srv.URL+"/metrics"); st != 200 || !strings.Contains(b, series) {
			t.Errorf("/metrics: %d", st)
		}
	})
	t.Run("private registry, nothing set: not served", func(t *testing.T) {
		srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.AuthRequired = true })
		token := srv.AddUser("alice")
		for _, hdr := range [][]string{nil, {"Authorization", token}} {
			if st, b := get(t, srv.URL+"/metrics", hdr...); st != 403 || strings.Contains(b, series) || !strings.Contains(b, "metrics_token") {
				t.Errorf("/metrics with %v: %d %.200s", hdr, st, b)
			}
		}
	})
	t.Run("metrics_token", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "token")
		writeFile(t, file, "scrape-me-please\n")
		cfg := loadConfig(t, fmt.Sprintf("[server_config]\nauth_required = true\nmetrics_token_file = %q\n", file))
		srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.AuthRequired, c.Server.MetricsToken = true, cfg.Server.MetricsToken })
		get(t, srv.URL+"/index/config.json")
		if st, _ := get(t, srv.URL+"/metrics"); st != 401 {
			t.Errorf("no token: %d", st)
		}
		if st, _ := get(t, srv.URL+"/metrics", "Authorization", "Bearer wrong"); st != 403 {
			t.Errorf("wrong token: %d", st)
		}
		if st, b := get(t, srv.URL+"/metrics", "Authorization", "Bearer scrape-me-please"); st != 200 || !strings.Contains(b, series) {
			t.Errorf("right token: %d", st)
		}
	})
	t.Run("metrics_address", func(t *testing.T) {
		srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.MetricsAddress = "127.0.0.1:0" })
		get(t, srv.URL+"/index/config.json")
		if st, b := get(t, srv.URL+"/metrics"); st != 404 || strings.Contains(b, series) {
			t.Errorf("/metrics on the main listener: %d", st)
		}
		if st, b := get(t, srv.MetricsURL()); st != 200 || !strings.Contains(b, series) {
			t.Errorf("/metrics on metrics_address: %d", st)
		}
		if st, _ := get(t, strings.TrimSuffix(srv.MetricsURL(), "/metrics")+"/index/config.json"); st != 404 {
			t.Errorf("index on metrics_address: %d", st)
		}
	})
}

// A cross-site POST of the /me password form would log the victim's
// browser in as the attacker and show the attacker's token.
func TestCrossSiteFormRefused(t *testing.T) {
	srv := testenv.StartCrated(t)
	if _, _, err := srv.Service.CreateUser(context.Background(), "pat", "pat-password"); err != nil {
		t.Fatal(err)
	}
	form := []byte(url.Values{"name": {"pat"}, "password": {"pat-password"}}.Encode())
	ctype := []string{"Content-Type", "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		name string
		hdr  []string
		ok   bool
	}{
		{"cross-site fetch metadata", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, false},
		{"same-site other origin", []string{"Sec-Fetch-Site", "same-site"}, false},
		{"foreign Origin, old browser", []string{"Origin", "https://evil.example"}, false},
		{"same-origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", srv.URL}, true},
		{"Origin of the registry, old browser", []string{"Origin", srv.URL}, true},
		{"no browser headers (curl, scripts)", nil, true},
	} {
		st, b, _ := req(t, "POST", srv.URL+"/me", form, append(ctype, tc.hdr...)...)
		gotToken := strings.Contains(string(b), "Your new token")
		if tc.ok && (st != 200 || !gotToken) {
			t.Errorf("%s: %d %.300s", tc.name, st, b)
		}
		if !tc.ok && (st != 403 || gotToken || !strings.Contains(string(b), "cross-site request refused")) {
			t.Errorf("%s: %d %.300s; want 403 and no token", tc.name, st, b)
		}
	}
}

// retryAfter checks a 429 with cargo's error body and a Retry-After of at
// least a second.
func retryAfter(t *testing.T, what string, st int, b []byte, h http.Header) {
	t.Helper()
	if st != 429 || !strings.Contains(string(b), `"errors"`) {
		t.Errorf("%s: %d %s; want 429", what, st, b)
		return
	}
	if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("%s: Retry-After %q", what, h.Get("Retry-After"))
	}
}

func TestRateLimits(t *testing.T) {
	login := func(t *testing.T, srv *testenv.Crated, hdr ...string) (int, []byte, http.Header) {
		return req(t, "POST", srv.URL+"/ktra/api/v1/login/pat", []byte(`{"password":"wrong"}`), hdr...)
	}
	t.Run("logins per address, behind a trusted proxy", func(t *testing.T) {
		srv := testenv.StartCrated(t, func(c *config.Config) {
			c.Server.LoginRateLimit = 3
			c.Server.TrustedProxies = []string{"127.0.0.1"}
		})
		from := func(a string) []string { return []string{"X-Forwarded-For", "192.0.2.99, " + a} }
		for i := 0; i < 3; i++ {
			if st, b, _ := login(t, srv, from("203.0.113.7")...); st == 429 {
				t.Fatalf("attempt %d: %d %s", i+1, st, b)
			}
		}
		st, b, h := login(t, srv, from("203.0.113.7")...)
		retryAfter(t, "4th login", st, b, h)
		// The other paths that check a password share the budget.
		st, b, h = req(t, "POST", srv.URL+"/me", []byte("name=pat&password=x"), append(from("203.0.113.7"), "Content-Type", "application/x-www-form-urlencoded")...)
		retryAfter(t, "/me form", st, b, h)
		// Another client behind the same proxy has its own.
		if st, b, _ := login(t, srv, from("203.0.113.8")...); st == 429 {
			t.Errorf("other client: %d %s", st, b)
		}
	})
	t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.LoginRateLimit = 3 })
		for i := 0; i < 3; i++ {
			login(t, srv, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		}
		st, b, h := login(t, srv, "X-Forwarded-For", "203.0.113.200")
		retryAfter(t, "spoofed X-Forwarded-For", st, b, h)
	})
	t.Run("publishes per address and per user", func(t *testing.T) {
		srv := testenv.StartCrated(t, func(c *config.Config) {
			c.Server.PublishRateLimit = 2
			c.Server.TrustedProxies = []string{"127.0.0.0/8"}
		})
		alice, bob := srv.AddUser("alice"), srv.AddUser("bob")
		a1 := []string{"X-Forwarded-For", "198.51.100.1"}
		a2 := []string{"X-Forwarded-For", "198.51.100.2"}
		a3 := []string{"X-Forwarded-For", "198.51.100.3"}
		for _, v := range []string{"1.0.0", "1.0.1"} {
			if st, b, _ := publishAPI(t, srv, alice, "busy", v, a1...); st != 200 {
				t.Fatalf("publish %s: %d %s", v, st, b)
			}
		}
		st, b, h := publishAPI(t, srv, alice, "busy", "1.0.2", a1...)
		retryAfter(t, "3rd publish", st, b, h)
		st, b, h = publishAPI(t, srv, alice, "busy", "1.0.2", a2...)
		retryAfter(t, "alice from another address", st, b, h)
		st, b, h = publishAPI(t, srv, bob, "bobs", "1.0.0", a1...)
		retryAfter(t, "bob from alice's address", st, b, h)
		if st, b, _ := publishAPI(t, srv, bob, "bobs", "1.0.0", a3...); st != 200 {
			t.Errorf("bob from a fresh address: %d %s", st, b)
		}
	})
	t.Run("OpenID login starts", func(t *testing.T) {
		issuer := testenv.ServeDiscovery(t, true)
		oc := testenv.LoadOpenID(t, fmt.Sprintf("[openid_config]\nissuer_url = %q\nredirect_url = \"http://crates.example.com\"\nclient_id = \"crated\"\nclient_secret = \"x\"\n", issuer))
		srv := testenv.StartCrated(t, func(c *config.Config) {
			c.OpenID = oc
			c.Server.TokenRateLimit = 2
		})
		for _, p := range []string{"/me", "/replace_token"} {
			if st, b, _ := req(t, "GET", srv.URL+p, nil); st != http.StatusFound && st != http.StatusSeeOther {
				t.Fatalf("GET %s: %d %s", p, st, b)
			}
		}
		st, b, h := req(t, "GET", srv.URL+"/me", nil)
		retryAfter(t, "3rd login start", st, b, h)
	})
	t.Run("defaults let a CI publish a 100-crate workspace", func(t *testing.T) {
		srv := testenv.StartCrated(t)
		token := srv.AddUser("ci")
		for i := 0; i < 100; i++ {
			if st, b, _ := publishAPI(t, srv, token, fmt.Sprintf("member_%d", i), "0.1.0"); st != 200 {
				t.Fatalf("publish %d: %d %s", i, st, b)
			}
		}
	})
}

// max_metadata_size reaches the publish frame reader.
func TestMaxMetadataSize(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.MaxMetadataSize = 2 << 10 })
	token := srv.AddUser("alice")
	if st, b, _ := publishAPI(t, srv, token, "small", "1.0.0"); st != 200 {
		t.Fatalf("small metadata: %d %s", st, b)
	}
	meta := testenv.Metadata("wordy", "1.0.0", func(m map[string]any) { m["description"] = strings.Repeat("words ", 1000) })
	frame := testenv.Frame(meta, testenv.Tarball(t, testenv.CrateFiles("wordy", "1.0.0")...))
	st, b, _ := req(t, "PUT", srv.URL+"/api/v1/crates/new", frame, "Authorization", token)
	if st != 413 || !strings.Contains(string(b), "2048") {
		t.Errorf("6 KB of metadata with max_metadata_size 2KiB: %d %s", st, b)
	}
}

// write_timeout bounds a download to a client that stops reading: the
// server gives up instead of holding the connection and the file open.
func TestWriteTimeoutCutsStalledDownload(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.WriteTimeout = time.Second })
	token := srv.AddUser("alice")
	// Random bytes do not compress: a 9 MiB .crate, more than loopback
	// socket buffers hold.
	noise := make([]byte, 9<<20)
	rand.Read(noise)
	entries := append(testenv.CrateFiles("big", "1.0.0"), testenv.Entry{Name: "big-1.0.0/noise.bin", Body: string(noise)})
	frame := testenv.Frame(testenv.Metadata("big", "1.0.0"), testenv.Tarball(t, entries...))
	if st, b, _ := req(t, "PUT", srv.URL+"/api/v1/crates/new", frame, "Authorization", token); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/v1/crates/big/1.0.0/download HTTP/1.1\r\nHost: x\r\n\r\n")
	// Read nothing for a while, well past write_timeout.
	time.Sleep(4 * time.Second)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	if n >= resp.ContentLength {
		t.Errorf("the stalled client got all %d bytes: write_timeout did not cut the download", n)
	}
	// The server is fine and serves the file to a client that reads.
	if st, b, _ := req(t, "GET", srv.URL+"/api/v1/crates/big/1.0.0/download", nil); st != 200 || len(b) < 9<<20 {
		t.Errorf("download: %d, %d bytes", st, len(b))
	}
}

// syncBuffer is a log destination shared by the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With log_format = "json", every line is a JSON object, every line logged
// for a request carries its request_id, and errors are under "err".
func TestJSONLogsCarryRequestID(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Server.Address, cfg.Server.Port, cfg.Server.BaseURL = "127.0.0.1", 0, ""
	cfg.Server.LogFormat = "json"
	cfg.DB.DBDirPath = filepath.Join(dir, "db")
	cfg.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
	var logs syncBuffer
	m := app.NewMain()
	m.Config = cfg
	m.Logger = app.NewLogger(&logs, cfg.Server.LogFormat, slog.LevelDebug)
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(func() { m.Close() })
	_, token, err := m.Service.CreateUser(context.Background(), "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	frame := testenv.Frame(testenv.Metadata("logged", "1.0.0"), testenv.Tarball(t, testenv.CrateFiles("logged", "1.0.0")...))
	if st, b, _ := req(t, "PUT", m.URL+"/api/v1/crates/new", frame, "Authorization", token, "X-Request-Id", "req-publish-1"); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	if st, _, _ := req(t, "PUT", m.URL+"/api/v1/crates/new", []byte{1, 2, 3}, "Authorization", token, "X-Request-Id", "req-bad-2"); st != 400 {
		t.Fatalf("bad publish: %d", st)
	}
	m.Close()

	seen := map[string]int{}
	errKey := false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if _, ok := rec["error"]; ok {
			t.Errorf("error logged under \"error\", not \"err\": %s", line)
		}
		id, _ := rec["request_id"].(string)
		seen[id]++
		if id == "req-bad-2" && rec["err"] != nil {
			errKey = true
		}
		if rec["path"] == "/api/v1/crates/new" && id == "" {
			t.Errorf("a line of a publish has no request_id: %s", line)
		}
	}
	// The access line and the service's line ("published") for one, the
	// access line and the refusal for the other.
	if seen["req-publish-1"] < 2 || seen["req-bad-2"] < 2 {
		t.Errorf("lines per request id: %v\n%s", seen, logs.String())
	}
	if !errKey {
		t.Errorf("the refused publish logged no err:\n%s", logs.String())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// loadConfig loads TOML text through config.Load, as a file would be.
func loadConfig(t *testing.T, toml string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crated.toml")
	writeFile(t, path, toml)
	cfg, err := config.Load(path, []string{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
