package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/registry"
	"github.com/crated/crated/sqlite"
	xhtml "golang.org/x/net/html"
)

const testBase = "https://crates.example.com"

// fixture is a registry filled through the Store methods, as publishes
// would fill it.
type fixture struct {
	store crated.Store
	alice *crated.User
	bob   *crated.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{store: s}
	f.alice = f.user(t, &crated.User{Login: "alice", Name: "alice", Email: "alice@example.com", PasswordHash: "$argon2id$fake"})
	f.bob = f.user(t, &crated.User{Login: "gitlab.com:bob", Name: "bob", Issuer: "https://gitlab.com", Subject: "42"})
	return f
}

func (f *fixture) user(t testing.TB, u *crated.User) *crated.User {
	t.Helper()
	if err := f.store.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", u.Login, err)
	}
	return u
}

// release describes one publish.
type release struct {
	name, vers  string
	by          *crated.User
	description string
	keywords    []string
	homepage    string
	repository  string
	docs        string
	deps        string // JSON array of index dependencies
	features    string // JSON object
	features2   string // JSON object or ""
	manifest    string
	readme      string
	at          time.Time
}

// publish stores one version the way the registry service does: crate
// metadata, a sparse-index line with a real checksum, the manifest extras.
func (f *fixture) publish(t testing.TB, r release) *crated.Version {
	t.Helper()
	canon := cargo.CanonicalName(r.name)
	var crateID int64
	if c, err := f.store.CrateByName(t.Context(), canon); err == nil {
		crateID = c.ID
	} else if !crated.IsCode(err, crated.ENOTFOUND) {
		t.Fatal(err)
	}
	if r.by == nil {
		r.by = f.alice
	}
	if r.deps == "" {
		r.deps = "[]"
	}
	if r.features == "" {
		r.features = "{}"
	}
	if r.at.IsZero() {
		r.at = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	}
	sum := sha256.Sum256([]byte(r.name + "@" + r.vers))
	cksum := hex.EncodeToString(sum[:])
	entry := fmt.Sprintf(`{"name":%q,"vers":%q,"deps":%s,"cksum":%q,"features":%s,`, r.name, r.vers, r.deps, cksum, r.features)
	if r.features2 != "" {
		entry += `"features2":` + r.features2 + `,"v":2,`
	}
	entry += `"yanked":false}`
	key, _, _ := strings.Cut(r.vers, "+")
	v, err := f.store.PublishVersion(t.Context(), &crated.NewVersion{
		CrateID: crateID,
		Crate: crated.Crate{
			Name:          r.name,
			CanonName:     canon,
			Description:   r.description,
			Homepage:      r.homepage,
			Repository:    r.repository,
			Documentation: r.docs,
			Keywords:      r.keywords,
		},
		Version: crated.Version{
			Vers:        r.vers,
			VersKey:     key,
			SortKey:     testSortKey(key),
			Cksum:       cksum,
			Size:        12345,
			Entry:       []byte(entry),
			PublishedBy: r.by.ID,
			PublishedAt: r.at,
			Readme:      r.readme,
			Manifest:    []byte(r.manifest),
		},
		OwnerID: r.by.ID,
	})
	if err != nil {
		t.Fatalf("PublishVersion(%s@%s): %v", r.name, r.vers, err)
	}
	return v
}

// testSortKey orders MAJOR.MINOR.PATCH[-pre] versions as strings: numbers
// zero padded, and a release after its pre-releases ('~' sorts last).
func testSortKey(versKey string) string {
	core, pre, isPre := strings.Cut(versKey, "-")
	parts := strings.Split(core, ".")
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			panic("bad test version " + versKey)
		}
		parts[i] = fmt.Sprintf("%010d", n)
	}
	if isPre {
		return strings.Join(parts, ".") + "-" + pre
	}
	return strings.Join(parts, ".") + "~"
}

const fooReadme = "# Foo-Bar\n\nA **fast** bar for your foo.\n\n## Usage\n\n```rust\nlet x = foo_bar::new();\n```\n\n" +
	"| Option | Default |\n|:--|--:|\n| speed | 11 |\n\n- [x] done\n- [ ] todo\n\n~~old~~ <https://example.com/auto>\n"

// hostileReadme tries every classic way to run script from Markdown.
const hostileReadme = `# Totally safe

<script>alert("readme-script")</script>

<img src="x" onerror="alert('img-onerror')">

[click me](javascript:alert('md-link'))

<a href="javascript:alert('raw-link')">raw</a>

<a href="JaVaScRiPt:alert('mixed-case')">mixed</a>

<iframe src="https://evil.example.com/frame"></iframe>

<div style="background:url(javascript:alert('style'))" onclick="alert('onclick')">decorated</div>

<style>body { display: none }</style>

<img src="data:image/svg+xml,<svg onload=alert('svg-data')>">

<svg onload="alert('svg')"><circle r="1"/></svg>

<form action="https://evil.example.com"><input name="token"></form>

![pixel](https://img.example.com/ok.png)

<object data="data:text/html,<script>alert('object')</script>"></object>
`

// fill publishes the crates most tests look at.
func (f *fixture) fill(t *testing.T) {
	t.Helper()
	foo := release{
		name:        "Foo-Bar",
		description: "A fast bar for your foo",
		keywords:    []string{"bar", "speed"},
		homepage:    "javascript:alert('homepage')",
		repository:  "https://git.example.com/acme/foo-bar",
		docs:        "ftp://docs.example.com/foo-bar",
		manifest:    `{"authors":["Alice Liddell <alice@example.com>"],"license":"MIT OR Apache-2.0","rust_version":"1.70","links":"foobar"}`,
	}
	r := foo
	r.vers, r.at, r.readme = "0.1.0", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), "# old readme\n"
	f.publish(t, r)
	r = foo
	r.vers, r.at = "0.2.0", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	yanked := f.publish(t, r)
	if err := f.store.SetYanked(t.Context(), yanked.ID, true, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	r = foo
	r.vers, r.readme, r.by = "1.0.0+build.5", fooReadme, f.bob
	r.deps = `[{"name":"serde","req":"^1","features":["derive"],"optional":false,"default_features":true,"target":null,"kind":"normal","registry":null},` +
		`{"name":"json","req":"^1.0.100","features":[],"optional":true,"default_features":true,"target":null,"kind":"normal","registry":null,"package":"serde_json"},` +
		`{"name":"cc","req":"^1.0","features":[],"optional":false,"default_features":true,"target":null,"kind":"build","registry":null},` +
		`{"name":"winapi","req":"^0.3","features":[],"optional":false,"default_features":true,"target":"cfg(windows)","kind":"normal","registry":null},` +
		`{"name":"insta","req":"^1.39","features":[],"optional":false,"default_features":true,"target":null,"kind":"dev","registry":"https://github.com/rust-lang/crates.io-index"}]`
	r.features = `{"default":["std"],"std":[],"zeta":["std"]}`
	r.features2 = `{"json":["dep:json"]}`
	f.publish(t, r)
	f.publish(t, release{name: "serde", vers: "1.0.200", description: "Serialization framework"})
}

// reader is the registry service over store, as the server builds it.
func reader(store crated.Store) Registry {
	return registry.New(store, nil, registry.Config{})
}

// newUI returns the UI over f's store with the usual test config.
func newUI(f *fixture, cfg Config, log *slog.Logger) *UI {
	if cfg.BaseURL == "" {
		cfg.BaseURL = testBase
	}
	if cfg.RegistryName == "" {
		cfg.RegistryName = "acme"
	}
	ui := New(reader(f.store), cfg, log)
	// Pages wait for their README's render, so that tests see the HTML on
	// the first view however loaded the machine is; the tests of the
	// plain-text fallback set their own wait.
	ui.readme.wait = time.Minute
	return ui
}

// serve sends one GET through a mux that has only the UI's routes.
func serve(t *testing.T, ui *UI, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	ui.Routes(mux)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	return w
}

// text is a page's body with HTML entities decoded, to check visible text.
func text(w *httptest.ResponseRecorder) string {
	return html.UnescapeString(w.Body.String())
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	f.fill(t)
	ui := newUI(f, Config{}, nil)

	tests := []struct {
		name     string
		path     string
		status   int
		contains []string // in the decoded text
		absent   []string
	}{
		{
			name:   "home",
			path:   "/",
			status: http.StatusOK,
			contains: []string{
				"<dt>Crates</dt><dd>2</dd>", "<dt>Versions</dt><dd>4</dd>",
				`action="/search"`,
				"[registries.acme]\nindex = \"sparse+https://crates.example.com/index/\"",
				"cargo login --registry acme",
				`href="/me"`, "https://crates.example.com/me",
				`href="/crates/Foo-Bar"`, "1.0.0+build.5", "A fast bar for your foo",
				`href="/crates/serde"`,
				"Log in",
			},
		},
		{
			name:     "crate page shows the max version",
			path:     "/crates/Foo-Bar",
			status:   http.StatusOK,
			contains: []string{"<title>Foo-Bar · acme</title>", `<span class="version">1.0.0+build.5</span>`},
			absent:   []string{"This version has been yanked"},
		},
		{
			name:   "an older version",
			path:   "/crates/Foo-Bar/0.1.0",
			status: http.StatusOK,
			contains: []string{
				"<title>Foo-Bar 0.1.0 · acme</title>", `<span class="version">0.1.0</span>`,
				`Foo-Bar = { version = "0.1.0", registry = "acme" }`,
				"/api/v1/crates/Foo-Bar/0.1.0/download", "old readme",
				`The default version of this crate is <a href="/crates/Foo-Bar">1.0.0+build.5</a>`,
			},
			absent: []string{"A <strong>fast</strong> bar"},
		},
		{
			name:     "a yanked version",
			path:     "/crates/Foo-Bar/0.2.0",
			status:   http.StatusOK,
			contains: []string{`<span class="badge badge-yanked"`, "This version has been yanked.", "This version has no README."},
		},
		{
			name:     "search",
			path:     "/search?q=foo",
			status:   http.StatusOK,
			contains: []string{"Results for “foo”", `href="/crates/Foo-Bar"`, "1.0.0+build.5", "A fast bar for your foo", `value="foo"`},
			absent:   []string{`href="/crates/serde"`},
		},
		{
			name:     "search by keyword",
			path:     "/search?q=SPEED",
			status:   http.StatusOK,
			contains: []string{`href="/crates/Foo-Bar"`, "Showing 1–1 of 1 crate"},
		},
		{
			name:     "search with no result",
			path:     "/search?q=nothing-matches-this",
			status:   http.StatusOK,
			contains: []string{"No crate matches “nothing-matches-this”."},
		},
		{
			name:     "search everything",
			path:     "/search",
			status:   http.StatusOK,
			contains: []string{"All crates", `href="/crates/Foo-Bar"`, `href="/crates/serde"`, "Showing 1–2 of 2 crates"},
			absent:   []string{`class="pagination"`},
		},
		{name: "unknown crate", path: "/crates/nope", status: http.StatusNotFound, contains: []string{"crate `nope` does not exist"}},
		{name: "unknown version", path: "/crates/Foo-Bar/9.9.9", status: http.StatusNotFound, contains: []string{"The crate “Foo-Bar” has no version “9.9.9”."}},
		{name: "impossible crate name", path: "/crates/b%C3%A4d", status: http.StatusNotFound, contains: []string{"crate `bäd` does not exist"}},
		{name: "too long crate name", path: "/crates/" + strings.Repeat("a", 65), status: http.StatusNotFound},
		{name: "page not a number", path: "/search?q=foo&page=abc", status: http.StatusBadRequest, contains: []string{"The page number must be a whole number"}},
		{name: "page zero", path: "/search?page=0", status: http.StatusBadRequest},
		{name: "page negative", path: "/search?page=-3", status: http.StatusBadRequest},
		{name: "page huge", path: "/search?page=99999999999999999999", status: http.StatusBadRequest},
		{name: "query too long", path: "/search?q=" + strings.Repeat("x", 257), status: http.StatusBadRequest, contains: []string{"too long"}},
		{name: "query not UTF-8", path: "/search?q=%ff", status: http.StatusBadRequest},
		{name: "unknown static file", path: "/static/nope.css", status: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, ui, tt.path)
			if w.Code != tt.status {
				t.Fatalf("GET %s: status %d, want %d; body:\n%s", tt.path, w.Code, tt.status, w.Body)
			}
			body := text(w)
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s: body lacks %q; body:\n%s", tt.path, s, body)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(body, s) {
					t.Errorf("GET %s: body has %q", tt.path, s)
				}
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(tt.path, "/static/") && ct != "text/html; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q", tt.path, ct)
			}
			checkSecurityHeaders(t, w)
		})
	}
}

func checkSecurityHeaders(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if got, want := w.Header().Get("Content-Security-Policy"), "default-src 'none'; style-src 'self'; img-src 'self' https: data:"; got != want {
		t.Errorf("Content-Security-Policy = %q, want %q", got, want)
	}
	if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
}

func TestCratePage(t *testing.T) {
	f := newFixture(t)
	f.fill(t)
	w := serve(t, newUI(f, Config{}, nil), "/crates/Foo-Bar")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d:\n%s", w.Code, w.Body)
	}
	body := text(w)
	for _, s := range []string{
		// name, version, description, keywords
		"<h1>Foo-Bar <span", "A fast bar for your foo",
		`<a href="/search?q=bar">#bar</a>`, `<a href="/search?q=speed">#speed</a>`,
		// links: only http(s) ones are links, the others are plain text
		`<span class="label">Repository</span><a href="https://git.example.com/acme/foo-bar" rel="nofollow noopener">git.example.com/acme/foo-bar</a>`,
		`<span class="muted">javascript:alert('homepage')</span>`,
		`<span class="muted">ftp://docs.example.com/foo-bar</span>`,
		// manifest extras
		"<dt>License</dt><dd>MIT OR Apache-2.0</dd>", "<dt>Rust version</dt><dd>1.70 or newer</dd>",
		"<code>foobar</code>", "<li>Alice Liddell <alice@example.com></li>",
		// owners and publisher
		`<li><a href="/users/alice">alice</a></li>`, `<dt>Published by</dt><dd><a href="/users/gitlab.com:bob">gitlab.com:bob</a></dd>`,
		// dependencies by kind, renamed, optional, target, other registry
		"<h3>Normal <span class=\"count\">3</span></h3>",
		"<h3>Build <span class=\"count\">1</span></h3>",
		"<h3>Dev <span class=\"count\">1</span></h3>",
		`<a class="dep-name" href="/crates/serde">serde</a>`, `<code class="req">^1</code>`, "features: derive",
		`<a class="dep-name" href="/crates/serde_json">serde_json</a>`, ">optional</span>", ">as json</span>",
		`<a class="dep-name" href="/crates/cc">cc</a>`,
		">cfg(windows)</span>",
		`<a class="dep-name" href="https://crates.io/crates/insta">insta</a>`, ">crates.io</span>",
		// features, default first, features2 merged
		"<dt><code>default</code></dt><dd><code>std</code></dd>",
		"<dt><code>json</code></dt><dd><code>dep:json</code></dd>",
		"<dt><code>std</code></dt><dd><span class=\"muted\">enables nothing else</span></dd>",
		// install snippets without build metadata, download link with it
		`Foo-Bar = { version = "1.0.0", registry = "acme" }`,
		"cargo add Foo-Bar@1.0.0 --registry acme",
		`href="/api/v1/crates/Foo-Bar/1.0.0+build.5/download"`,
		// downloads and size
		"<dt>Downloads</dt><dd>0 ", "12.1 KiB",
		// README rendered with GFM
		"<h1 id=\"foo-bar\">Foo-Bar</h1>", "A <strong>fast</strong> bar for your foo.",
		`<h2 id="usage">Usage</h2>`, "let x = foo_bar::new();",
		`<th align="left">Option</th>`, `<td align="right">11</td>`,
		`<input checked="" disabled="" type="checkbox"`, "<del>old</del>",
		`<a href="https://example.com/auto" rel="nofollow">https://example.com/auto</a>`,
		// versions with dates and the yanked marker
		`<time datetime="2024-06-01T00:00:00Z">Jun 1, 2024</time>`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("crate page lacks %q", s)
		}
	}
	if strings.Contains(body, `href="javascript:`) || strings.Contains(body, `href="ftp:`) {
		t.Errorf("crate page links a non-http URL")
	}
	// Newest first by semver, whatever the publish order.
	table := body[strings.Index(body, `<table class="versions">`):]
	i1, i2, i3 := strings.Index(table, ">1.0.0+build.5<"), strings.Index(table, ">0.2.0<"), strings.Index(table, ">0.1.0<")
	if !(i1 >= 0 && i1 < i2 && i2 < i3) {
		t.Errorf("versions not newest first: 1.0.0 at %d, 0.2.0 at %d, 0.1.0 at %d", i1, i2, i3)
	}
	if n := strings.Count(table, "badge-yanked"); n != 1 {
		t.Errorf("versions table has %d yanked markers, want 1", n)
	}
	if !strings.Contains(table, `<tr class="current">`) || !strings.Contains(table, `aria-current="page">1.0.0+build.5</a>`) {
		t.Errorf("versions table does not mark the shown version")
	}
}

func TestCanonicalRedirect(t *testing.T) {
	f := newFixture(t)
	f.fill(t)
	ui := newUI(f, Config{}, nil)
	tests := []struct{ path, location string }{
		{"/crates/foo_bar", "/crates/Foo-Bar"},
		{"/crates/FOO-BAR", "/crates/Foo-Bar"},
		{"/crates/foo-bar/0.1.0", "/crates/Foo-Bar/0.1.0"},
		{"/crates/Foo_Bar/1.0.0+build.5", "/crates/Foo-Bar/1.0.0+build.5"},
		// A version named without its build metadata.
		{"/crates/Foo-Bar/1.0.0", "/crates/Foo-Bar/1.0.0+build.5"},
		{"/crates/SERDE", "/crates/serde"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := serve(t, ui, tt.path)
			if w.Code != http.StatusMovedPermanently {
				t.Fatalf("GET %s: status %d, want 301", tt.path, w.Code)
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Errorf("GET %s: Location %q, want %q", tt.path, got, tt.location)
			}
			// The target is a page, not another redirect.
			if w := serve(t, ui, tt.location); w.Code != http.StatusOK {
				t.Errorf("GET %s: status %d", tt.location, w.Code)
			}
		})
	}
}

func TestReadmeSanitized(t *testing.T) {
	f := newFixture(t)
	f.publish(t, release{
		name:        "evil",
		vers:        "0.0.1",
		description: `<script>alert("description")</script>`,
		keywords:    []string{`"><script>alert(1)</script>`},
		homepage:    `https://example.com/"><script>alert("homepage")</script>`,
		manifest:    `{"license":"<img src=x onerror=alert('license')>","authors":["<script>alert('author')</script>"]}`,
		readme:      hostileReadme,
	})
	w := serve(t, newUI(f, Config{}, nil), "/crates/evil")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d:\n%s", w.Code, w.Body)
	}
	// Walk the parsed page as a browser would: escaped text such as
	// "&lt;script&gt;" is harmless, only elements and attributes count.
	doc, err := xhtml.Parse(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *xhtml.Node, inReadme bool)
	walk = func(n *xhtml.Node, inReadme bool) {
		if n.Type == xhtml.ElementNode {
			switch n.Data {
			case "script", "iframe", "object", "embed", "svg", "style":
				t.Errorf("page has a <%s> element", n.Data)
			case "form", "input":
				if inReadme && !(n.Data == "input" && attr(n, "type") == "checkbox") {
					t.Errorf("README has a <%s> element", n.Data)
				}
			case "article":
				inReadme = inReadme || attr(n, "class") == "readme"
			}
			for _, a := range n.Attr {
				val := strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case strings.HasPrefix(a.Key, "on"), a.Key == "style":
					t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
				case a.Key == "href" || a.Key == "src" || a.Key == "action" || a.Key == "data":
					// Relative URLs are inert; an absolute one must be
					// http(s) or mailto.
					u, err := url.Parse(val)
					if err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
						t.Errorf("<%s> has %s=%q", n.Data, a.Key, a.Val)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inReadme)
		}
	}
	walk(doc, false)
	// The harmless parts survive, escaped values are shown as text.
	body := text(w)
	for _, s := range []string{
		`<h1 id="totally-safe">Totally safe</h1>`,
		`<img src="https://img.example.com/ok.png" alt="pixel">`,
		`<script>alert("description")</script>`, // as text, decoded here
		"decorated",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

func TestReadmeTooLarge(t *testing.T) {
	f := newFixture(t)
	f.publish(t, release{name: "big", vers: "1.0.0", readme: strings.Repeat("word ", maxReadme/5+1)})
	w := serve(t, newUI(f, Config{}, nil), "/crates/big")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "too large to show") {
		t.Errorf("status %d, body without the too-large notice", w.Code)
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t)
	for i := range 45 {
		f.publish(t, release{name: fmt.Sprintf("pkg-%02d", i), vers: "1.0.0", description: fmt.Sprintf("Package number %d", i)})
	}
	f.publish(t, release{name: "other", vers: "1.0.0"})
	ui := newUI(f, Config{}, nil)

	tests := []struct {
		path       string
		first, cnt int // first pkg number and how many are shown
		prev, next string
		summary    string
	}{
		{"/search?q=pkg", 0, 20, "", "/search?page=2&q=pkg", "Showing 1–20 of 45 crates"},
		{"/search?q=pkg&page=2", 20, 20, "/search?q=pkg", "/search?page=3&q=pkg", "Showing 21–40 of 45 crates"},
		{"/search?q=pkg&page=3", 40, 5, "/search?page=2&q=pkg", "", "Showing 41–45 of 45 crates"},
		{"/search?q=pkg&page=7", 0, 0, "/search?page=3&q=pkg", "", "No results on page 7: there are only 3 pages."},
		{"/search?page=3", 40, 6, "/search?page=2", "", "Showing 41–46 of 46 crates"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := serve(t, ui, tt.path)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			body := text(w)
			if got := strings.Count(body, `class="crate-name"`); got != tt.cnt {
				t.Errorf("%d results, want %d", got, tt.cnt)
			}
			for i := tt.first; i < tt.first+tt.cnt && i < 45; i++ {
				if !strings.Contains(body, fmt.Sprintf(`href="/crates/pkg-%02d"`, i)) {
					t.Errorf("pkg-%02d missing", i)
				}
			}
			if !strings.Contains(body, tt.summary) {
				t.Errorf("summary %q missing", tt.summary)
			}
			for rel, want := range map[string]string{"prev": tt.prev, "next": tt.next} {
				link := `<a rel="` + rel + `" href="` + want + `"`
				if want == "" && strings.Contains(body, `rel="`+rel+`"`) {
					t.Errorf("unexpected %s link", rel)
				} else if want != "" && !strings.Contains(body, link) {
					t.Errorf("missing %s", link)
				}
			}
		})
	}
}

func TestPrivateRegistry(t *testing.T) {
	f := newFixture(t)
	f.fill(t)
	ui := newUI(f, Config{AuthRequired: true, OpenIDLogin: true}, nil)
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/", http.StatusOK},
		{"/search?q=foo", http.StatusForbidden},
		{"/search?page=abc", http.StatusForbidden},
		{"/crates/Foo-Bar", http.StatusForbidden},
		{"/crates/foo_bar/0.1.0", http.StatusForbidden},
		{"/crates/nope", http.StatusForbidden},
	} {
		t.Run(tt.path, func(t *testing.T) {
			w := serve(t, ui, tt.path)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			body := text(w)
			for _, s := range []string{"This registry is private", "[registries.acme]", "Log in with SSO", "identity provider"} {
				if !strings.Contains(body, s) {
					t.Errorf("notice lacks %q", s)
				}
			}
			for _, s := range []string{"Foo-Bar", "foo_bar", "serde", "fast bar", "<dt>Crates</dt>", `type="search"`} {
				if strings.Contains(body, s) {
					t.Errorf("private page shows %q", s)
				}
			}
			checkSecurityHeaders(t, w)
		})
	}
}

// failingStore breaks like a database that went away, with an error text
// that must never reach a page.
type failingStore struct{ crated.Store }

const secret = "dial tcp 10.0.0.7:5432: password authentication failed for user crated"

func (failingStore) CountCrates(context.Context) (int64, int64, error) {
	return 0, 0, fmt.Errorf("postgres.CountCrates: %s", secret)
}

func (failingStore) CrateByName(context.Context, string) (*crated.Crate, error) {
	return nil, fmt.Errorf("postgres.CrateByName: %s", secret)
}

func (failingStore) SearchCrates(context.Context, crated.SearchQuery) ([]*crated.Crate, int, error) {
	return nil, 0, crated.Errorf(crated.EUNAVAILABLE, "%s", secret)
}

func TestInternalError(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	ui := New(reader(failingStore{f.store}), Config{BaseURL: testBase}, slog.New(slog.NewTextHandler(&logs, nil)))
	// The statuses are httpapi.Status's, as the API answers: an
	// unavailable database is 503 (try again), anything else 500.
	for _, tt := range []struct {
		path, title, level string
		status             int
	}{
		{"/", "Something went wrong", "level=ERROR", http.StatusInternalServerError},
		{"/crates/foo", "Something went wrong", "level=ERROR", http.StatusInternalServerError},
		{"/search?q=x", "Temporarily unavailable", "level=WARN", http.StatusServiceUnavailable},
	} {
		t.Run(tt.path, func(t *testing.T) {
			logs.Reset()
			w := serve(t, ui, tt.path)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if strings.Contains(w.Body.String(), "5432") || strings.Contains(w.Body.String(), "password") {
				t.Errorf("error page leaks the error:\n%s", w.Body)
			}
			if !strings.Contains(w.Body.String(), tt.title) {
				t.Errorf("error page lacks its title %q", tt.title)
			}
			if !strings.Contains(logs.String(), "5432") || !strings.Contains(logs.String(), tt.level) {
				t.Errorf("error not logged at %s: %s", tt.level, logs.String())
			}
			checkSecurityHeaders(t, w)
		})
	}
}

func TestStatic(t *testing.T) {
	f := newFixture(t)
	ui := newUI(f, Config{}, nil)
	w := serve(t, ui, "/static/style.css")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control %q", cc)
	}
	etag := w.Header().Get("ETag")
	if len(etag) != 66 || etag[0] != '"' {
		t.Errorf("ETag %q, want a quoted sha256", etag)
	}
	checkSecurityHeaders(t, w)
	if !strings.Contains(w.Body.String(), "prefers-color-scheme: dark") {
		t.Errorf("stylesheet has no dark theme")
	}

	if w := serve(t, ui, "/static/style.css", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("conditional GET: status %d, want 304", w.Code)
	}
	if w := serve(t, ui, "/static/icon.svg"); w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "image/svg+xml") {
		t.Errorf("icon: status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
	for _, p := range []string{"/static/", "/static/../web.go", "/static/%2e%2e/web.go"} {
		if w := serve(t, ui, p); w.Code == http.StatusOK {
			t.Errorf("GET %s: status 200", p)
		}
	}

	// Pages link the stylesheet by content hash, so the long cache is safe.
	home := serve(t, ui, "/").Body.String()
	if want := `href="/static/style.css?v=` + etag[1:13] + `"`; !strings.Contains(home, want) {
		t.Errorf("home does not link %s", want)
	}
}

func TestBasePathPrefix(t *testing.T) {
	f := newFixture(t)
	f.fill(t)
	ui := newUI(f, Config{BaseURL: "https://example.com/registry/"}, nil)
	body := text(serve(t, ui, "/"))
	for _, s := range []string{
		`href="/registry/crates/Foo-Bar"`, `action="/registry/search"`, `href="/registry/static/style.css?v=`,
		`href="/registry/me"`, `index = "sparse+https://example.com/registry/index/"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("home lacks %q", s)
		}
	}
	w := serve(t, ui, "/crates/foo_bar")
	if got := w.Header().Get("Location"); got != "/registry/crates/Foo-Bar" {
		t.Errorf("redirect to %q", got)
	}
}

func TestBaseURLFromRequest(t *testing.T) {
	f := newFixture(t)
	ui := New(reader(f.store), Config{}, nil)
	body := text(serve(t, ui, "/"))
	for _, s := range []string{"[registries.crated]", `index = "sparse+http://example.com/index/"`, "No crates yet"} {
		if !strings.Contains(body, s) {
			t.Errorf("home lacks %q", s)
		}
	}
}

// TestRoutesCoexist registers the UI next to the routes other packages own:
// the patterns must not conflict (ServeMux panics) and the UI must not
// answer for them.
func TestRoutesCoexist(t *testing.T) {
	f := newFixture(t)
	mux := http.NewServeMux()
	for _, p := range []string{"GET /me", "POST /me", "GET /replace_token", "GET /index/{path...}", "/api/", "GET /healthz", "GET /readyz", "GET /metrics", "GET /dl/{name}/{version}/download", "/ktra/"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "other") })
	}
	newUI(f, Config{}, nil).Routes(mux)
	for _, p := range []string{"/me", "/replace_token", "/index/config.json", "/api/v1/crates/foo/1.0.0/download", "/healthz", "/readyz", "/metrics", "/dl/foo/1.0.0/download", "/ktra/api/v1/login/x"} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, p, nil)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Body.String() != "other" {
			t.Errorf("GET %s answered by the UI", p)
		}
	}
	// Unknown paths are not the UI's either: no catch-all.
	bare := http.NewServeMux()
	newUI(f, Config{}, nil).Routes(bare)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/whatever", nil)
	w := httptest.NewRecorder()
	bare.ServeHTTP(w, req)
	if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "<html") {
		t.Errorf("GET /whatever: status %d from the UI", w.Code)
	}
}

func TestHead(t *testing.T) {
	f := newFixture(t)
	mux := http.NewServeMux()
	newUI(f, Config{}, nil).Routes(mux)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodHead, "/", nil)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD /: status %d, %d body bytes", w.Code, w.Body.Len())
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}, {-1234, "-1,234"}} {
		if got := formatNumber(tt.n); got != tt.want {
			t.Errorf("formatNumber(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {12345, "12.1 KiB"}, {10 << 20, "10.0 MiB"}, {3 << 40, "3.0 TiB"}, {5 << 50, "5120.0 TiB"}} {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestSafeURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://example.com/x", "https://example.com/x"},
		{"http://example.com", "http://example.com"},
		{"javascript:alert(1)", ""},
		{"JAVASCRIPT:alert(1)", ""},
		{"data:text/html,hi", ""},
		{"ftp://example.com", ""},
		{"//example.com/x", ""},
		{"/relative", ""},
		{"https://", ""},
		{"https://exa mple.com", ""},
	} {
		if got := safeURL(tt.in); got != tt.want {
			t.Errorf("safeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
