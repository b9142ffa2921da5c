package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/registry"
	"github.com/crated/crated/sqlite"
)

func TestLoginJSON(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.run("/me", "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	checkNoStore(t, resp)

	want := `{"username":"127.0.0.1:alice","new_token":"cio000000000000000000000000000001","revoked_token":null}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
	calls := e.accounts.callList()
	if len(calls) != 1 {
		t.Fatalf("OIDCLogin called %d times, want 1", len(calls))
	}
	wantID := crated.Identity{
		Issuer:     e.op.issuer(),
		Subject:    "1001",
		IssuerHost: "127.0.0.1",
		Username:   "alice",
		Email:      "alice@example.com",
		Name:       "Alice Liddell",
		Groups:     []string{"firm/crate_owners"},
	}
	if !reflect.DeepEqual(calls[0].id, wantID) || calls[0].replace {
		t.Errorf("OIDCLogin(%+v, %v)\nwant OIDCLogin(%+v, false)", calls[0].id, calls[0].replace, wantID)
	}

	// The state cookie is gone after the callback.
	cb, _ := url.Parse(e.srv.URL + "/ktra/api/v1/openid/me")
	if c := e.browser.Jar.Cookies(cb); len(c) != 0 {
		t.Errorf("cookies left after the login: %v", c)
	}

	// The second /me shows the same token again, as in Ktra.
	_, body = e.run("/me", "application/json")
	want = `{"username":"127.0.0.1:alice","existing_token":"cio000000000000000000000000000001"}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("second login: body = %s\nwant   %s", got, want)
	}
}

func TestAuthorizeRequest(t *testing.T) {
	e := newEnv(t, nil)
	u := e.start("/me")
	if got, want := u.Scheme+"://"+u.Host+u.Path, e.op.issuer()+"/authorize"; got != want {
		t.Errorf("redirected to %s, want %s", got, want)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"client_id":             e.op.clientID,
		"response_type":         "code",
		"redirect_uri":          e.srv.URL + "/ktra/api/v1/openid/me",
		"scope":                 "openid profile email", // "openid" from additional_scopes not repeated
		"code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 20 {
			t.Errorf("%s = %q, want a long random value", k, q.Get(k))
		}
	}
	if q.Get("state") == q.Get("nonce") {
		t.Error("state and nonce are the same value")
	}

	// The store holds the state's hash only, with the nonce, the PKCE
	// verifier, the kind and the expiry.
	states := e.states.all()
	if len(states) != 1 {
		t.Fatalf("%d pending logins stored, want 1", len(states))
	}
	st := states[0]
	sum := sha256.Sum256([]byte(q.Get("state")))
	if st.Key != hex.EncodeToString(sum[:]) {
		t.Errorf("stored key %q is not the SHA-256 of the state", st.Key)
	}
	if st.Nonce != q.Get("nonce") || st.Kind != "me" || !st.ExpiresAt.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Errorf("stored %+v", st)
	}
	vsum := sha256.Sum256([]byte(st.PKCEVerifier))
	if b64(vsum[:]) != q.Get("code_challenge") {
		t.Error("code_challenge is not S256 of the stored verifier")
	}

	// /replace_token sends the replace callback of Ktra's book.
	u = e.start("/replace_token")
	if got, want := u.Query().Get("redirect_uri"), e.srv.URL+"/ktra/api/v1/openid/replace_token"; got != want {
		t.Errorf("replace redirect_uri = %q, want %q", got, want)
	}
}

func TestReplaceLogin(t *testing.T) {
	e := newEnv(t, nil)
	_, first := e.run("/me", "application/json")
	resp, body := e.run("/replace_token", "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var firstRes struct {
		NewToken string `json:"new_token"`
	}
	json.Unmarshal([]byte(first), &firstRes)
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got["revoked_token"] != firstRes.NewToken || got["new_token"] == firstRes.NewToken || got["new_token"] == nil {
		t.Errorf("replace login answered %s after %s", body, first)
	}
	calls := e.accounts.callList()
	if !calls[1].replace {
		t.Error("OIDCLogin was not asked to replace the token")
	}
}

// TestCallbackPaths: Ktra's book registers /replace_token, Ktra's code
// called back on /replace; both finish the login, and the login kind comes
// from the stored state, not from the path.
func TestCallbackPaths(t *testing.T) {
	for _, tc := range []struct {
		start, path string
		replace     bool
	}{
		{"/me", "/ktra/api/v1/openid/me", false},
		{"/replace_token", "/ktra/api/v1/openid/replace", true},
		{"/replace_token", "/ktra/api/v1/openid/replace_token", true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			e := newEnv(t, nil)
			back := e.authorize(e.start(tc.start))
			back.Path = tc.path
			resp, body := e.get(back.String(), "application/json")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if calls := e.accounts.callList(); len(calls) != 1 || calls[0].replace != tc.replace {
				t.Errorf("calls = %+v, want one with replace=%v", calls, tc.replace)
			}
		})
	}
}

func TestHTMLPage(t *testing.T) {
	e := newEnv(t, nil)
	e.op.set(func(p *fakeProvider) { p.userinfo = gitlabClaims("<script>alert(1)</script>") })
	resp, body := e.run("/me", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
	checkNoStore(t, resp)
	if strings.Contains(body, "<script>") {
		t.Errorf("the user name is not escaped:\n%s", body)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(pre(t, body, "result")), &res); err != nil {
		t.Fatalf("the <pre> does not hold JSON: %v", err)
	}
	token := res["new_token"].(string)
	if res["username"] != "127.0.0.1:<script>alert(1)</script>" || token == "" {
		t.Errorf("page JSON = %v", res)
	}
	if got := pre(t, body, "token"); got != token {
		t.Errorf("token shown = %q, want %q", got, token)
	}
	for _, s := range []string{"cargo login --registry &lt;name&gt;", "<code>cargo login</code>"} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	// No Accept header at all gets the page too.
	_, body = e.run("/me", "")
	if !strings.Contains(body, `<pre id="token">`) {
		t.Errorf("without Accept: not the HTML page:\n%s", body)
	}
}

func TestClaimShapes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mutate     func(*Config)
		userinfo   map[string]any
		idClaims   map[string]any
		wantUser   string
		wantGroups []string
	}{
		{name: "gitlab", userinfo: gitlabClaims("alice", "mygroup", "mygroup/sub"),
			wantUser: "alice", wantGroups: []string{"mygroup", "mygroup/sub"}},
		{name: "dex", userinfo: dexClaims("bob", "admins"),
			wantUser: "bob", wantGroups: []string{"admins"}},
		{name: "groups as one string", userinfo: map[string]any{"nickname": "carol", "groups": "solo"},
			wantUser: "carol", wantGroups: []string{"solo"}},
		{name: "non-string groups skipped", userinfo: map[string]any{"nickname": "dan", "groups": []any{"a", 7, nil, "b"}},
			wantUser: "dan", wantGroups: []string{"a", "b"}},
		{name: "claims only in the ID token", userinfo: map[string]any{},
			idClaims: map[string]any{"preferred_username": "erin", "groups": []any{"g"}},
			wantUser: "erin", wantGroups: []string{"g"}},
		{name: "userinfo wins over the ID token", userinfo: map[string]any{"nickname": "frank"},
			idClaims: map[string]any{"nickname": "old-frank"}, wantUser: "frank", wantGroups: nil},
		{name: "custom claims", mutate: func(c *Config) { c.UsernameClaim = "login"; c.GroupsClaim = "roles" },
			userinfo: map[string]any{"login": "gina", "nickname": "x", "roles": []any{"r1"}, "groups": []any{"g1"}},
			wantUser: "gina", wantGroups: []string{"r1"}},
		{name: "custom username claim falls back", mutate: func(c *Config) { c.UsernameClaim = "login" },
			userinfo: map[string]any{"preferred_username": "hank"}, wantUser: "hank", wantGroups: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.mutate)
			e.op.set(func(p *fakeProvider) { p.userinfo = tc.userinfo; p.idClaims = tc.idClaims })
			resp, body := e.run("/me", "application/json")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			id := e.accounts.callList()[0].id
			if id.Username != tc.wantUser || !slices.Equal(id.Groups, tc.wantGroups) {
				t.Errorf("user %q groups %q, want %q %q", id.Username, id.Groups, tc.wantUser, tc.wantGroups)
			}
		})
	}
}

func TestAllowLists(t *testing.T) {
	for _, tc := range []struct {
		name          string
		groups, users []string
		nickname      string
		userGroups    []string
		allowed       bool
	}{
		{name: "no lists", nickname: "alice", allowed: true},
		{name: "empty lists", groups: []string{}, users: []string{}, nickname: "alice", allowed: true},
		{name: "group", groups: []string{"firm/crate_owners"}, nickname: "alice", userGroups: []string{"firm", "firm/crate_owners"}, allowed: true},
		{name: "user", users: []string{"alice"}, groups: []string{"other"}, nickname: "alice", userGroups: []string{"firm"}, allowed: true},
		{name: "refused", groups: []string{"firm/crate_owners"}, users: []string{"bob"}, nickname: "alice", userGroups: []string{"firm"}, allowed: false},
		{name: "group paths match exactly", groups: []string{"firm"}, nickname: "alice", userGroups: []string{"firm/sub"}, allowed: false},
		{name: "user names match exactly", users: []string{"Alice"}, nickname: "alice", allowed: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.AuthorizedGroups = tc.groups; c.AuthorizedUsers = tc.users })
			e.op.set(func(p *fakeProvider) { p.userinfo = gitlabClaims(tc.nickname, tc.userGroups...) })
			resp, body := e.run("/me", "")
			calls := e.accounts.callList()
			if tc.allowed {
				if resp.StatusCode != http.StatusOK || len(calls) != 1 {
					t.Fatalf("status %d, %d account calls; body: %s", resp.StatusCode, len(calls), body)
				}
				return
			}
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body: %s", resp.StatusCode, body)
			}
			if len(calls) != 0 {
				t.Errorf("refused user reached OIDCLogin: %+v", calls)
			}
			if strings.Contains(body, `id="token"`) || !strings.Contains(body, "127.0.0.1:"+tc.nickname+" may not log in") {
				t.Errorf("refusal page:\n%s", body)
			}
			checkNoStore(t, resp)
		})
	}
}

// TestRefused covers every way a callback or an ID token must be refused:
// no token shown, no account touched.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		provider func(p *fakeProvider)
		status   int
		message  string
	}{
		{"wrong nonce", func(p *fakeProvider) { p.wrongNonce = true }, 403, "does not belong to this login"},
		{"wrong audience", func(p *fakeProvider) { p.wrongAudience = true }, 403, "did not verify"},
		{"expired ID token", func(p *fakeProvider) { p.expired = true }, 403, "did not verify"},
		{"bad signature", func(p *fakeProvider) { p.badSignature = true }, 403, "did not verify"},
		{"no ID token", func(p *fakeProvider) { p.noIDToken = true }, 403, "no ID token"},
		{"userinfo for another subject", func(p *fakeProvider) { p.userinfoSub = "666" }, 403, "does not match"},
		{"no user name", func(p *fakeProvider) { p.userinfo = map[string]any{"email": "x@example.com"} }, 403, "no user name"},
		{"wrong client secret", func(p *fakeProvider) { p.clientSecret = "rotated" }, 500, "Something went wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.op.set(tc.provider)
			resp, body := e.run("/me", "")
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.message) {
				t.Errorf("status %d, want %d with %q; body:\n%s", resp.StatusCode, tc.status, tc.message, body)
			}
			if strings.Contains(body, `id="token"`) || len(e.accounts.callList()) != 0 {
				t.Error("a refused login showed a token or reached OIDCLogin")
			}
			checkNoStore(t, resp)
		})
	}
}

// TestPKCE: the fake token endpoint checks the verifier against the
// challenge; a login whose stored verifier is not the one behind the
// challenge fails at the exchange.
func TestPKCE(t *testing.T) {
	e := newEnv(t, nil)
	back := e.authorize(e.start("/me"))
	e.states.mu.Lock()
	for k, st := range e.states.m {
		st.PKCEVerifier = "a-verifier-that-does-not-match-the-challenge-sent-to-authorize"
		e.states.m[k] = st
	}
	e.states.mu.Unlock()
	resp, body := e.get(back.String(), "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "refused the login code (invalid_grant)") {
		t.Errorf("status %d; body:\n%s", resp.StatusCode, body)
	}
	if len(e.accounts.callList()) != 0 {
		t.Error("OIDCLogin called")
	}
}

func TestState(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		e := newEnv(t, nil)
		back := e.authorize(e.start("/me"))
		q := back.Query()
		q.Del("state")
		back.RawQuery = q.Encode()
		resp, body := e.get(back.String(), "")
		expectPage(t, resp, body, 400, "no state parameter")
	})
	t.Run("unknown", func(t *testing.T) {
		e := newEnv(t, nil)
		back := e.authorize(e.start("/me"))
		q := back.Query()
		q.Set("state", "made-up")
		back.RawQuery = q.Encode()
		resp, body := e.get(back.String(), "")
		expectPage(t, resp, body, 400, "unknown, was already used, or has expired")
	})
	t.Run("replayed", func(t *testing.T) {
		e := newEnv(t, nil)
		back := e.authorize(e.start("/me"))
		resp, body := e.get(back.String(), "")
		expectPage(t, resp, body, 200, "Logged in as")
		resp, body = e.get(back.String(), "")
		expectPage(t, resp, body, 400, "unknown, was already used, or has expired")
		if n := len(e.accounts.callList()); n != 1 {
			t.Errorf("OIDCLogin called %d times, want 1", n)
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.StateTTL = 5 * time.Minute })
		back := e.authorize(e.start("/me"))
		e.clock.Add(5*time.Minute + time.Second)
		resp, body := e.get(back.String(), "")
		expectPage(t, resp, body, 400, "has expired")
	})
	t.Run("not yet expired", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.StateTTL = 5 * time.Minute })
		back := e.authorize(e.start("/me"))
		e.clock.Add(4 * time.Minute)
		resp, body := e.get(back.String(), "")
		expectPage(t, resp, body, 200, "Logged in as")
	})
	t.Run("other browser", func(t *testing.T) {
		e := newEnv(t, nil)
		back := e.authorize(e.start("/me"))
		resp, err := http.Get(back.String()) // no cookie jar
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
		if len(e.accounts.callList()) != 0 {
			t.Error("OIDCLogin called")
		}
	})
	t.Run("missing code", func(t *testing.T) {
		e := newEnv(t, nil)
		back := e.authorize(e.start("/me"))
		q := back.Query()
		q.Del("code")
		back.RawQuery = q.Encode()
		resp, body := e.get(back.String(), "")
		expectPage(t, resp, body, 400, "no authorization code")
	})
	t.Run("unknown code", func(t *testing.T) {
		e := newEnv(t, nil)
		back := e.authorize(e.start("/me"))
		q := back.Query()
		q.Set("code", "forged")
		back.RawQuery = q.Encode()
		resp, body := e.get(back.String(), "")
		expectPage(t, resp, body, 400, "invalid_grant")
	})
}

func TestProviderError(t *testing.T) {
	e := newEnv(t, nil)
	e.op.set(func(p *fakeProvider) {
		p.authorizeError = "access_denied"
		p.authorizeDesc = `The user <img src=x onerror=alert(1)> said "no"`
	})
	resp, body := e.run("/me", "")
	expectPage(t, resp, body, 403, "The identity provider refused the login: access_denied: The user &lt;img src=x onerror=alert(1)&gt; said &#34;no&#34;")
	if strings.Contains(body, "<img") {
		t.Error("the provider's error is not escaped")
	}
	if n := len(e.states.all()); n != 0 {
		t.Errorf("%d pending logins left after the provider's error", n)
	}

	e.op.set(func(p *fakeProvider) { p.authorizeError = "invalid_scope"; p.authorizeDesc = "" })
	resp, body = e.run("/me", "application/json")
	if resp.StatusCode != 400 || strings.TrimSpace(body) != `{"errors":[{"detail":"The identity provider refused the login: invalid_scope"}]}` {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
}

func TestAccountErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.accounts.err = errors.New("pq: connection refused to db.internal:5432 password=hunter2")
	resp, body := e.run("/me", "")
	expectPage(t, resp, body, 500, "Something went wrong")
	if strings.Contains(body, "hunter2") || strings.Contains(body, "db.internal") {
		t.Errorf("internal error leaked:\n%s", body)
	}
	if !strings.Contains(e.logs.String(), "db.internal") {
		t.Error("the internal error was not logged")
	}

	e.accounts.err = crated.Errorf(crated.ECONFLICT, "the login name 127.0.0.1:alice belongs to another user")
	resp, body = e.run("/me", "")
	expectPage(t, resp, body, 409, "belongs to another user")
}

// TestNoSecretsLogged: the logs of a whole login name no state, code,
// nonce, verifier or token.
func TestNoSecretsLogged(t *testing.T) {
	e := newEnv(t, nil)
	u := e.start("/me")
	back := e.authorize(u)
	_, body := e.get(back.String(), "application/json")
	var res map[string]any
	json.Unmarshal([]byte(body), &res)
	logs := e.logs.String()
	if !strings.Contains(logs, "openid login") {
		t.Fatalf("the login was not logged:\n%s", logs)
	}
	for name, secret := range map[string]string{
		"state": u.Query().Get("state"), "nonce": u.Query().Get("nonce"),
		"code": back.Query().Get("code"), "token": res["new_token"].(string),
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s is in the logs:\n%s", name, logs)
		}
	}
}

func TestNew(t *testing.T) {
	op := newFakeProvider(t, time.Now)
	base := Config{IssuerURL: op.issuer(), RedirectURL: "https://crates.example.com", ClientID: "c", ClientSecret: "s"}
	states, accounts := newMemStates(), &fakeAccounts{}

	t.Run("redirect URLs", func(t *testing.T) {
		for _, tc := range []struct{ redirect, want string }{
			{"https://crates.example.com", "https://crates.example.com/ktra/api/v1/openid/me"},
			{"https://crates.example.com/", "https://crates.example.com/ktra/api/v1/openid/me"},
			{"https://crates.example.com/ktra/api/v1/openid/me", "https://crates.example.com/ktra/api/v1/openid/me"},
			{"https://crates.example.com/ktra/api/v1/openid/replace_token/", "https://crates.example.com/ktra/api/v1/openid/me"},
			{"https://example.com/registry/", "https://example.com/registry/ktra/api/v1/openid/me"},
		} {
			cfg := base
			cfg.RedirectURL = tc.redirect
			l, err := New(context.Background(), cfg, states, accounts, nil)
			if err != nil {
				t.Fatalf("%s: %v", tc.redirect, err)
			}
			if got := l.CallbackURLs()[0]; got != tc.want {
				t.Errorf("redirect_url %s: callback %s, want %s", tc.redirect, got, tc.want)
			}
		}
	})
	t.Run("issuer with a trailing slash", func(t *testing.T) {
		cfg := base
		cfg.IssuerURL = op.issuer() + "/"
		if _, err := New(context.Background(), cfg, states, accounts, nil); err != nil {
			t.Error(err)
		}
	})

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no issuer", func(c *Config) { c.IssuerURL = "" }, "issuer_url is required"},
		{"no client", func(c *Config) { c.ClientID = "" }, "client_id is required"},
		{"no redirect", func(c *Config) { c.RedirectURL = "" }, "redirect_url is required"},
		{"relative redirect", func(c *Config) { c.RedirectURL = "crates.example.com" }, "is not an http(s) URL"},
		{"unreachable", func(c *Config) { c.IssuerURL = dead.URL }, "cannot read " + dead.URL + "/.well-known/openid-configuration"},
		{"other issuer", func(c *Config) { c.IssuerURL = op.issuer() + "/other" }, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mutate(&cfg)
			_, err := New(context.Background(), cfg, states, accounts, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}

	t.Run("no userinfo endpoint", func(t *testing.T) {
		op.set(func(p *fakeProvider) { p.noUserinfo = true })
		_, err := New(context.Background(), base, states, accounts, nil)
		want := "openid_config: the provider at " + op.issuer() + " publishes no userinfo_endpoint; crated needs it to read groups and the user name"
		if err == nil || crated.ErrorMessage(err) != want {
			t.Errorf("New: %v\nwant %s", err, want)
		}
	})
}

func TestWantsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                 false,
		"application/json":                 true,
		"application/json; charset=utf-8":  true,
		"text/html,application/json;q=0.9": false,
		"*/*":                              false,
		"application/json;q=0, text/plain": false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		if got := wantsJSON(r); got != want {
			t.Errorf("wantsJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}

func TestScopes(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "openid"},
		{[]string{"profile", "email"}, "openid profile email"},
		{[]string{"openid", "profile", "email", "profile", " ", "groups"}, "openid profile email groups"},
	} {
		if got := strings.Join(scopes(tc.in), " "); got != tc.want {
			t.Errorf("scopes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func checkNoStore(t *testing.T, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q, want no-referrer", got)
	}
}

func expectPage(t *testing.T, resp *http.Response, body string, status int, contains string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, contains) {
		t.Errorf("status %d, want %d with %q; body:\n%s", resp.StatusCode, status, contains, body)
	}
}

// TestProviderTimeout: a provider that stops answering during a login gives a
// 503 page once http_timeout has passed, whichever call hangs, instead of a
// hang or a misleading refusal.
func TestProviderTimeout(t *testing.T) {
	for _, path := range []string{"/token", "/userinfo", "/keys"} {
		t.Run(path, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.HTTPTimeout = 200 * time.Millisecond })
			e.op.set(func(p *fakeProvider) { p.stall = path })
			resp, body := e.run("/me", "")
			expectPage(t, resp, body, 503, "Try again later")
			if n := len(e.accounts.callList()); n != 0 {
				t.Errorf("%d accounts calls after a failed login", n)
			}
		})
	}
}

// TestRefusedUserName: with the registry service behind the login, a
// provider user named like another account's login ("HOST:alice", whose
// login would be "HOST:HOST:alice") gets a 403 page and no account.
func TestRefusedUserName(t *testing.T) {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, nil)
	e.accounts.next = registry.New(st, nil, registry.Config{Logger: slog.New(slog.DiscardHandler)})
	host := e.login.issuerHost
	for _, name := range []string{host + ":alice", ".."} {
		e.op.set(func(p *fakeProvider) { p.userinfo = gitlabClaims(name) })
		resp, body := e.run("/me", "")
		expectPage(t, resp, body, 403, "cannot be used on this registry")
		if strings.Contains(body, `id="token"`) {
			t.Errorf("a refused name got a token:\n%s", body)
		}
	}
	if users, err := st.ListUsers(t.Context()); err != nil || len(users) != 0 {
		t.Errorf("refused logins created %d users (%v)", len(users), err)
	}
	// A valid name still logs in.
	e.op.set(func(p *fakeProvider) { p.userinfo = gitlabClaims("alice") })
	resp, body := e.run("/me", "")
	expectPage(t, resp, body, 200, host+":alice")
}
