package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/crated/crated/internal/testenv"
)

// TestOpenIDSquatterName: a Dex user whose preferred_username is
// "127.0.0.1:alice" (the issuer host crated puts before every login) is
// refused with a 403 page and gets no account, so that it can never answer
// for `cargo owner --add 127.0.0.1:alice`; a Dex user named like an existing
// login but for case is refused with a 409 page.
func TestOpenIDSquatterName(t *testing.T) {
	alice := dexUser("alice")
	mallory := dexUser("mallory")
	mallory.PreferredUsername = "127.0.0.1:alice"
	shouty := dexUser("shouty")
	shouty.PreferredUsername = "ALICE"
	o := testenv.StartOIDC(t, testenv.OIDCOptions{Users: []testenv.DexUser{alice, mallory, shouty}})

	resp, body := oidcLogin(t, o, "/me", mallory, false)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "cannot be used on this registry") || tokenRE.Match(body) {
		t.Errorf("login as %q: status %d, want a 403 page without a token:\n%s", mallory.PreferredUsername, resp.StatusCode, body)
	}
	resp, body = oidcLogin(t, o, "/me", alice, false)
	if res := parseResult(t, resp, body, false); res.str("username") != "127.0.0.1:alice" {
		t.Errorf("alice's login: %v", res)
	}
	resp, body = oidcLogin(t, o, "/me", shouty, false)
	if resp.StatusCode != http.StatusConflict || tokenRE.Match(body) {
		t.Errorf("login as ALICE next to alice: status %d, want a 409 page without a token:\n%s", resp.StatusCode, body)
	}
	users, err := o.Store.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Login != "127.0.0.1:alice" {
		t.Errorf("users after the refused logins: %d, want only 127.0.0.1:alice", len(users))
	}
	u, err := o.Service.ResolveLogin(context.Background(), "127.0.0.1:alice")
	if err != nil || u.Login != "127.0.0.1:alice" {
		t.Errorf("ResolveLogin(127.0.0.1:alice) = %v, %v", u, err)
	}
}
