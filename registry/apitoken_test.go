package registry

import (
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
)

// TestTokenAllows: each endpoint scope allows exactly its endpoint, crate
// scopes match names and '*' prefixes as canonical names, and the refusal
// names the missing scope and the crate.
func TestTokenAllows(t *testing.T) {
	all := []string{crated.ScopePublishNew, crated.ScopePublishUpdate, crated.ScopeYank, crated.ScopeChangeOwners}
	for _, have := range append(all, crated.ScopeRead) {
		tok := &crated.Token{Kind: crated.TokenAPI, Name: "t", EndpointScopes: []string{have}}
		for _, need := range all {
			err := TokenAllows(tok, need, "foo")
			if (err == nil) != (have == need) {
				t.Errorf("scope %s, endpoint %s: err = %v", have, need, err)
			}
			if err != nil && (crated.ErrorCode(err) != crated.EFORBIDDEN || !strings.Contains(crated.ErrorMessage(err), "`"+need+"`")) {
				t.Errorf("refusal %v: want 403 naming `%s`", err, need)
			}
		}
	}
	readOnly := &crated.Token{Kind: crated.TokenAPI, EndpointScopes: []string{}}
	for _, need := range all {
		if TokenAllows(readOnly, need, "foo") == nil {
			t.Errorf("read-only token allowed %s", need)
		}
	}
	if err := TokenAllows(&crated.Token{}, crated.ScopePublishNew, "anything"); err != nil {
		t.Errorf("unscoped token refused: %v", err)
	}
	crates := &crated.Token{Kind: crated.TokenAPI, CrateScopes: []string{"serde", "tokio-*"}}
	for name, ok := range map[string]bool{"serde": true, "Serde": true, "serde_json": false, "tokio-util": true,
		"tokio_util": true, "tokio": false, "other": false} {
		err := TokenAllows(crates, crated.ScopeYank, name)
		if (err == nil) != ok {
			t.Errorf("crate scopes %v, crate %s: err = %v, want allowed %v", crates.CrateScopes, name, err, ok)
		}
		if err != nil && !strings.Contains(crated.ErrorMessage(err), "`"+name+"`") {
			t.Errorf("refusal %v does not name the crate", err)
		}
	}
	if TokenAllows(&crated.Token{CrateScopes: []string{"*"}}, crated.ScopeYank, "x") != nil {
		t.Error("crate scope * refused a crate")
	}
}

// TestAuthorizeTokens: an expired token is refused with a message that says
// so; a live one puts the token in the context and records its use; token
// management refuses scoped tokens; the login flows leave API tokens alone.
func TestAuthorizeTokens(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := newService(t, Config{PasswordLogin: true, Now: func() time.Time { return now }})
	ctx := t.Context()
	u, login, err := svc.CreateUser(ctx, "alice", "password1")
	if err != nil {
		t.Fatal(err)
	}
	lctx, _, err := svc.Authorize(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	short, tok, err := svc.CreateAPIToken(lctx, u, NewAPIToken{Name: "short", ExpiresAt: now.Add(time.Hour),
		EndpointScopes: []string{crated.ScopeYank}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateAPIToken(lctx, u, NewAPIToken{Name: "bad", EndpointScopes: []string{"delete-everything"}}); crated.ErrorCode(err) != crated.EINVALID {
		t.Errorf("unknown scope: %v, want EINVALID", err)
	}
	sctx, got, err := svc.Authorize(ctx, "Bearer "+short)
	if err != nil || got.ID != u.ID {
		t.Fatalf("Authorize(api token) = %v, %v", got, err)
	}
	if a := crated.ActorFrom(sctx); a == nil || a.Token == nil || a.Token.ID != tok.ID {
		t.Errorf("Authorize did not carry the token in the context: %+v", a)
	}
	if _, _, err := svc.CreateAPIToken(sctx, u, NewAPIToken{Name: "escalate"}); crated.ErrorCode(err) != crated.EFORBIDDEN {
		t.Errorf("scoped token made a token: %v, want EFORBIDDEN", err)
	}
	list, err := svc.APITokens(lctx, u)
	if err != nil || len(list) != 2 || list[1].LastUsedAt.IsZero() {
		t.Errorf("APITokens = %v, %v: want login and api token, the latter used", list, err)
	}
	// A password login replaces the login token only.
	if _, err := svc.PasswordLogin(ctx, "alice", "password1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authorize(ctx, login); crated.ErrorCode(err) != crated.EFORBIDDEN {
		t.Errorf("old login token after a login: %v, want EFORBIDDEN", err)
	}
	if _, _, err := svc.Authorize(ctx, short); err != nil {
		t.Errorf("API token after a login: %v", err)
	}
	now = now.Add(2 * time.Hour)
	_, _, err = svc.Authorize(ctx, short)
	if crated.ErrorCode(err) != crated.EFORBIDDEN || !strings.Contains(crated.ErrorMessage(err), "expired") {
		t.Errorf("expired token: %v, want 403 saying expired", err)
	}
	if strings.Contains(crated.ErrorMessage(err), short) {
		t.Error("the refusal echoes the token")
	}
}

// TestLoginsAudited: password and OpenID logins are recorded as logins with
// how the user authenticated, and the token they issue as theirs, by the
// same means.
func TestLoginsAudited(t *testing.T) {
	svc := newService(t, Config{PasswordLogin: true, Sealer: sealer(t, 1)})
	ctx := crated.WithClient(t.Context(), "198.51.100.4")
	if _, _, err := svc.CreateUser(ctx, "alice", "password1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PasswordLogin(ctx, "alice", "password1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.OIDCLogin(ctx, crated.Identity{Issuer: "https://idp.example", Subject: "42", IssuerHost: "idp.example", Username: "bob"}, false); err != nil {
		t.Fatal(err)
	}
	es, err := svc.Store().Audit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Action+"/"+e.Auth+"/"+e.Actor+"/"+e.Client)
	}
	want := []string{
		"token_replace/openid/idp.example:bob/198.51.100.4", "login/openid/idp.example:bob/198.51.100.4",
		"token_replace/password/alice/198.51.100.4", "login/password/alice/198.51.100.4",
		"token_replace//alice/198.51.100.4",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit:\n got %q\nwant %q", got, want)
	}
}
