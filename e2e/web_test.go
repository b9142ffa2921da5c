package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

const alpha2Toml = `[package]
name = "alpha"
version = "0.2.0"
edition = "2021"
description = "The first letter, shared by everyone"
license = "MIT"
`

const alphaUserToml = `[package]
name = "alpha-user"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
alpha = { version = "0.1", registry = "crated" }
`

// browse GETs path as a browser (Accept: text/html) or, with accept "",
// as cargo does, and returns the status, content type and body.
func browse(t *testing.T, srv *testenv.Crated, path, accept string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// section returns the HTML of the element with id, up to its closing tag
// name, or "".
func section(body, id, closing string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest, closing); j >= 0 {
		return rest[:j]
	}
	return rest
}

var crateLinkRE = regexp.MustCompile(`class="crate-name" href="/crates/([^"]+)"`)

func crateLinks(html string) []string {
	var out []string
	for _, m := range crateLinkRE.FindAllStringSubmatch(html, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestWebWithCargo publishes real crates with stock cargo and downloads
// them through cargo, then reads the pages a browser sees: the home page's
// recent and most downloaded listings, per-version download counts, the
// user pages, the /me pages in the site's layout with the configured
// registry name, the 404 of a browser beside cargo's JSON, and the favicon.
func TestWebWithCargo(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.RegistryName = "acme-internal" })
	alice := srv.AddUser("alice")
	bob := srv.AddUser("bob")
	c := testenv.NewCargo(t, srv.IndexURL(), "")

	publish(t, c, testenv.Package(t, alphaToml, nil), alice)
	publish(t, c, testenv.Package(t, gammaToml, nil), bob)
	beta := testenv.Package(t, betaToml, map[string]string{"src/lib.rs": betaLib, "build.rs": "fn main() { let _ = gamma::hello(); }\n"})
	publish(t, c, beta, alice)
	publish(t, c, testenv.Package(t, alpha2Toml, nil), alice)

	// Recently published: alpha (0.2.0 came last), beta, gamma.
	status, ctype, home := browse(t, srv, "/", browser)
	if status != 200 || !strings.HasPrefix(ctype, "text/html") {
		t.Fatalf("GET /: %d %s", status, ctype)
	}
	if got := crateLinks(section(home, "recent", "</ul>")); strings.Join(got, " ") != "alpha beta gamma" {
		t.Errorf("recently published = %v, want [alpha beta gamma]", got)
	}

	// Downloads through cargo: the consumer takes beta, alpha 0.1.0 and
	// gamma; a second cargo home takes alpha 0.1.0 again.
	consumer := testenv.Package(t, consumerToml, map[string]string{"src/main.rs": consumerMain})
	c.MustRun(consumer, "fetch")
	c2 := testenv.NewCargo(t, srv.IndexURL(), "")
	c2.MustRun(testenv.Package(t, alphaUserToml, map[string]string{"src/main.rs": "fn main() {}\n"}), "fetch")
	if err := srv.HTTP.FlushDownloads(context.Background()); err != nil {
		t.Fatal(err)
	}

	_, _, home = browse(t, srv, "/", browser)
	popular := section(home, "popular", "</ol>")
	if got := crateLinks(popular); strings.Join(got, " ") != "alpha beta gamma" {
		t.Errorf("most downloaded = %v, want [alpha beta gamma] (2, 1, 1 downloads)", got)
	}
	if !strings.Contains(popular, `<span class="downloads">2</span>`) {
		t.Errorf("most downloaded lacks alpha's 2 downloads:\n%s", popular)
	}

	// The crate page counts per version: 0.1.0 was downloaded twice,
	// 0.2.0 never.
	status, _, page := browse(t, srv, "/crates/alpha", browser)
	if status != 200 {
		t.Fatalf("GET /crates/alpha: %d", status)
	}
	versions := section(page, "tab-versions", "</table>")
	for vers, n := range map[string]string{"0.1.0": "2", "0.2.0": "0"} {
		re := regexp.MustCompile(`(?s)>` + regexp.QuoteMeta(vers) + `</a></td>\s*<td>.*?</td>\s*<td class="num downloads">` + n + `</td>`)
		if !re.MatchString(versions) {
			t.Errorf("alpha %s: want %s downloads in the versions table:\n%s", vers, n, versions)
		}
	}
	if !strings.Contains(page, `<a href="/users/alice">alice</a>`) {
		t.Errorf("crate page does not link its owner's page")
	}
	if !strings.Contains(page, `--registry acme-internal`) {
		t.Errorf("crate page does not use registry_name in its snippets")
	}

	// User pages list the crates each owns.
	for login, want := range map[string]string{"alice": "alpha beta", "bob": "gamma"} {
		status, _, body := browse(t, srv, "/users/"+login, browser)
		if got := crateLinks(section(body, "owned", "</ul>")); status != 200 || strings.Join(got, " ") != want {
			t.Errorf("GET /users/%s: %d, crates %v, want %s", login, status, got, want)
		}
	}
	if status, _, _ := browse(t, srv, "/users/nobody", browser); status != 404 {
		t.Errorf("GET /users/nobody: %d, want 404", status)
	}

	// /me: the password form and its result share the layout, and tell
	// the configured name.
	if _, _, err := srv.Service.CreateUser(context.Background(), "carol", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	status, _, form := browse(t, srv, "/me", browser)
	if status != 200 || !strings.Contains(form, `<header class="site-header">`) || !strings.Contains(form, `<nav class="site-nav">`) ||
		!strings.Contains(form, `name="password"`) || !strings.Contains(form, `/static/style.css`) {
		t.Errorf("GET /me: %d, want the password form in the site layout:\n%s", status, form)
	}
	resp, err := http.PostForm(srv.URL+"/me", url.Values{"name": {"carol"}, "password": {"correct horse battery staple"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	result := string(b)
	if resp.StatusCode != 200 || !strings.Contains(result, `<header class="site-header">`) ||
		!strings.Contains(result, `cargo login --registry acme-internal`) || !strings.Contains(result, `id="token"`) {
		t.Errorf("POST /me: %d, want the token in the site layout with `cargo login --registry acme-internal`:\n%s", resp.StatusCode, result)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token page Cache-Control = %q, want no-store", cc)
	}

	// Unknown paths: a page for a browser, cargo's JSON for everyone else
	// and for the API and index paths whatever the Accept header says.
	for _, tt := range []struct {
		path, accept, ctype string
	}{
		{"/no/such/page", browser, "text/html"},
		{"/no/such/page", "", "application/json"},
		{"/no/such/page", "application/json", "application/json"},
		{"/api/v1/nothing/here/at/all", browser, "application/json"},
		{"/index/no/such/file/here", browser, "application/json"},
	} {
		status, ctype, body := browse(t, srv, tt.path, tt.accept)
		if status != 404 || !strings.HasPrefix(ctype, tt.ctype) {
			t.Errorf("GET %s (Accept %q): %d %s, want 404 %s", tt.path, tt.accept, status, ctype, tt.ctype)
		}
		if tt.ctype == "text/html" && !strings.Contains(body, `<header class="site-header">`) {
			t.Errorf("browser 404 is not in the site layout:\n%s", body)
		}
		if tt.ctype == "application/json" && !strings.Contains(body, `{"errors":[{"detail":`) {
			t.Errorf("GET %s: not cargo's error body: %s", tt.path, body)
		}
	}

	// The favicon, where browsers look without a link.
	status, ctype, icon := browse(t, srv, "/favicon.ico", "")
	if status != 200 || ctype != "image/svg+xml" || !strings.Contains(icon, "<svg") {
		t.Errorf("GET /favicon.ico: %d %s", status, ctype)
	}
}
