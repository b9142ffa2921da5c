package oidc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/oidc"
)

// TestDexLogin runs the login against a real Dex: a new login, the same
// token again, a replacing login, a user allowed by group, one allowed by
// name, and one refused. It is skipped without CRATED_TEST_DEX_BIN and
// fails when CI=true.
func TestDexLogin(t *testing.T) {
	mux := http.NewServeMux()
	registry := httptest.NewServer(mux)
	defer registry.Close()

	dex := testenv.StartDex(t, testenv.DexOptions{
		RedirectURIs: []string{
			registry.URL + "/ktra/api/v1/openid/me",
			registry.URL + "/ktra/api/v1/openid/replace_token",
		},
		Users: []testenv.DexUser{
			{Email: "alice@example.com", Password: "alice-pw", Username: "Alice", PreferredUsername: "alice",
				UserID: "u-alice", Groups: []string{"crate-owners", "staff"}},
			{Email: "bob@example.com", Password: "bob-pw", Username: "Bob", PreferredUsername: "bob",
				UserID: "u-bob"},
			{Email: "mallory@example.com", Password: "mallory-pw", Username: "Mallory", PreferredUsername: "mallory",
				UserID: "u-mallory", Groups: []string{"staff"}},
		},
	})

	accounts := &dexAccounts{}
	login, err := oidc.New(context.Background(), oidc.Config{
		IssuerURL:        dex.Issuer,
		RedirectURL:      registry.URL,
		ClientID:         dex.ClientID,
		ClientSecret:     dex.ClientSecret,
		AdditionalScopes: []string{"profile", "email", "groups"},
		AuthorizedGroups: []string{"crate-owners"},
		AuthorizedUsers:  []string{"bob"},
	}, oidc.NewMemStates(), accounts, nil)
	if err != nil {
		t.Fatal(err)
	}
	login.Routes(mux)

	// run logs a user in with a fresh browser and returns the final page.
	run := func(t *testing.T, start, email, password string) (int, string) {
		t.Helper()
		resp := dex.Login(t, &http.Client{Timeout: time.Minute}, registry.URL+start, email, password)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}

	// tokenPage logs a user in and returns the JSON its token page shows.
	tokenPage := func(t *testing.T, start, email, password string) map[string]any {
		t.Helper()
		status, body := run(t, start, email, password)
		return resultOf(t, status, body)
	}

	var first string
	t.Run("new login, allowed by group", func(t *testing.T) {
		res := tokenPage(t, "/me", "alice@example.com", "alice-pw")
		if res["username"] != "127.0.0.1:alice" || res["new_token"] == nil || res["revoked_token"] != nil {
			t.Fatalf("result = %v", res)
		}
		first = res["new_token"].(string)
		id := accounts.last(t)
		if id.Issuer != dex.Issuer || id.IssuerHost != "127.0.0.1" || id.Subject == "" ||
			id.Username != "alice" || id.Email != "alice@example.com" || id.Name != "Alice" ||
			!slices.Equal(id.Groups, []string{"crate-owners", "staff"}) {
			t.Errorf("identity = %+v", id)
		}
	})
	t.Run("existing token", func(t *testing.T) {
		res := tokenPage(t, "/me", "alice@example.com", "alice-pw")
		if res["existing_token"] != first {
			t.Errorf("result = %v, want the existing token again", res)
		}
	})
	t.Run("replace", func(t *testing.T) {
		res := tokenPage(t, "/replace_token", "alice@example.com", "alice-pw")
		if res["revoked_token"] != first || res["new_token"] == nil || res["new_token"] == first {
			t.Errorf("result = %v, want a new token that revokes %s", res, first)
		}
	})
	t.Run("allowed by name", func(t *testing.T) {
		res := tokenPage(t, "/me", "bob@example.com", "bob-pw")
		if res["username"] != "127.0.0.1:bob" {
			t.Errorf("result = %v", res)
		}
		if id := accounts.last(t); len(id.Groups) != 0 {
			t.Errorf("bob's groups = %q", id.Groups)
		}
	})
	t.Run("refused", func(t *testing.T) {
		n := accounts.count()
		status, body := run(t, "/me", "mallory@example.com", "mallory-pw")
		if status != http.StatusForbidden || !strings.Contains(body, "127.0.0.1:mallory may not log in") {
			t.Errorf("status %d:\n%s", status, body)
		}
		if strings.Contains(body, `id="token"`) || accounts.count() != n {
			t.Error("a refused user got a token or reached OIDCLogin")
		}
	})
}

var resultRE = regexp.MustCompile(`(?s)<pre id="result">(.*?)</pre>`)

// resultOf reads the JSON the login page shows.
func resultOf(t *testing.T, status int, body string) map[string]any {
	t.Helper()
	m := resultRE.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("status %d, want the token page:\n%s", status, body)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// dexAccounts is a crated.Accounts with one token per subject.
type dexAccounts struct {
	mu     sync.Mutex
	ids    []crated.Identity
	tokens map[string]string
}

func (a *dexAccounts) OIDCLogin(ctx context.Context, id crated.Identity, replace bool) (*crated.LoginResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, id)
	if a.tokens == nil {
		a.tokens = map[string]string{}
	}
	res := &crated.LoginResult{Username: id.IssuerHost + ":" + id.Username}
	old := a.tokens[id.Subject]
	if old != "" && !replace {
		res.ExistingToken = old
		return res, nil
	}
	res.NewToken = fmt.Sprintf("token-%d", len(a.ids))
	res.RevokedToken = old
	a.tokens[id.Subject] = res.NewToken
	return res, nil
}

func (a *dexAccounts) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

func (a *dexAccounts) last(t *testing.T) crated.Identity {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ids) == 0 {
		t.Fatal("OIDCLogin was not called")
	}
	return a.ids[len(a.ids)-1]
}
