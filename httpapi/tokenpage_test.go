package httpapi_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/registry"
)

// TestTokensPage: the browser page takes a token once into an HttpOnly,
// SameSite=Strict cookie limited to /me/, lists tokens without values,
// creates one whose value appears once in the answer, revokes, refuses a
// cross-site post, shows a crate's audit log to its owners only, and
// forgets the token.
func TestTokensPage(t *testing.T) {
	e := newEnv(t, httpapi.Config{}, registry.Config{})
	_, login, err := e.svc.CreateUser(t.Context(), "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	_, bobLogin, err := e.svc.CreateUser(t.Context(), "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	publishFrame(t, e, login, "alpha", "1.0.0")
	jar, _ := cookiejar.New(nil)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	browser := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := browser.Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(readAll(t, resp))
	}
	post := func(form url.Values, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.URL+"/me/tokens", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(readAll(t, resp))
	}

	if code, body := get("/me/tokens"); code != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("page without a token: %d %s", code, body)
	}
	if resp, body := post(url.Values{"op": {"signin"}, "token": {"crated_wrong"}}); resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
		t.Errorf("sign in with a wrong token: %d %v %s", resp.StatusCode, resp.Cookies(), body)
	}
	resp, _ := post(url.Values{"op": {"signin"}, "token": {login}})
	if resp.StatusCode != 303 || len(resp.Cookies()) != 1 {
		t.Fatalf("sign in: %d %v", resp.StatusCode, resp.Cookies())
	}
	ck := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/me/", "Max-Age="} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %s", ck, want)
		}
	}
	code, body := get("/me/tokens")
	if code != 200 || !strings.Contains(body, "alice") || !strings.Contains(body, "login token") || strings.Contains(body, login) {
		t.Fatalf("token list: %d %s", code, body)
	}

	_, body = post(url.Values{"op": {"create"}, "name": {"ci"}, "scope": {"yank"}, "crates": {"alpha, beta-*"}, "days": {"7"}})
	value := regexp.MustCompile(`crated_[A-Za-z0-9_-]{43}`).FindString(body)
	if value == "" || strings.Count(body, value) != 1 || !strings.Contains(body, "alpha, beta-*") {
		t.Fatalf("create: %s", body)
	}
	if resp := e.do(t, "DELETE", "/api/v1/crates/alpha/1.0.0/yank", value, nil); resp.StatusCode != 200 {
		t.Errorf("the page's yank token cannot yank: %d %s", resp.StatusCode, readAll(t, resp))
	}
	if resp := e.do(t, "PUT", "/api/v1/crates/new", value, frameFor(t, "alpha", "1.1.0")); resp.StatusCode != 403 {
		t.Errorf("the page's yank token published: %d", resp.StatusCode)
	}
	if _, body := get("/me/tokens"); strings.Contains(body, value) {
		t.Error("the list shows the new token's value")
	}
	if resp, _ := post(url.Values{"op": {"create"}, "name": {"evil"}}, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != 403 {
		t.Errorf("cross-site create: %d", resp.StatusCode)
	}

	toks, err := e.store.UserTokens(t.Context(), 1)
	if err != nil || len(toks) != 2 {
		t.Fatalf("tokens: %v %v", toks, err)
	}
	if resp, body := post(url.Values{"op": {"revoke"}, "id": {itoa(toks[1].ID)}}); resp.StatusCode != 303 {
		t.Errorf("revoke: %d %s", resp.StatusCode, body)
	}
	if resp := e.do(t, "DELETE", "/api/v1/crates/alpha/1.0.0/yank", value, nil); resp.StatusCode != 403 {
		t.Errorf("revoked token still works: %d", resp.StatusCode)
	}

	if code, body := get("/me/audit/alpha"); code != 200 || !strings.Contains(body, "yank") || !strings.Contains(body, "“ci”") || !strings.Contains(body, "publish") {
		t.Errorf("audit page: %d %s", code, body)
	}
	post(url.Values{"op": {"forget"}})
	if code, body := get("/me/tokens"); code != 200 || !strings.Contains(body, `name="token"`) {
		t.Errorf("after forget: %d %s", code, body)
	}
	post(url.Values{"op": {"signin"}, "token": {bobLogin}})
	if code, _ := get("/me/audit/alpha"); code != 403 {
		t.Errorf("audit page for a non-owner: %d", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
