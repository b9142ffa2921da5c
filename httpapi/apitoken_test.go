package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/registry"
)

type apiToken struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Token          *string   `json:"token"`
	Kind           string    `json:"kind"`
	CreatedAt      string    `json:"created_at"`
	LastUsedAt     *string   `json:"last_used_at"`
	ExpiredAt      *string   `json:"expired_at"`
	CrateScopes    *[]string `json:"crate_scopes"`
	EndpointScopes *[]string `json:"endpoint_scopes"`
}

func createToken(t *testing.T, e *env, auth, body string) (int, apiToken, string) {
	t.Helper()
	resp := e.do(t, "PUT", "/api/v1/me/tokens", auth, []byte(body))
	raw := readAll(t, resp)
	var out struct {
		APIToken apiToken `json:"api_token"`
	}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("token response %s: %v", raw, err)
		}
	}
	return resp.StatusCode, out.APIToken, string(raw)
}

// TestTokenAPI: crates.io's token API creates scoped tokens whose value is
// shown once, lists them without values, revokes them; each scope allows
// its endpoint and crates only, with a 403 naming what is missing; the
// crate audit log is for owners only, names the token by id and name and
// the client address, and never holds a token value.
func TestTokenAPI(t *testing.T) {
	e := newEnv(t, httpapi.Config{}, registry.Config{})
	ctx := t.Context()
	_, login, err := e.svc.CreateUser(ctx, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	_, bobLogin, err := e.svc.CreateUser(ctx, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	publishFrame(t, e, login, "alpha", "1.0.0")

	code, upd, raw := createToken(t, e, login, `{"api_token":{"name":"ci","crate_scopes":["alpha","beta-*"],"endpoint_scopes":["publish-update"],"expired_at":null}}`)
	if code != 200 || upd.Token == nil || !strings.HasPrefix(*upd.Token, "crated_") || upd.Name != "ci" || upd.CrateScopes == nil || upd.ExpiredAt != nil {
		t.Fatalf("create: %d %s", code, raw)
	}
	_, yank, _ := createToken(t, e, login, `{"api_token":{"name":"yanker","crate_scopes":null,"endpoint_scopes":["yank"]}}`)
	_, newer, _ := createToken(t, e, login, `{"api_token":{"name":"new","crate_scopes":["beta-*"],"endpoint_scopes":["publish-new","publish-update"]}}`)
	_, ro, _ := createToken(t, e, login, `{"api_token":{"name":"ro","endpoint_scopes":[]}}`)
	if code, _, raw := createToken(t, e, *upd.Token, `{"api_token":{"name":"escalate"}}`); code != 403 {
		t.Errorf("scoped token created a token: %d %s", code, raw)
	}
	if code, _, raw := createToken(t, e, login, `{"api_token":{"name":"x","endpoint_scopes":["admin"]}}`); code != 400 {
		t.Errorf("unknown scope: %d %s", code, raw)
	}
	if code, _, raw := createToken(t, e, login, `{"api_token":{"name":"x","expired_at":"2001-01-01T00:00:00Z"}}`); code != 400 {
		t.Errorf("expiry in the past: %d %s", code, raw)
	}

	refused := func(what, method, path, token string, body []byte, want ...string) {
		t.Helper()
		resp := e.do(t, method, path, token, body)
		b := string(readAll(t, resp))
		if resp.StatusCode != 403 {
			t.Errorf("%s: %d %s, want 403", what, resp.StatusCode, b)
		}
		for _, w := range want {
			if !strings.Contains(b, w) {
				t.Errorf("%s: %s does not say %q", what, b, w)
			}
		}
	}
	frame := func(name, vers string) []byte {
		return frameFor(t, name, vers)
	}
	// publish-update: updates alpha, cannot create beta-x, cannot yank.
	publishFrame(t, e, *upd.Token, "alpha", "1.1.0")
	refused("publish-update token creating a crate", "PUT", "/api/v1/crates/new", *upd.Token, frame("beta-x", "1.0.0"), "publish-new")
	refused("publish-update token yanking", "DELETE", "/api/v1/crates/alpha/1.0.0/yank", *upd.Token, nil, "`yank`")
	refused("publish-update token changing owners", "PUT", "/api/v1/crates/alpha/owners", *upd.Token, []byte(`{"users":["bob"]}`), "change-owners")
	// publish-new limited to beta-*: creates beta-x, refused on alpha and gamma.
	publishFrame(t, e, *newer.Token, "beta-x", "1.0.0")
	refused("crate-scoped token on another crate", "PUT", "/api/v1/crates/new", *newer.Token, frame("alpha", "1.2.0"), "`alpha`")
	refused("crate-scoped token creating another crate", "PUT", "/api/v1/crates/new", *newer.Token, frame("gamma", "1.0.0"), "`gamma`")
	// yank: yanks and unyanks, cannot publish.
	if resp := e.do(t, "DELETE", "/api/v1/crates/alpha/1.0.0/yank", *yank.Token, nil); resp.StatusCode != 200 {
		t.Errorf("yank with yank scope: %d %s", resp.StatusCode, readAll(t, resp))
	}
	if resp := e.do(t, "PUT", "/api/v1/crates/alpha/1.0.0/unyank", *yank.Token, nil); resp.StatusCode != 200 {
		t.Errorf("unyank with yank scope: %d %s", resp.StatusCode, readAll(t, resp))
	}
	refused("yank token publishing", "PUT", "/api/v1/crates/new", *yank.Token, frame("alpha", "1.3.0"), "publish-update")
	// read-only: reads, changes nothing.
	if resp := e.do(t, "GET", "/api/v1/crates/alpha", *ro.Token, nil); resp.StatusCode != 200 {
		t.Errorf("read with read-only token: %d", resp.StatusCode)
	}
	refused("read-only token publishing", "PUT", "/api/v1/crates/new", *ro.Token, frame("alpha", "1.3.0"), "publish-update", "read-only")

	// Listing: every token, no values.
	resp := e.do(t, "GET", "/api/v1/me/tokens", login, nil)
	body := readAll(t, resp)
	var list struct {
		APITokens []apiToken `json:"api_tokens"`
	}
	if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	if len(list.APITokens) != 5 {
		t.Errorf("list has %d tokens, want the login token and 4 API tokens: %s", len(list.APITokens), body)
	}
	for _, v := range []string{login, *upd.Token, *yank.Token, *newer.Token, *ro.Token} {
		if strings.Contains(string(body), v) {
			t.Errorf("the token list shows a token value: %s", body)
		}
	}
	for _, tk := range list.APITokens {
		if tk.ID == upd.ID && tk.LastUsedAt == nil {
			t.Errorf("used token has no last_used_at: %+v", tk)
		}
	}

	// Revocation.
	if resp := e.do(t, "DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", upd.ID), bobLogin, nil); resp.StatusCode != 404 {
		t.Errorf("bob revoking alice's token: %d", resp.StatusCode)
	}
	if resp := e.do(t, "DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", upd.ID), login, nil); resp.StatusCode != 200 {
		t.Errorf("revoke: %d %s", resp.StatusCode, readAll(t, resp))
	}
	refused("revoked token", "PUT", "/api/v1/crates/new", *upd.Token, frame("alpha", "1.4.0"), "revoked")

	// The audit log: owners only.
	if resp := e.do(t, "GET", "/api/v1/crates/alpha/audit", bobLogin, nil); resp.StatusCode != 403 {
		t.Errorf("audit by a non-owner: %d", resp.StatusCode)
	}
	resp = e.do(t, "GET", "/api/v1/crates/alpha/audit", login, nil)
	body = readAll(t, resp)
	var audit struct {
		Events []struct {
			Action    string `json:"action"`
			Actor     string `json:"actor"`
			Version   string `json:"version"`
			Auth      string `json:"auth"`
			TokenID   int64  `json:"token_id"`
			TokenName string `json:"token_name"`
			Client    string `json:"client"`
			Time      string `json:"time"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &audit); err != nil || resp.StatusCode != 200 {
		t.Fatalf("audit: %d %s", resp.StatusCode, body)
	}
	var got []string
	for _, ev := range audit.Events {
		got = append(got, ev.Action+" "+ev.Version+" "+ev.TokenName)
		if ev.Actor != "alice" || ev.Auth != "token" || ev.TokenID == 0 || ev.Client != "127.0.0.1" || ev.Time == "" {
			t.Errorf("audit event %+v: want alice by a named token from 127.0.0.1", ev)
		}
	}
	want := []string{"unyank 1.0.0 yanker", "yank 1.0.0 yanker", "publish 1.1.0 ci", "publish 1.0.0 login"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit = %q, want %q", got, want)
	}
	for _, v := range []string{login, *upd.Token, *yank.Token, *newer.Token, *ro.Token} {
		if strings.Contains(string(body), v) {
			t.Errorf("the audit log shows a token value")
		}
	}
}

// TestReadOnlyTokenPrivateRegistry: on an auth_required registry a
// read-only token reads the index but cannot publish.
func TestReadOnlyTokenPrivateRegistry(t *testing.T) {
	e := newEnv(t, httpapi.Config{AuthRequired: true}, registry.Config{})
	_, login, err := e.svc.CreateUser(t.Context(), "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	_, ro, raw := createToken(t, e, login, `{"api_token":{"name":"build","endpoint_scopes":["read"]}}`)
	if ro.Token == nil {
		t.Fatalf("create: %s", raw)
	}
	if resp := e.do(t, "GET", "/index/config.json", *ro.Token, nil); resp.StatusCode != 200 {
		t.Errorf("index with read-only token: %d", resp.StatusCode)
	}
	resp := e.do(t, "PUT", "/api/v1/crates/new", *ro.Token, frameFor(t, "alpha", "1.0.0"))
	if b := readAll(t, resp); resp.StatusCode != 403 || !strings.Contains(string(b), "publish-new") {
		t.Errorf("publish with read-only token: %d %s", resp.StatusCode, b)
	}
}

func frameFor(t *testing.T, name, vers string) []byte {
	crate := testenv.Tarball(t, testenv.CrateFiles(name, vers)...)
	return testenv.Frame(testenv.Metadata(name, vers), crate)
}
