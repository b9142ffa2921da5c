package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// The OpenID tests log users in through a real Dex (CRATED_TEST_DEX_BIN),
// except those about the start-time checks and the password API, which
// only need a discovery document. Dex's issuer is http://127.0.0.1:PORT/dex,
// so logins are "127.0.0.1:NAME".

// dexUser is a Dex password user whose password is NAME-password and whose
// preferred_username is NAME.
func dexUser(name string, groups ...string) testenv.DexUser {
	return testenv.DexUser{
		Email:             name + "@example.com",
		Password:          name + "-password",
		Username:          strings.ToUpper(name[:1]) + name[1:],
		PreferredUsername: name,
		UserID:            "id-" + name,
		Groups:            groups,
	}
}

// oidcLogin logs user in from a fresh browser, starting at path (/me or
// /replace_token), and returns crated's final answer. With asJSON the
// browser asks crated for JSON.
func oidcLogin(t *testing.T, o *testenv.OIDC, path string, user testenv.DexUser, asJSON bool) (*http.Response, []byte) {
	t.Helper()
	resp := o.Dex.Login(t, o.Browser(t, asJSON), o.URL+path, user.Email, user.Password)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

var (
	resultRE = regexp.MustCompile(`(?s)<pre id="result">(.*?)</pre>`)
	tokenRE  = regexp.MustCompile(`(?s)<pre id="token">(.*?)</pre>`)
)

// loginResult is crated's answer to a login, kept as raw members so that
// the exact shape (which keys, null or absent) can be checked.
type loginResult map[string]json.RawMessage

func (r loginResult) str(key string) string {
	var s string
	json.Unmarshal(r[key], &s)
	return s
}

func (r loginResult) keys() []string {
	var k []string
	for key := range r {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// parseResult reads a successful login: the JSON itself, or the JSON shown
// on the HTML page (which must show the same token in its token box).
func parseResult(t *testing.T, resp *http.Response, body []byte, asJSON bool) loginResult {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login ended at %s with status %d:\n%s", resp.Request.URL.Redacted(), resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token answer has Cache-Control %q, want no-store", cc)
	}
	js := body
	if !asJSON {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("token page has Content-Type %q", ct)
		}
		m := resultRE.FindSubmatch(body)
		if m == nil {
			t.Fatalf("no result on the token page:\n%s", body)
		}
		js = []byte(html.UnescapeString(string(m[1])))
	} else if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("JSON answer has Content-Type %q", ct)
	}
	var res loginResult
	if err := json.Unmarshal(js, &res); err != nil {
		t.Fatalf("login result: %v\n%s", err, js)
	}
	if !asJSON {
		tok := res.str("new_token") + res.str("existing_token")
		if m := tokenRE.FindSubmatch(body); m == nil || html.UnescapeString(string(m[1])) != tok {
			t.Errorf("the token box does not show the token of the result:\n%s", body)
		}
	}
	return res
}

func wantKeys(t *testing.T, what string, res loginResult, keys ...string) {
	t.Helper()
	slices.Sort(keys)
	if got := res.keys(); !slices.Equal(got, keys) {
		t.Errorf("%s: keys %q, want %q", what, got, keys)
	}
}

const openidHelloToml = `[package]
name = "openid_hello"
version = "0.1.0"
edition = "2021"
description = "Published by a user who logged in through OpenID"
license = "MIT"
`

// TestOpenIDCargo is the whole OpenID story with stock cargo: a login
// through /me gives a token (JSON and HTML), a second login shows the same
// token again, /replace_token revokes it at once, the token publishes,
// yanks and adds another OpenID user as owner, and pulls need no token.
func TestOpenIDCargo(t *testing.T) {
	alice, bob := dexUser("alice", "crate-owners"), dexUser("bob")
	o := testenv.StartOIDC(t, testenv.OIDCOptions{
		Users:  []testenv.DexUser{alice, bob},
		OpenID: `username_claim = "preferred_username"`,
	})

	// First login, as `curl -H 'Accept: application/json'`: a new token.
	resp, body := oidcLogin(t, o, "/me", alice, true)
	first := parseResult(t, resp, body, true)
	wantKeys(t, "first login", first, "username", "new_token", "revoked_token")
	if first.str("username") != "127.0.0.1:alice" || string(first["revoked_token"]) != "null" {
		t.Errorf("first login: %s", body)
	}
	token := first.str("new_token")
	if token == "" {
		t.Fatalf("first login gave no token: %s", body)
	}

	// Second login, in a browser: the same token again.
	resp, body = oidcLogin(t, o, "/me", alice, false)
	again := parseResult(t, resp, body, false)
	wantKeys(t, "second login", again, "username", "existing_token")
	if again.str("username") != "127.0.0.1:alice" || again.str("existing_token") != token {
		t.Errorf("second login did not show the same token for 127.0.0.1:alice: %v", again)
	}

	// bob logs in once, so that he exists and can be added as an owner.
	resp, body = oidcLogin(t, o, "/me", bob, true)
	bobToken := parseResult(t, resp, body, true).str("new_token")

	c := testenv.NewCargo(t, o.IndexURL(), "")
	pkg := testenv.Package(t, openidHelloToml, nil)
	publish(t, c, pkg, token)
	if status, line := indexFile(t, o.Crated, "op/en/openid_hello"); status != 200 || !strings.Contains(line, `"vers":"0.1.0"`) {
		t.Fatalf("index after publish: %d %s", status, line)
	}

	// /replace_token: a new token, the old one named as revoked and dead at once.
	resp, body = oidcLogin(t, o, "/replace_token", alice, true)
	repl := parseResult(t, resp, body, true)
	wantKeys(t, "replace", repl, "username", "new_token", "revoked_token")
	newToken := repl.str("new_token")
	if repl.str("username") != "127.0.0.1:alice" || repl.str("revoked_token") != token || newToken == "" || newToken == token {
		t.Fatalf("replace_token: %s", body)
	}
	out := c.MustFail(pkg, "yank", "--registry", "crated", "--token", token, "openid_hello@0.1.0")
	if !strings.Contains(out, "403") {
		t.Errorf("the replaced token should be refused with 403: %s", out)
	}
	resp, body = oidcLogin(t, o, "/me", alice, true)
	if shown := parseResult(t, resp, body, true).str("existing_token"); shown != newToken {
		t.Errorf("/me after replace shows %q, want the new token", shown)
	}

	// Yank and unyank with the new token.
	c.MustRun(pkg, "yank", "--registry", "crated", "--token", newToken, "openid_hello@0.1.0")
	if _, line := indexFile(t, o.Crated, "op/en/openid_hello"); !strings.Contains(line, `"yanked":true`) {
		t.Errorf("after yank: %s", line)
	}
	c.MustRun(pkg, "yank", "--undo", "--registry", "crated", "--token", newToken, "openid_hello@0.1.0")
	if _, line := indexFile(t, o.Crated, "op/en/openid_hello"); !strings.Contains(line, `"yanked":false`) {
		t.Errorf("after unyank: %s", line)
	}

	// Owners: bob is added by his OpenID login and can then yank.
	out = c.MustRun(pkg, "owner", "--registry", "crated", "--token", newToken, "--add", "127.0.0.1:bob", "openid_hello")
	if !strings.Contains(out, "127.0.0.1:bob") {
		t.Errorf("owner --add: %s", out)
	}
	out = c.MustRun(pkg, "owner", "--registry", "crated", "--token", newToken, "--list", "openid_hello")
	if !strings.Contains(out, "127.0.0.1:alice") || !strings.Contains(out, "127.0.0.1:bob") {
		t.Errorf("owner --list: %s", out)
	}
	c.MustRun(pkg, "yank", "--registry", "crated", "--token", bobToken, "openid_hello@0.1.0")
	c.MustRun(pkg, "yank", "--undo", "--registry", "crated", "--token", bobToken, "openid_hello@0.1.0")

	t.Run("pulls stay anonymous", func(t *testing.T) {
		if o.Config.Server.AuthRequired {
			t.Fatal("auth_required is on")
		}
		// A cargo home that never saw a token.
		anon := testenv.NewCargo(t, o.IndexURL(), "")
		consumer := testenv.Package(t, `[package]
name = "consumer"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
openid_hello = { version = "0.1", registry = "crated" }
`, map[string]string{"src/main.rs": "fn main() { println!(\"hello={}\", openid_hello::hello()); }\n"})
		out := anon.MustRun(consumer, "run", "-q")
		if strings.TrimSpace(out) != "hello=1" {
			t.Errorf("consumer output: %q", out)
		}
		for _, f := range []string{"credentials.toml", "credentials"} {
			if _, err := os.Stat(filepath.Join(anon.Home, f)); err == nil {
				t.Errorf("the anonymous cargo home has %s", f)
			}
		}
	})
}

// TestOpenIDAllowLists: with allow lists, a user in an allowed group and a
// user allowed by name get tokens; anyone else gets a 403 page and no
// account.
func TestOpenIDAllowLists(t *testing.T) {
	carol := dexUser("carol", "crate-owners", "staff")
	dave := dexUser("dave", "staff")
	eve := dexUser("eve", "staff")
	o := testenv.StartOIDC(t, testenv.OIDCOptions{
		Users: []testenv.DexUser{carol, dave, eve},
		// Ktra's GitLab-named key for the groups, crated's neutral one for
		// the users: both count.
		OpenID: `gitlab_authorized_groups = ["crate-owners"]
authorized_users = ["dave"]`,
	})

	for _, tc := range []struct {
		name    string
		user    testenv.DexUser
		asJSON  bool
		allowed bool
	}{
		{"allowed by group", carol, false, true},
		{"allowed by name", dave, true, true},
		{"refused, page", eve, false, false},
		{"refused, JSON", eve, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := oidcLogin(t, o, "/me", tc.user, tc.asJSON)
			if tc.allowed {
				res := parseResult(t, resp, body, tc.asJSON)
				if res.str("username") != "127.0.0.1:"+tc.user.PreferredUsername || res.str("new_token") == "" {
					t.Errorf("login: %v", res)
				}
				return
			}
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403:\n%s", resp.StatusCode, body)
			}
			msg := "127.0.0.1:eve may not log in"
			if tc.asJSON {
				var e struct {
					Errors []struct{ Detail string } `json:"errors"`
				}
				if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) != 1 || !strings.Contains(e.Errors[0].Detail, msg) {
					t.Errorf("refusal: %v %s", err, body)
				}
			} else if !strings.Contains(string(body), msg) || tokenRE.Match(body) {
				t.Errorf("refusal page:\n%s", body)
			}
		})
	}

	// What `crated user list` would show: the two allowed users only.
	users, err := o.Store.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var logins []string
	for _, u := range users {
		logins = append(logins, u.Login)
	}
	slices.Sort(logins)
	if want := []string{"127.0.0.1:carol", "127.0.0.1:dave"}; !slices.Equal(logins, want) {
		t.Errorf("users %q, want %q", logins, want)
	}
}

// TestOpenIDLoginState: a login started before a restart finishes after
// it, because the pending login is in the store, not in memory; a token
// issued before the restart is shown again after it, because the seal key
// crated generated is kept beside the database. A finished login's
// callback cannot be replayed, and a login cannot be finished in a browser
// other than the one that started it.
func TestOpenIDLoginState(t *testing.T) {
	alice, bob, carol := dexUser("alice"), dexUser("bob"), dexUser("carol")
	o := testenv.StartOIDC(t, testenv.OIDCOptions{Users: []testenv.DexUser{alice, bob, carol}})

	// startLogin opens /me in browser and returns where crated sends it.
	startLogin := func(t *testing.T, browser *http.Client) string {
		t.Helper()
		b := *browser
		b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := b.Get(o.URL + "/me")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		toDex := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(toDex, o.Dex.Issuer+"/auth") {
			t.Fatalf("GET /me: %d to %q, want a redirect to Dex", resp.StatusCode, toDex)
		}
		return toDex
	}
	read := func(resp *http.Response) []byte {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}

	t.Run("restart", func(t *testing.T) {
		resp, body := oidcLogin(t, o, "/me", bob, true)
		bobToken := parseResult(t, resp, body, true).str("new_token")

		browser := o.Browser(t, true)
		toDex := startLogin(t, browser)
		o.Restart()

		// The same browser (its state cookie) finishes the login at Dex.
		resp = o.Dex.Login(t, browser, toDex, alice.Email, alice.Password)
		body = read(resp)
		res := parseResult(t, resp, body, true)
		if res.str("username") != "127.0.0.1:alice" || res.str("new_token") == "" {
			t.Errorf("login across a restart: %s", body)
		}

		// Replaying the callback (same code, same state) is refused.
		callback := resp.Request.URL.String()
		resp, err := browser.Get(callback)
		if err != nil {
			t.Fatal(err)
		}
		body = read(resp)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "token") {
			t.Errorf("replayed callback: %d %s, want 400 without a token", resp.StatusCode, body)
		}

		resp, body = oidcLogin(t, o, "/me", bob, true)
		if shown := parseResult(t, resp, body, true).str("existing_token"); shown != bobToken || shown == "" {
			t.Errorf("after the restart /me shows bob %q, want his token from before: %s", shown, body)
		}
	})

	t.Run("another browser", func(t *testing.T) {
		// carol's login is started in one browser and finished in another
		// (as when a login link is slipped to a victim): refused, and
		// carol gets no account.
		toDex := startLogin(t, o.Browser(t, true))
		resp := o.Dex.Login(t, o.Browser(t, true), toDex, carol.Email, carol.Password)
		body := read(resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "another browser") {
			t.Errorf("login finished in another browser: %d %s, want 400", resp.StatusCode, body)
		}
		if _, err := o.Service.ResolveLogin(context.Background(), "127.0.0.1:carol"); err == nil {
			t.Error("carol has an account")
		}
	})
}

// TestOpenIDPasswordAPI: with [openid_config], Ktra's password endpoints
// answer 404 with cargo's error body, unless allow_password_login = true.
func TestOpenIDPasswordAPI(t *testing.T) {
	issuer := testenv.ServeDiscovery(t, true)
	openid := func(extra string) *config.OpenIDConfig {
		return testenv.LoadOpenID(t, fmt.Sprintf(`[openid_config]
issuer_url = %q
redirect_url = "http://crates.example.com"
client_id = "crated"
client_secret = "not-used-here"
%s`, issuer, extra))
	}
	post := func(t *testing.T, url, body string) (int, []byte) {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	t.Run("off by default", func(t *testing.T) {
		srv := testenv.StartCrated(t, func(c *config.Config) { c.OpenID = openid("") })
		if _, _, err := srv.Service.CreateUser(context.Background(), "pat", "pat-password"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ path, body string }{
			{"/ktra/api/v1/login/pat", `{"password":"pat-password"}`},
			{"/ktra/api/v1/new_user/sam", `{"password":"sam-password"}`},
			{"/ktra/api/v1/change_password/pat", `{"old_password":"pat-password","new_password":"pat-password-2"}`},
		} {
			status, body := post(t, srv.URL+tc.path, tc.body)
			var e struct {
				Errors []struct{ Detail string } `json:"errors"`
			}
			if status != http.StatusNotFound || json.Unmarshal(body, &e) != nil || len(e.Errors) != 1 ||
				!strings.Contains(e.Errors[0].Detail, "password login is disabled") {
				t.Errorf("POST %s: %d %s, want 404 with cargo's error body", tc.path, status, body)
			}
		}
	})

	t.Run("allow_password_login", func(t *testing.T) {
		srv := testenv.StartCrated(t, func(c *config.Config) {
			c.OpenID = openid("allow_password_login = true")
			c.Server.OpenRegistration = true
		})
		if _, _, err := srv.Service.CreateUser(context.Background(), "pat", "pat-password"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			path, body string
			status     int
		}{
			{"/ktra/api/v1/login/pat", `{"password":"pat-password"}`, 200},
			{"/ktra/api/v1/login/pat", `{"password":"wrong-password"}`, 403},
			{"/ktra/api/v1/new_user/sam", `{"password":"sam-password"}`, 200},
			{"/ktra/api/v1/change_password/pat", `{"old_password":"pat-password","new_password":"pat-password-2"}`, 200},
			{"/ktra/api/v1/login/pat", `{"password":"pat-password-2"}`, 200},
		} {
			status, body := post(t, srv.URL+tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("POST %s: %d %s, want %d", tc.path, status, body, tc.status)
			}
			if status != 200 {
				continue
			}
			var res struct{ Token string }
			if err := json.Unmarshal(body, &res); err != nil || res.Token == "" {
				t.Fatalf("POST %s: %s", tc.path, body)
			}
			// The token is good: yanking a missing crate is "not found",
			// not "forbidden".
			req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/crates/missing/1.0.0/yank", nil)
			req.Header.Set("Authorization", res.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("token from %s: yank answered %d, want 404", tc.path, resp.StatusCode)
			}
		}
	})
}

// TestOpenIDStartChecks: crated refuses to start when the provider's
// discovery has no userinfo_endpoint or cannot be read, both in-process
// (Main.Open) and as the `crated serve` command.
func TestOpenIDStartChecks(t *testing.T) {
	noUserinfo := testenv.ServeDiscovery(t, false)
	dead, release := testenv.ReserveAddr(t)
	release() // nothing listens there now
	const secret = "do-not-print-this-secret"
	openidTOML := func(issuer string) string {
		return fmt.Sprintf(`[openid_config]
issuer_url = %q
redirect_url = "http://crates.example.com"
client_id = "crated"
client_secret = %q
additional_scopes = ["profile", "email"]
`, issuer, secret)
	}
	cases := []struct {
		name, issuer string
		want         []string
	}{
		{"no userinfo_endpoint", noUserinfo, []string{"openid_config", "publishes no userinfo_endpoint"}},
		{"unreachable issuer", "http://" + dead + "/dex", []string{"openid_config", "cannot read http://" + dead + "/dex/.well-known/openid-configuration"}},
	}
	check := func(t *testing.T, msg string, want []string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("error %q does not say %q", msg, w)
			}
		}
		if strings.Contains(msg, secret) {
			t.Errorf("error shows the client secret: %q", msg)
		}
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config.Default()
			cfg.Server.Port = 0
			cfg.Server.BaseURL = ""
			cfg.DB.DBDirPath = filepath.Join(dir, "db")
			cfg.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
			cfg.OpenID = testenv.LoadOpenID(t, openidTOML(tc.issuer))
			m := app.NewMain()
			m.Config = cfg
			m.Logger = slog.New(slog.DiscardHandler)
			err := m.Open(context.Background())
			if err == nil {
				m.Close()
				t.Fatal("Main.Open succeeded")
			}
			check(t, err.Error(), tc.want)
		})
	}

	t.Run("crated serve", func(t *testing.T) {
		goBin, err := exec.LookPath("go")
		if err != nil {
			testenv.Need(t, "the go command (to build crated)")
		}
		bin := filepath.Join(t.TempDir(), "crated")
		build := exec.Command(goBin, "build", "-o", bin, "github.com/crated/crated/cmd/crated")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				dir := t.TempDir()
				file := filepath.Join(dir, "crated.toml")
				conf := fmt.Sprintf(`[server_config]
address = "127.0.0.1"
port = 0

[db_config]
db_dir_path = %q

[crate_files_config]
dl_dir_path = %q

%s`, filepath.Join(dir, "db"), filepath.Join(dir, "crates"), openidTOML(tc.issuer))
				if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
					t.Fatal(err)
				}
				// The deadline only bounds a crated that wrongly starts
				// serving; it is no timing assertion.
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, "serve", "-c", file)
				cmd.Dir = dir
				cmd.Env = withoutCratedEnv(os.Environ())
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
					t.Fatalf("crated serve: %v, want a non-zero exit\n%s", err, out.String())
				}
				check(t, out.String(), tc.want)
			})
		}
	})
}

// withoutCratedEnv drops CRATED_* variables, so that the command reads its
// configuration from the file alone.
func withoutCratedEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CRATED_") {
			out = append(out, kv)
		}
	}
	return out
}
