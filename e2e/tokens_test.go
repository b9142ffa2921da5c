package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/registry"
)

// apiCall sends a JSON request with a token and decodes the answer.
func apiCall(t *testing.T, method, url, token, body string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
	return resp.StatusCode
}

func newScopedToken(t *testing.T, srv *testenv.Crated, login, body string) string {
	t.Helper()
	var out struct {
		APIToken struct {
			Token string `json:"token"`
		} `json:"api_token"`
	}
	if code := apiCall(t, "PUT", srv.URL+"/api/v1/me/tokens", login, body, &out); code != 200 || out.APIToken.Token == "" {
		t.Fatalf("create token %s: %d", body, code)
	}
	return out.APIToken.Token
}

// TestScopedTokensCargo drives scoped tokens with stock cargo: each
// endpoint scope lets cargo publish (new or update), yank and change owners
// exactly where it should, and cargo's error output names the missing scope
// or crate; an expired token is refused as expired; the audit log holds the
// events with the token names, survives a restart, and neither it nor any
// log line of the run holds a token value.
func TestScopedTokensCargo(t *testing.T) {
	logs := &syncBuffer{}
	srv := testenv.StartCratedLogging(t, logs)
	login := srv.AddUser("alice")
	srv.AddUser("bob")
	c := testenv.NewCargo(t, srv.IndexURL(), "")

	newOnly := newScopedToken(t, srv, login, `{"api_token":{"name":"new-alpha","crate_scopes":["alpha"],"endpoint_scopes":["publish-new"]}}`)
	update := newScopedToken(t, srv, login, `{"api_token":{"name":"update","crate_scopes":["alpha*"],"endpoint_scopes":["publish-update"]}}`)
	yank := newScopedToken(t, srv, login, `{"api_token":{"name":"yank","endpoint_scopes":["yank"]}}`)
	owners := newScopedToken(t, srv, login, `{"api_token":{"name":"owners","endpoint_scopes":["change-owners"],"crate_scopes":["alpha"]}}`)
	other := newScopedToken(t, srv, login, `{"api_token":{"name":"gamma-only","crate_scopes":["gamma"]}}`)
	expired := "crated_expired-token-for-the-test"
	alice, err := srv.Store.UserByLogin(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.CreateAPIToken(t.Context(), &crated.Token{UserID: alice.ID, Hash: registry.HashToken(expired),
		Name: "old", ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	values := []string{login, newOnly, update, yank, owners, other, expired}

	alpha := testenv.Package(t, alphaToml, nil)
	alpha2 := testenv.Package(t, strings.Replace(alphaToml, `version = "0.1.0"`, `version = "0.2.0"`, 1), nil)
	fails := func(token string, want []string, args ...string) {
		t.Helper()
		dir := alpha
		if args[0] == "publish" {
			dir = args[len(args)-1]
			args = args[:len(args)-1]
		}
		out := c.MustFail(dir, append(args, "--registry", "crated", "--token", token)...)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("cargo %s: output does not say %q:\n%s", strings.Join(args, " "), w, out)
			}
		}
	}
	fails(update, []string{"403", "publish-new"}, "publish", "--allow-dirty", alpha)
	fails(other, []string{"403", "`alpha`", "gamma"}, "publish", "--allow-dirty", alpha)
	fails(expired, []string{"expired"}, "publish", "--allow-dirty", alpha)
	publish(t, c, alpha, newOnly)
	fails(newOnly, []string{"publish-update"}, "publish", "--allow-dirty", alpha2)
	publish(t, c, alpha2, update)

	fails(update, []string{"403", "`yank`"}, "yank", "--version", "0.1.0", "alpha")
	c.MustRun(alpha, "yank", "--registry", "crated", "--token", yank, "--version", "0.1.0", "alpha")
	c.MustRun(alpha, "yank", "--undo", "--registry", "crated", "--token", yank, "--version", "0.1.0", "alpha")
	fails(yank, []string{"403", "change-owners"}, "owner", "--add", "bob", "alpha")
	c.MustRun(alpha, "owner", "--registry", "crated", "--token", owners, "--add", "bob", "alpha")
	fails(owners, []string{"403", "publish-update"}, "publish", "--allow-dirty",
		testenv.Package(t, strings.Replace(alphaToml, `version = "0.1.0"`, `version = "0.3.0"`, 1), nil))

	type event struct {
		Action    string `json:"action"`
		Actor     string `json:"actor"`
		Version   string `json:"version"`
		Detail    string `json:"detail"`
		TokenName string `json:"token_name"`
		Client    string `json:"client"`
	}
	auditOf := func() ([]event, string) {
		var out struct {
			Events []event `json:"events"`
		}
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/crates/alpha/audit", nil)
		req.Header.Set("Authorization", login)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
			t.Fatalf("audit: %d %s", resp.StatusCode, raw)
		}
		return out.Events, string(raw)
	}
	events, raw := auditOf()
	var got []string
	for _, e := range events {
		got = append(got, e.Action+"/"+e.TokenName)
		if e.Actor != "alice" || e.Client != "127.0.0.1" {
			t.Errorf("event %+v: want actor alice from 127.0.0.1", e)
		}
	}
	want := []string{"owner_add/owners", "unyank/yank", "yank/yank", "publish/update", "publish/new-alpha"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit = %v, want %v", got, want)
	}
	srv.Restart()
	if again, _ := auditOf(); len(again) != len(events) {
		t.Errorf("after a restart the audit log has %d events, want %d", len(again), len(events))
	}
	everything := raw + logs.String()
	if !strings.Contains(logs.String(), "token created") {
		t.Errorf("the captured log lacks the token creations: capture broken?")
	}
	for _, v := range values {
		if strings.Contains(everything, v) || strings.Contains(everything, registry.HashToken(v)) {
			t.Errorf("a token value or hash (%.12s...) appears in the audit log or the server log", v)
		}
	}
}

// TestReadOnlyTokenCargo: on a private registry, a read-only token (endpoint
// scopes []) lets cargo build against the registry and refuses a publish,
// naming the scope.
func TestReadOnlyTokenCargo(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.AuthRequired = true })
	login := srv.AddUser("alice")
	ro := newScopedToken(t, srv, login, `{"api_token":{"name":"ci build","endpoint_scopes":[]}}`)
	providers := "\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n"
	c := testenv.NewCargo(t, srv.IndexURL(), providers)
	publish(t, c, testenv.Package(t, alphaToml, nil), login)

	build := testenv.NewCargo(t, srv.IndexURL(), providers)
	build.Env = []string{"CARGO_REGISTRIES_CRATED_TOKEN=" + ro}
	consumer := testenv.Package(t, strings.Replace(consumerToml, `beta = { version = "0.1", registry = "crated", features = ["fancy"] }`, `alpha = { version = "0.1", registry = "crated" }`, 1),
		map[string]string{"src/main.rs": "fn main() { println!(\"{}\", alpha::hello()); }\n"})
	if out := build.MustRun(consumer, "run", "-q"); strings.TrimSpace(out) != "1" {
		t.Errorf("build with the read-only token: %q", out)
	}
	out := build.MustFail(testenv.Package(t, strings.Replace(alphaToml, `version = "0.1.0"`, `version = "0.2.0"`, 1), nil),
		"publish", "--registry", "crated", "--allow-dirty")
	if !strings.Contains(out, "publish-update") || !strings.Contains(out, "read-only") {
		t.Errorf("publish with the read-only token:\n%s", out)
	}
}
