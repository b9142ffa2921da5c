package httpapi_test

import (
	"html/template"
	"net/http"
	"strings"
	"testing"

	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/registry"
)

// stubPages marks what it renders, so the test sees which renderer
// answered.
type stubPages struct{}

func (stubPages) Page(w http.ResponseWriter, r *http.Request, status int, title string, content template.HTML) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte("<layout>" + title + "|" + string(content) + "</layout>"))
}

func (stubPages) NotFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("<layout>404</layout>"))
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestNotFoundByClient: a browser gets the site's 404 page for an unknown
// path; cargo, curl and JSON clients get cargo's error body, and the paths
// cargo and API clients use always answer JSON.
func TestNotFoundByClient(t *testing.T) {
	e := newEnv(t, httpapi.Config{Pages: stubPages{}}, registry.Config{})
	for _, tt := range []struct {
		method, path, accept string
		html                 bool
	}{
		{"GET", "/nothing/here", browserAccept, true},
		{"HEAD", "/nothing/here", browserAccept, true},
		{"GET", "/nothing/here", "", false},
		{"GET", "/nothing/here", "*/*", false},
		{"GET", "/nothing/here", "application/json", false},
		{"GET", "/nothing/here", "text/html;q=0", false},
		{"POST", "/nothing/here", browserAccept, false},
		{"GET", "/api/v1/nothing/at/all/here", browserAccept, false},
		{"GET", "/api", browserAccept, false},
		{"GET", "/apiary", browserAccept, true},
		{"GET", "/index/zz/zz/nothing/more", browserAccept, false},
		{"GET", "/dl/a/b/c/d", browserAccept, false},
		{"GET", "/ktra/api/v1/nothing", browserAccept, false},
	} {
		resp := e.do(t, tt.method, tt.path, "", nil, "Accept", tt.accept)
		body := string(readAll(t, resp))
		ctype := resp.Header.Get("Content-Type")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s (Accept %q): status %d, want 404", tt.method, tt.path, tt.accept, resp.StatusCode)
		}
		if tt.html != strings.HasPrefix(ctype, "text/html") {
			t.Errorf("%s %s (Accept %q): Content-Type %q, want HTML %v", tt.method, tt.path, tt.accept, ctype, tt.html)
		}
		if !tt.html && tt.method != "HEAD" && !strings.Contains(body, `{"errors":[{"detail":`) {
			t.Errorf("%s %s (Accept %q): not cargo's error body: %s", tt.method, tt.path, tt.accept, body)
		}
	}

	// Without a UI, even a browser gets JSON.
	bare := newEnv(t, httpapi.Config{}, registry.Config{})
	resp := bare.do(t, "GET", "/nothing/here", "", nil, "Accept", browserAccept)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("no UI: Content-Type %q, want JSON", ct)
	}
}

// TestMePageInLayout: the password page goes through Pages, with the
// registry's name in the cargo login line and no-store kept.
func TestMePageInLayout(t *testing.T) {
	e := newEnv(t, httpapi.Config{Pages: stubPages{}, PasswordLogin: true, RegistryName: "acme"}, registry.Config{PasswordLogin: true})
	resp := e.do(t, "GET", "/me", "", nil, "Accept", browserAccept)
	body := string(readAll(t, resp))
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "<layout>Log in|") || !strings.Contains(body, `name="password"`) {
		t.Errorf("GET /me: %d %s", resp.StatusCode, body)
	}
	if _, _, err := e.svc.CreateUser(t.Context(), "carol", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	resp = e.do(t, "POST", "/me", "", []byte("name=carol&password=correct+horse+battery+staple"),
		"Content-Type", "application/x-www-form-urlencoded")
	body = string(readAll(t, resp))
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "<layout>Your cargo token|") ||
		!strings.Contains(body, "cargo login --registry acme") {
		t.Errorf("POST /me: %d %s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token page Cache-Control = %q, want no-store", cc)
	}
}
