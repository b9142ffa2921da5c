package web

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

var crateNameRE = regexp.MustCompile(`class="crate-name" href="/crates/([^"]+)"`)

// listed returns the crate links inside the element with id.
func listed(body, id string) []string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return nil
	}
	rest := body[i:]
	if j := strings.Index(rest, "</section>"); j >= 0 {
		rest = rest[:j]
	}
	var out []string
	for _, m := range crateNameRE.FindAllStringSubmatch(rest, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestHomeListings(t *testing.T) {
	f := newFixture(t)
	f.publish(t, release{name: "zebra", vers: "1.0.0", by: f.alice})
	a := f.publish(t, release{name: "apple", vers: "1.0.0", by: f.alice})
	f.publish(t, release{name: "mango", vers: "1.0.0", by: f.bob})
	f.publish(t, release{name: "zebra", vers: "1.1.0", by: f.alice})
	m := f.publish(t, release{name: "mango", vers: "1.0.1", by: f.bob})
	if err := f.store.AddDownloads(t.Context(), map[int64]int64{a.ID: 5, m.ID: 9}); err != nil {
		t.Fatal(err)
	}
	body := serve(t, newUI(f, Config{}, nil), "/").Body.String()
	// Publish order, not names: the old home page listed crates by name.
	if got := strings.Join(listed(body, "recent"), " "); got != "mango zebra apple" {
		t.Errorf("recently published = %s, want mango zebra apple", got)
	}
	if got := strings.Join(listed(body, "popular"), " "); got != "mango apple zebra" {
		t.Errorf("most downloaded = %s, want mango apple zebra", got)
	}
}

func TestVersionDownloads(t *testing.T) {
	f := newFixture(t)
	v1 := f.publish(t, release{name: "apple", vers: "1.0.0", by: f.alice})
	v2 := f.publish(t, release{name: "apple", vers: "2.0.0", by: f.alice})
	if err := f.store.AddDownloads(t.Context(), map[int64]int64{v1.ID: 1234, v2.ID: 7}); err != nil {
		t.Fatal(err)
	}
	body := serve(t, newUI(f, Config{}, nil), "/crates/apple").Body.String()
	for vers, n := range map[string]string{"1.0.0": "1,234", "2.0.0": "7"} {
		re := regexp.MustCompile(`(?s)>` + regexp.QuoteMeta(vers) + `</a></td>\s*<td>.*?</td>\s*<td class="num downloads">` + n + `</td>`)
		if !re.MatchString(body) {
			t.Errorf("version %s: want %s downloads in its row", vers, n)
		}
	}
}

func TestUserPage(t *testing.T) {
	f := newFixture(t)
	f.publish(t, release{name: "zebra", vers: "1.0.0", by: f.alice})
	f.publish(t, release{name: "apple", vers: "1.0.0", by: f.alice})
	f.publish(t, release{name: "mango", vers: "1.0.0", by: f.bob})
	ui := newUI(f, Config{}, nil)

	w := serve(t, ui, "/users/alice")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /users/alice: %d", w.Code)
	}
	ul := w.Body.String()[strings.Index(w.Body.String(), `id="owned"`):]
	var got []string
	for _, m := range crateNameRE.FindAllStringSubmatch(ul, -1) {
		got = append(got, m[1])
	}
	if strings.Join(got, " ") != "apple zebra" {
		t.Errorf("alice's crates = %v, want apple zebra", got)
	}
	if strings.Contains(w.Body.String(), "alice@example.com") {
		t.Errorf("user page shows the e-mail address")
	}
	checkSecurityHeaders(t, w)
	// OpenID logins carry the provider's host and a colon.
	if w := serve(t, ui, "/users/gitlab.com:bob"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "/crates/mango") {
		t.Errorf("GET /users/gitlab.com:bob: %d, want mango listed", w.Code)
	}
	for _, path := range []string{"/users/nobody", "/users/%00", "/users/" + strings.Repeat("a", 300)} {
		if w := serve(t, ui, path); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
	}
	if w := serve(t, newUI(f, Config{AuthRequired: true}, nil), "/users/alice"); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "zebra") {
		t.Errorf("private registry: GET /users/alice: %d, want the private notice", w.Code)
	}
}

func TestFavicon(t *testing.T) {
	f := newFixture(t)
	w := serve(t, newUI(f, Config{}, nil), "/favicon.ico")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(w.Body.String(), "<svg") {
		t.Errorf("GET /favicon.ico: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
}

// TestFrame checks the pages other packages render in the layout: the
// caller's stricter headers stay, the content is not escaped twice, and the
// layout's header and navigation are there.
func TestFrame(t *testing.T) {
	f := newFixture(t)
	ui := newUI(f, Config{}, nil)
	w := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/me", nil)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'")
	ui.Page(w, r, http.StatusUnauthorized, "Log in", template.HTML(`<form id="login"></form>`))
	body := w.Body.String()
	if w.Code != http.StatusUnauthorized || w.Header().Get("Cache-Control") != "no-store" ||
		w.Header().Get("Content-Security-Policy") != "default-src 'none'; form-action 'self'" {
		t.Errorf("Page: %d, headers %v", w.Code, w.Header())
	}
	for _, want := range []string{`<form id="login"></form>`, `<header class="site-header">`, `<nav class="site-nav">`, `<title>Log in · acme</title>`} {
		if !strings.Contains(body, want) {
			t.Errorf("Page lacks %s", want)
		}
	}

	w = httptest.NewRecorder()
	ui.NotFound(w, r)
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `<header class="site-header">`) {
		t.Errorf("NotFound: %d", w.Code)
	}
	checkSecurityHeaders(t, w)
}
