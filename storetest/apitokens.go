package storetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
)

// testAPITokens: API tokens are additional tokens of a user, with their
// scopes and expiry kept exactly (nil unrestricted apart from empty), that
// the login-token flows (ReplaceToken, UserToken, RevokeToken) never touch,
// listed without being found for another user, and deleted with an audit
// entry that names the token by id and name only.
func testAPITokens(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	login := &crated.Token{UserID: alice.ID, Hash: hash('1')}
	if _, err := s.ReplaceToken(ctx(t), login); err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2031, 2, 3, 4, 5, 6, 7000, time.UTC)
	ci := &crated.Token{UserID: alice.ID, Hash: hash('2'), Name: "ci publish",
		CrateScopes: []string{"foo", "bar-*"}, EndpointScopes: []string{"publish-update"}, ExpiresAt: expires}
	if err := s.CreateAPIToken(ctx(t), ci); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	if ci.ID == 0 || ci.Kind != crated.TokenAPI {
		t.Errorf("CreateAPIToken left ID %d, Kind %q", ci.ID, ci.Kind)
	}
	checkStoreTime(t, "CreateAPIToken: CreatedAt", ci.CreatedAt)
	ro := &crated.Token{UserID: alice.ID, Hash: hash('3'), Name: "read only", EndpointScopes: []string{}}
	if err := s.CreateAPIToken(ctx(t), ro); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "CreateAPIToken(taken hash)", s.CreateAPIToken(ctx(t), &crated.Token{UserID: bob.ID, Hash: hash('2')}), crated.ECONFLICT)
	wantCode(t, "CreateAPIToken(unknown user)", s.CreateAPIToken(ctx(t), &crated.Token{UserID: 987654321, Hash: hash('9')}), crated.ENOTFOUND)

	got, err := s.TokenByHash(ctx(t), hash('2'))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ci.ID || got.Kind != crated.TokenAPI || got.Name != "ci publish" ||
		!sameStrings(got.CrateScopes, ci.CrateScopes) || !sameStrings(got.EndpointScopes, ci.EndpointScopes) ||
		!sameTime(got.ExpiresAt, expires) || !got.LastUsedAt.IsZero() {
		t.Errorf("TokenByHash(api) = %+v, want %+v", got, ci)
	}
	// An API token's scopes and expiry come through TokenUser alike.
	if tu, _, err := s.TokenUser(ctx(t), hash('2')); err != nil || !reflect.DeepEqual(tu, got) {
		t.Errorf("TokenUser(api) = %+v, %v, want %+v", tu, err, got)
	}
	got, err = s.TokenByHash(ctx(t), hash('3'))
	if err != nil {
		t.Fatal(err)
	}
	if got.CrateScopes != nil || got.EndpointScopes == nil || len(got.EndpointScopes) != 0 || !got.ExpiresAt.IsZero() {
		t.Errorf("TokenByHash(read only) scopes = %#v, %#v, expiry %v: want nil (unrestricted), [] (nothing), never",
			got.CrateScopes, got.EndpointScopes, got.ExpiresAt)
	}
	got, err = s.TokenByHash(ctx(t), hash('1'))
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != crated.TokenLogin || got.CrateScopes != nil || got.EndpointScopes != nil {
		t.Errorf("TokenByHash(login) = kind %q, scopes %v %v: want an unrestricted login token", got.Kind, got.CrateScopes, got.EndpointScopes)
	}

	// The login flows leave API tokens alone.
	login2 := &crated.Token{UserID: alice.ID, Hash: hash('4')}
	old, err := s.ReplaceToken(ctx(t), login2)
	if err != nil || old == nil || old.ID != login.ID {
		t.Fatalf("ReplaceToken = %v, %v, want the old login token %d", old, err, login.ID)
	}
	if ut, err := s.UserToken(ctx(t), alice.ID); err != nil || ut.ID != login2.ID {
		t.Errorf("UserToken = %v, %v, want the login token %d", ut, err, login2.ID)
	}
	if err := s.RevokeToken(ctx(t), alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx(t), hash('2')); err != nil {
		t.Errorf("API token gone after ReplaceToken and RevokeToken: %v", err)
	}

	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.TouchToken(ctx(t), ro.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchToken(ctx(t), 987654321, at); err != nil {
		t.Errorf("TouchToken(missing) = %v, want nil", err)
	}
	list, err := s.UserTokens(ctx(t), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != ci.ID || list[1].ID != ro.ID || !sameTime(list[1].LastUsedAt, at) {
		t.Fatalf("UserTokens = %+v, want ci then read-only, the latter used at %v", list, at)
	}
	if l, err := s.UserTokens(ctx(t), bob.ID); err != nil || len(l) != 0 {
		t.Errorf("UserTokens(bob) = %v, %v, want none", l, err)
	}

	wantCode(t, "DeleteUserToken(bob, alice's token)", s.DeleteUserToken(ctx(t), bob.ID, ci.ID), crated.ENOTFOUND)
	if err := s.DeleteUserToken(ctx(t), alice.ID, ci.ID); err != nil {
		t.Fatalf("DeleteUserToken: %v", err)
	}
	wantCode(t, "DeleteUserToken(again)", s.DeleteUserToken(ctx(t), alice.ID, ci.ID), crated.ENOTFOUND)
	wantCode(t, "TokenByHash(deleted)", func() error { _, err := s.TokenByHash(ctx(t), hash('2')); return err }(), crated.ENOTFOUND)

	var actions []string
	for _, e := range mustAudit(t, s) {
		actions = append(actions, e.Action)
		for _, h := range []string{hash('1'), hash('2'), hash('3'), hash('4')} {
			if strings.Contains(e.Detail, h) {
				t.Errorf("audit entry %+v holds a token hash", e)
			}
		}
		if e.Action == crated.AuditTokenRevoke && e.Detail != crated.TokenAuditDetail(ci.ID, "ci publish") {
			t.Errorf("token_revoke detail = %q, want %q", e.Detail, crated.TokenAuditDetail(ci.ID, "ci publish"))
		}
	}
	want := []string{"token_revoke", "token_replace", "token_create", "token_create", "token_replace"}
	if !sameStrings(actions, want) {
		t.Errorf("audit actions = %q, want %q", actions, want)
	}
}

// testAuditAuthentication: every audit entry carries the actor's login, how
// they authenticated and the client address from the context, through the
// store's own writes and through RecordAudit; CrateAudit selects one
// crate's entries.
func testAuditAuthentication(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	tok := &crated.Token{ID: 42, Kind: crated.TokenAPI, Name: "ci"}
	c := crated.WithClient(crated.WithActor(ctx(t), &crated.Actor{UserID: alice.ID, Auth: crated.AuthToken, Token: tok}), "192.0.2.7")
	nv := newVersion(0, "Logged", "1.0.0", alice.ID)
	if _, err := s.PublishVersion(c, nv); err != nil {
		t.Fatal(err)
	}
	publishNew(t, s, "Other", "1.0.0", alice.ID)
	tp := crated.WithActor(ctx(t), &crated.Actor{UserID: alice.ID, Auth: crated.AuthTrustedPublishing, AuthDetail: "repo acme/logged, workflow release.yml"})
	if err := s.RecordAudit(tp, &crated.AuditEntry{UserID: alice.ID, Action: "trusted_publisher_add", Crate: "Logged", Detail: "acme/logged"}); err != nil {
		t.Fatalf("RecordAudit: %v", err)
	}
	got, err := s.CrateAudit(ctx(t), "Logged", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("CrateAudit = %d entries, want 2", len(got))
	}
	tp0, pub := got[0], got[1]
	if pub.Action != "publish" || pub.Actor != "alice" || pub.Auth != crated.AuthToken || pub.TokenID != 42 ||
		pub.TokenName != "ci" || pub.Client != "192.0.2.7" || pub.Version != "1.0.0" {
		t.Errorf("publish entry = %+v, want alice by token 42 \"ci\" from 192.0.2.7", pub)
	}
	if tp0.Action != "trusted_publisher_add" || tp0.Actor != "alice" || tp0.Auth != crated.AuthTrustedPublishing ||
		tp0.AuthDetail != "repo acme/logged, workflow release.yml" || tp0.Client != "" || tp0.ID == 0 {
		t.Errorf("recorded entry = %+v", tp0)
	}
	checkStoreTime(t, "RecordAudit time", tp0.Time)
	if one, err := s.CrateAudit(ctx(t), "Logged", 1); err != nil || len(one) != 1 || one[0].ID != tp0.ID {
		t.Errorf("CrateAudit(limit 1) = %v, %v, want the newest entry", one, err)
	}
	if none, err := s.CrateAudit(ctx(t), "Nothing", 0); err != nil || len(none) != 0 {
		t.Errorf("CrateAudit(unknown) = %v, %v, want none", none, err)
	}
}
