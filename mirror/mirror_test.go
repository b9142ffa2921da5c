package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/sqlite"
)

// fakeUpstream is a static sparse registry: config.json, index files and
// .crate files, with per-path request counts and an optional gate that
// holds every request until it is closed.
type fakeUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	files  map[string]string // path -> body
	counts map[string]int
	hdrs   []http.Header
	gate   chan struct{}
	// status, when set, answers the next requests with it (and Retry-After).
	status     []int
	retryAfter string
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	u := &fakeUpstream{files: map[string]string{}, counts: map[string]int{}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	u.files["/index/config.json"] = fmt.Sprintf(`{"dl":"%s/files/{lowerprefix}/{crate}-{version}.crate"}`, u.URL)
	return u
}

func (u *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.counts[r.URL.Path]++
	u.hdrs = append(u.hdrs, r.Header.Clone())
	gate := u.gate
	var status int
	if len(u.status) > 0 {
		status, u.status = u.status[0], u.status[1:]
	}
	body, ok := u.files[r.URL.Path]
	u.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if status != 0 {
		if u.retryAfter != "" {
			w.Header().Set("Retry-After", u.retryAfter)
		}
		w.WriteHeader(status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256([]byte(body))
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	io.WriteString(w, body)
}

func (u *fakeUpstream) count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[path]
}

func (u *fakeUpstream) set(path, body string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.files[path] = body
}

// addCrate publishes name@vers upstream: its .crate and an index line whose
// extra fields must survive the mirror. pubtime "" omits it.
func (u *fakeUpstream) addCrate(name, vers, content, pubtime string) string {
	sum := sha256.Sum256([]byte(content))
	ck := hex.EncodeToString(sum[:])
	line := fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[],"cksum":%q,"features":{},"features2":{"x":["dep:y"]},"yanked":false,"rust_version":"1.70","v":2,"future_field":{"a":[1,2]}`, name, vers, ck)
	if pubtime != "" {
		line += fmt.Sprintf(`,"pubtime":%q`, pubtime)
	}
	line += "}\n"
	path := "/index/" + indexPathOf(name)
	u.mu.Lock()
	u.files[path] += line
	u.files["/files/"+strings.ToLower(depPrefix(name))+"/"+name+"-"+vers+".crate"] = content
	u.mu.Unlock()
	return line
}

func indexPathOf(name string) string {
	n := strings.ToLower(name)
	switch len(n) {
	case 1:
		return "1/" + n
	case 2:
		return "2/" + n
	case 3:
		return "3/" + n[:1] + "/" + n
	}
	return n[:2] + "/" + n[2:4] + "/" + n
}

type testMirror struct {
	*Mirror
	store *sqlite.Store
	blobs *fs.Store
	now   atomic.Pointer[time.Time]
	waits []time.Duration
}

func newTestMirror(t *testing.T, up *fakeUpstream, edit ...func(*Config)) *testMirror {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tm := &testMirror{store: st, blobs: blobs}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tm.now.Store(&now)
	cfg := Config{Upstream: "sparse+" + up.URL + "/index/", IndexTTL: time.Minute, ServeStale: true,
		Timeout: 5 * time.Second, Concurrency: 4, Now: func() time.Time { return *tm.now.Load() }}
	for _, e := range edit {
		e(&cfg)
	}
	m, err := New(cfg, st, blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	m.up.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		tm.waits = append(tm.waits, d)
		mu.Unlock()
		return nil
	}
	tm.Mirror = m
	return tm
}

func (tm *testMirror) advance(d time.Duration) {
	n := tm.now.Load().Add(d)
	tm.now.Store(&n)
}

func TestIndexPassThroughAndRevalidation(t *testing.T) {
	up := newFakeUpstream(t)
	line := up.addCrate("Serde_Json", "1.0.0", "crate bytes", "2025-01-01T00:00:00Z")
	m := newTestMirror(t, up)
	ctx := t.Context()

	f, err := m.IndexFile(ctx, "serde_json")
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Body) != line {
		t.Fatalf("body = %q, want the upstream's line verbatim %q", f.Body, line)
	}
	// Within the TTL: no upstream request.
	m.IndexFile(ctx, "serde_json")
	if n := up.count("/index/se/rd/serde_json"); n != 1 {
		t.Fatalf("upstream requests within the TTL: %d, want 1", n)
	}
	// After it: a conditional request, answered 304, body kept.
	m.advance(2 * time.Minute)
	f2, err := m.IndexFile(ctx, "serde_json")
	if err != nil || string(f2.Body) != line || f2.ETag != f.ETag {
		t.Fatalf("after revalidation: %v %q", err, f2.Body)
	}
	up.mu.Lock()
	last := up.hdrs[len(up.hdrs)-1]
	up.mu.Unlock()
	if last.Get("If-None-Match") == "" {
		t.Errorf("revalidation sent no If-None-Match: %v", last)
	}
	if !strings.HasPrefix(last.Get("User-Agent"), "crated/") {
		t.Errorf("User-Agent = %q, want crated/VERSION", last.Get("User-Agent"))
	}
	if got := testutil.ToFloat64(m.metrics.upstream.WithLabelValues("index", "not_modified")); got != 1 {
		t.Errorf("not_modified count = %v, want 1", got)
	}
	// A new upstream version appears after the next TTL.
	line2 := up.addCrate("Serde_Json", "1.1.0", "more bytes", "")
	m.advance(2 * time.Minute)
	f3, _ := m.IndexFile(ctx, "serde_json")
	if string(f3.Body) != line+line2 || f3.ETag == f.ETag {
		t.Errorf("after an upstream publish: %q (etag %s)", f3.Body, f3.ETag)
	}
	// A missing crate is 404 and cached as such.
	_, err = m.IndexFile(ctx, "nope")
	if !crated.IsCode(err, crated.ENOTFOUND) {
		t.Fatalf("missing crate: %v", err)
	}
	m.IndexFile(ctx, "nope")
	if n := up.count("/index/no/pe/nope"); n != 1 {
		t.Errorf("upstream requests for a missing crate: %d, want 1 (cached)", n)
	}
}

func TestSharedStoreAcrossMirrors(t *testing.T) {
	up := newFakeUpstream(t)
	up.addCrate("abcd", "1.0.0", "x", "")
	a := newTestMirror(t, up)
	if _, err := a.IndexFile(t.Context(), "abcd"); err != nil {
		t.Fatal(err)
	}
	// A second mirror (another replica) over the same store.
	b, err := New(a.cfg, a.store, a.blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.IndexFile(t.Context(), "abcd"); err != nil {
		t.Fatal(err)
	}
	if n := up.count("/index/ab/cd/abcd"); n != 1 {
		t.Errorf("upstream requests from two replicas sharing a store: %d, want 1", n)
	}
	// Both copies expire; a revalidates, and b, whose copy in memory is
	// expired, takes a's from the store instead of asking again.
	a.advance(2 * time.Minute)
	if _, err := a.IndexFile(t.Context(), "abcd"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.IndexFile(t.Context(), "abcd"); err != nil {
		t.Fatal(err)
	}
	if n := up.count("/index/ab/cd/abcd"); n != 2 {
		t.Errorf("upstream requests after one revalidation by a: %d, want 2", n)
	}
}

func TestStaleOnError(t *testing.T) {
	up := newFakeUpstream(t)
	line := up.addCrate("abcd", "1.0.0", "x", "")
	m := newTestMirror(t, up)
	ctx := t.Context()
	if _, err := m.IndexFile(ctx, "abcd"); err != nil {
		t.Fatal(err)
	}
	m.advance(time.Hour)
	up.mu.Lock()
	up.status = []int{500, 500, 500}
	up.mu.Unlock()
	f, err := m.IndexFile(ctx, "abcd")
	if err != nil || string(f.Body) != line {
		t.Fatalf("stale serving: %v %q", err, f)
	}
	if got := testutil.ToFloat64(m.metrics.cache.WithLabelValues("index", "stale")); got != 1 {
		t.Errorf("stale count = %v", got)
	}
	// Without serve_stale_on_error the failure is the client's.
	m.cfg.ServeStale = false
	up.mu.Lock()
	up.status = []int{500, 500, 500}
	up.mu.Unlock()
	_, err = m.IndexFile(ctx, "abcd")
	if !crated.IsCode(err, crated.EBADGATEWAY) {
		t.Errorf("upstream down without stale serving: %v, want EBADGATEWAY", err)
	}
}

func TestRetries(t *testing.T) {
	up := newFakeUpstream(t)
	up.addCrate("abcd", "1.0.0", "x", "")
	m := newTestMirror(t, up)
	up.mu.Lock()
	up.status = []int{503, 429}
	up.retryAfter = "2"
	up.mu.Unlock()
	if _, err := m.IndexFile(t.Context(), "abcd"); err != nil {
		t.Fatalf("after two retryable answers: %v", err)
	}
	if n := up.count("/index/ab/cd/abcd"); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
	if len(m.waits) != 2 || m.waits[0] != 2*time.Second || m.waits[1] != 2*time.Second {
		t.Errorf("waits = %v, want Retry-After's 2s twice", m.waits)
	}
	// Bounded: attempts stop at maxAttempts, and waits at maxRetryWait.
	m.waits = nil
	up.mu.Lock()
	up.status = []int{503, 503, 503, 503}
	up.retryAfter = "3600"
	up.mu.Unlock()
	if _, err := m.IndexFile(t.Context(), "efgh"); err == nil {
		t.Fatal("want an error after the retries")
	}
	if n := up.count("/index/ef/gh/efgh"); n != maxAttempts {
		t.Errorf("attempts = %d, want %d", n, maxAttempts)
	}
	for _, w := range m.waits {
		if w > maxRetryWait {
			t.Errorf("waited %s, more than %s", w, maxRetryWait)
		}
	}
}

func TestSingleflight(t *testing.T) {
	up := newFakeUpstream(t)
	up.addCrate("abcd", "1.0.0", "the crate", "")
	m := newTestMirror(t, up)
	const n = 16

	// Index: every request must have missed the cache before the upstream
	// answers; one upstream request serves them all.
	gate := make(chan struct{})
	up.mu.Lock()
	up.gate = gate
	up.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.IndexFile(context.Background(), "abcd")
			errs <- err
		}()
	}
	waitFor(t, func() bool { return testutil.ToFloat64(m.metrics.cache.WithLabelValues("index", "miss")) == n })
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := up.count("/index/ab/cd/abcd"); got != 1 {
		t.Errorf("upstream index requests for %d concurrent misses: %d, want 1", n, got)
	}

	// .crate: the same.
	gate = make(chan struct{})
	up.mu.Lock()
	up.gate = gate
	up.mu.Unlock()
	errs = make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := m.Crate(context.Background(), "abcd", "1.0.0")
			if err == nil {
				b, _ := io.ReadAll(f)
				f.Close()
				if string(b) != "the crate" {
					err = fmt.Errorf("got %q", b)
				}
			}
			errs <- err
		}()
	}
	waitFor(t, func() bool { return testutil.ToFloat64(m.metrics.cache.WithLabelValues("crate", "miss")) == n })
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := up.count("/files/ab/cd/abcd-1.0.0.crate"); got != 1 {
		t.Errorf("upstream .crate requests for %d concurrent misses: %d, want 1", n, got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

func TestTamperedCrate(t *testing.T) {
	up := newFakeUpstream(t)
	up.addCrate("abcd", "1.0.0", "genuine", "")
	up.set("/files/ab/cd/abcd-1.0.0.crate", "tampered")
	m := newTestMirror(t, up)
	ctx := t.Context()
	_, err := m.Crate(ctx, "abcd", "1.0.0")
	if !crated.IsCode(err, crated.EBADGATEWAY) {
		t.Fatalf("tampered .crate: %v, want EBADGATEWAY", err)
	}
	sum := sha256.Sum256([]byte("genuine"))
	bad := sha256.Sum256([]byte("tampered"))
	for _, k := range [][32]byte{sum, bad} {
		if _, err := m.blobs.Stat(ctx, hex.EncodeToString(k[:])); !crated.IsCode(err, crated.ENOTFOUND) {
			t.Errorf("blob %x after a refused download: %v, want not stored", k[:4], err)
		}
	}
	if got := testutil.ToFloat64(m.metrics.upstream.WithLabelValues("crate", "checksum_mismatch")); got != 1 {
		t.Errorf("checksum_mismatch = %v", got)
	}
	// Once the upstream serves the genuine file, it is fetched and kept.
	up.set("/files/ab/cd/abcd-1.0.0.crate", "genuine")
	f, err := m.Crate(ctx, "abcd", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "genuine" {
		t.Errorf("body %q", b)
	}
	if _, err := m.Crate(ctx, "abcd", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if n := up.count("/files/ab/cd/abcd-1.0.0.crate"); n != 2 {
		t.Errorf(".crate requests = %d, want 2 (refused, then fetched once)", n)
	}
}

func TestMinAgeAndNames(t *testing.T) {
	up := newFakeUpstream(t)
	old := up.addCrate("abcd", "1.0.0", "a", "2025-06-01T00:00:00Z")
	up.addCrate("abcd", "1.1.0", "b", "2026-01-01T11:30:00Z") // 30 minutes before "now"
	nopub := up.addCrate("abcd", "0.9.0", "c", "")
	up.addCrate("Evil-Crate", "1.0.0", "d", "")
	m := newTestMirror(t, up, func(c *Config) {
		c.MinAge = time.Hour
		c.Deny = []string{"evil_*"}
	})
	ctx := t.Context()
	f, err := m.IndexFile(ctx, "abcd")
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Body) != old+nopub {
		t.Fatalf("filtered body = %q, want the old line and the line without pubtime", f.Body)
	}
	if _, err := m.Crate(ctx, "abcd", "1.1.0"); !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("download of a hidden version: %v, want ENOTFOUND", err)
	}
	// Thirty-one minutes later the version has come of age.
	m.advance(31 * time.Minute)
	f2, _ := m.IndexFile(ctx, "abcd")
	if !strings.Contains(string(f2.Body), `"vers":"1.1.0"`) || f2.ETag == f.ETag {
		t.Errorf("after min_age: %q", f2.Body)
	}
	for _, name := range []string{"evil-crate", "evil_crate"} {
		if _, err := m.IndexFile(ctx, name); !crated.IsCode(err, crated.ENOTFOUND) {
			t.Errorf("denied %s: %v", name, err)
		}
	}
	if n := up.count("/index/ev/il/evil-crate"); n != 0 {
		t.Errorf("a denied name reached the upstream %d times", n)
	}
}

func TestNotACrateName(t *testing.T) {
	up := newFakeUpstream(t)
	m := newTestMirror(t, up)
	for _, name := range []string{"../../config.json", "a/b", "", "x y", "Upper"} {
		if _, err := m.IndexFile(t.Context(), name); !crated.IsCode(err, crated.ENOTFOUND) {
			t.Errorf("IndexFile(%q): %v, want ENOTFOUND", name, err)
		}
		if name == "Upper" {
			continue // Crate lowercases: cargo's {crate} keeps the index's case
		}
		if _, err := m.Crate(t.Context(), name, "1.0.0"); !crated.IsCode(err, crated.ENOTFOUND) {
			t.Errorf("Crate(%q): %v, want ENOTFOUND", name, err)
		}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.hdrs) != 0 {
		t.Errorf("%d requests reached the upstream for names that are not crate names", len(up.hdrs))
	}
}

func TestNamesAllowed(t *testing.T) {
	n := newNames([]string{"serde*", "Tokio"}, []string{"serde_evil"})
	for name, want := range map[string]bool{
		"serde": true, "serde_json": true, "Serde-Json": true, "tokio": true,
		"serde-evil": false, "SERDE_EVIL": false, "rand": false,
	} {
		if got := n.allowed(name); got != want {
			t.Errorf("allowed(%q) = %v, want %v", name, got, want)
		}
	}
	if !newNames(nil, nil).allowed("anything") {
		t.Error("empty allow list must admit every name")
	}
}

func TestDownloadURL(t *testing.T) {
	ck := strings.Repeat("ab", 32)
	for _, tc := range []struct{ tmpl, name, want string }{
		{"https://x/dl", "serde", "https://x/dl/serde/1.0.0+b/download"},
		{"https://x/dl/", "serde", "https://x/dl//serde/1.0.0+b/download"},
		{"https://x/{crate}/{version}", "MyCrate", "https://x/MyCrate/1.0.0+b"},
		{"https://x/{prefix}/{lowerprefix}/{sha256-checksum}", "MyCrate", "https://x/My/Cr/my/cr/" + ck},
		{"https://x/{prefix}", "a", "https://x/1"},
		{"https://x/{prefix}", "ab", "https://x/2"},
		{"https://x/{prefix}/{lowerprefix}", "Abc", "https://x/3/A/3/a"},
	} {
		if got := downloadURL(tc.tmpl, tc.name, "1.0.0+b", ck); got != tc.want {
			t.Errorf("downloadURL(%q, %q) = %q, want %q", tc.tmpl, tc.name, got, tc.want)
		}
	}
}

func TestUpstreamToken(t *testing.T) {
	up := newFakeUpstream(t)
	up.addCrate("abcd", "1.0.0", "x", "")
	// The dl host differs from the index host: the token stays home.
	other := newFakeUpstream(t)
	other.set("/files/ab/cd/abcd-1.0.0.crate", "x")
	up.set("/index/config.json", fmt.Sprintf(`{"dl":"%s/files/{lowerprefix}/{crate}-{version}.crate"}`, other.URL))
	m := newTestMirror(t, up, func(c *Config) { c.Token = "secret-token" })
	if _, err := m.Crate(t.Context(), "abcd", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	for _, h := range up.hdrs {
		if h.Get("Authorization") != "secret-token" {
			t.Errorf("index request without the token: %v", h)
		}
	}
	for _, h := range other.hdrs {
		if h.Get("Authorization") != "" {
			t.Errorf("the token went to the download host")
		}
	}
}
