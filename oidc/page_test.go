package oidc

import (
	"html/template"
	"net/http"
	"strings"
	"testing"
)

// layoutPages stands for the web UI's layout: it wraps what it is given in
// a marker, so the test sees that the page went through it.
type layoutPages struct{}

func (layoutPages) Page(w http.ResponseWriter, r *http.Request, status int, title string, content template.HTML) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(`<header class="site-header">` + template.HTMLEscapeString(title) + `</header>` + string(content)))
}

func (layoutPages) NotFound(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }

// TestPagesInLayout: with Pages set, the result and refusal pages are
// rendered inside the site's layout, keep no-store, and the result names
// the configured registry in its cargo login line.
func TestPagesInLayout(t *testing.T) {
	layout := func(c *Config) { c.Pages, c.RegistryName = layoutPages{}, "acme" }
	e := newEnv(t, layout)
	resp, body := e.run("/me", "text/html")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, `<header class="site-header">Logged in as`) {
		t.Fatalf("result: status %d, body:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, "cargo login --registry acme") || !strings.Contains(body, `<pre id="token">`) {
		t.Errorf("result page lacks the registry's login line or the token:\n%s", body)
	}
	checkNoStore(t, resp)

	e = newEnv(t, layout)
	e.op.set(func(p *fakeProvider) { p.wrongNonce = true })
	resp, body = e.run("/me", "text/html")
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(body, `<header class="site-header">Login failed`) {
		t.Errorf("refusal: status %d, body:\n%s", resp.StatusCode, body)
	}
	checkNoStore(t, resp)
}
