package storetest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
)

// hash returns a token hash that is easy to tell apart in failures.
func hash(c byte) string { return strings.Repeat(string(c), 64) }

func checkToken(t *testing.T, what string, got, want *crated.Token) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Hash != want.Hash || !bytes.Equal(got.Sealed, want.Sealed) {
		t.Errorf("%s = {ID %d, UserID %d, Hash %s, Sealed %x}, want {ID %d, UserID %d, Hash %s, Sealed %x}", what,
			got.ID, got.UserID, got.Hash, got.Sealed, want.ID, want.UserID, want.Hash, want.Sealed)
	}
	checkTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testTokens(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")

	t1 := &crated.Token{UserID: alice.ID, Hash: hash('1'), Sealed: []byte{0, 1, 2, 0xfe, 0xff, 0}}
	old, err := s.ReplaceToken(ctx(t), t1)
	if err != nil {
		t.Fatalf("ReplaceToken(first): %v", err)
	}
	if old != nil {
		t.Errorf("ReplaceToken(first) returned old token %+v, want nil", old)
	}
	if t1.ID == 0 {
		t.Errorf("ReplaceToken left ID 0")
	}
	checkStoreTime(t, "ReplaceToken: CreatedAt", t1.CreatedAt)

	got, err := s.TokenByHash(ctx(t), t1.Hash)
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	checkToken(t, "TokenByHash", got, t1)
	// TokenUser reads the same token, and its user, in one go.
	tu, u, err := s.TokenUser(ctx(t), t1.Hash)
	if err != nil {
		t.Fatalf("TokenUser: %v", err)
	}
	if !reflect.DeepEqual(tu, got) {
		t.Errorf("TokenUser's token = %+v, TokenByHash's %+v", tu, got)
	}
	checkUser(t, "TokenUser's user", u, alice)
	if got, err = s.UserToken(ctx(t), alice.ID); err != nil {
		t.Fatalf("UserToken: %v", err)
	}
	checkToken(t, "UserToken", got, t1)

	bt := &crated.Token{UserID: bob.ID, Hash: hash('b')}
	if _, err := s.ReplaceToken(ctx(t), bt); err != nil {
		t.Fatalf("ReplaceToken(bob): %v", err)
	}

	t2 := &crated.Token{UserID: alice.ID, Hash: hash('2')}
	old, err = s.ReplaceToken(ctx(t), t2)
	if err != nil {
		t.Fatalf("ReplaceToken(second): %v", err)
	}
	if old == nil {
		t.Fatalf("ReplaceToken(second) returned no old token")
	}
	checkToken(t, "old token", old, t1)
	if t2.ID == t1.ID {
		t.Errorf("new token reuses ID %d", t1.ID)
	}
	if _, err := s.TokenByHash(ctx(t), t1.Hash); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("TokenByHash(replaced) = %v, want ENOTFOUND", err)
	}
	if _, _, err := s.TokenUser(ctx(t), t1.Hash); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("TokenUser(replaced) = %v, want ENOTFOUND", err)
	}
	if got, err = s.UserToken(ctx(t), alice.ID); err != nil {
		t.Fatalf("UserToken: %v", err)
	}
	checkToken(t, "UserToken after replace", got, t2)
	if len(got.Sealed) != 0 {
		t.Errorf("Sealed = %x, want empty", got.Sealed)
	}

	// Replacing with the same hash is allowed: the old row is gone first.
	t3 := &crated.Token{UserID: alice.ID, Hash: hash('2'), Sealed: []byte("sealed")}
	if old, err = s.ReplaceToken(ctx(t), t3); err != nil || old == nil || old.ID != t2.ID {
		t.Fatalf("ReplaceToken(same hash) = %v, %v, want old token %d", old, err, t2.ID)
	}

	if err := s.RevokeToken(ctx(t), alice.ID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if _, err := s.UserToken(ctx(t), alice.ID); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("UserToken(revoked) = %v, want ENOTFOUND", err)
	}
	if _, err := s.TokenByHash(ctx(t), t3.Hash); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("TokenByHash(revoked) = %v, want ENOTFOUND", err)
	}
	if err := s.RevokeToken(ctx(t), alice.ID); err != nil {
		t.Errorf("RevokeToken(again): %v", err)
	}
	// Bob's token is untouched by all of that.
	if got, err := s.TokenByHash(ctx(t), bt.Hash); err != nil || got.UserID != bob.ID {
		t.Errorf("TokenByHash(bob) = %v, %v", got, err)
	}
	if got, u, err := s.TokenUser(ctx(t), bt.Hash); err != nil || got.UserID != bob.ID {
		t.Errorf("TokenUser(bob) = %v, %v", got, err)
	} else {
		checkUser(t, "TokenUser(bob)'s user", u, bob)
	}

	for _, e := range mustAudit(t, s) {
		for _, h := range []string{t1.Hash, t2.Hash, bt.Hash} {
			if strings.Contains(e.Detail, h) || strings.Contains(e.Crate, h) || strings.Contains(e.Version, h) {
				t.Errorf("audit entry %q contains a token hash", e.Action)
			}
		}
	}
}

func testTokenHashConflict(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	if _, err := s.ReplaceToken(ctx(t), &crated.Token{UserID: alice.ID, Hash: hash('a')}); err != nil {
		t.Fatal(err)
	}
	bt := &crated.Token{UserID: bob.ID, Hash: hash('b')}
	if _, err := s.ReplaceToken(ctx(t), bt); err != nil {
		t.Fatal(err)
	}
	_, err := s.ReplaceToken(ctx(t), &crated.Token{UserID: bob.ID, Hash: hash('a')})
	wantCode(t, "ReplaceToken(alice's hash)", err, crated.ECONFLICT)
	if strings.Contains(crated.ErrorMessage(err), hash('a')) {
		t.Errorf("error message contains the token hash")
	}
	if got, err := s.UserToken(ctx(t), bob.ID); err != nil || got.Hash != bt.Hash {
		t.Errorf("bob's token after failed replace = %v, %v, want the previous one", got, err)
	}
	if got, err := s.TokenByHash(ctx(t), hash('a')); err != nil || got.UserID != alice.ID {
		t.Errorf("TokenByHash(a) = %v, %v, want alice's", got, err)
	}
}

func testLoginStates(t *testing.T, s crated.Store) {
	// Real time: a store may forget states that expired long ago.
	now := time.Now().UTC().Truncate(time.Second)
	states := []*crated.LoginState{
		{Key: "k-valid", Nonce: "n1", PKCEVerifier: "v1", Kind: "me", ExpiresAt: now.Add(10 * time.Minute)},
		{Key: "k-expired", Nonce: "n2", PKCEVerifier: "v2", Kind: "replace", ExpiresAt: now.Add(-time.Minute)},
		{Key: "k-exact", Nonce: "n3", PKCEVerifier: "v3", Kind: "me", ExpiresAt: now},
	}
	for _, st := range states {
		if err := s.PutLoginState(ctx(t), st); err != nil {
			t.Fatalf("PutLoginState(%s): %v", st.Key, err)
		}
	}
	dup := *states[0]
	dup.Nonce = "other"
	wantCode(t, "PutLoginState(existing key)", s.PutLoginState(ctx(t), &dup), crated.ECONFLICT)

	got, err := s.TakeLoginState(ctx(t), "k-valid", now)
	if err != nil {
		t.Fatalf("TakeLoginState(k-valid): %v", err)
	}
	if got.Key != "k-valid" || got.Nonce != "n1" || got.PKCEVerifier != "v1" || got.Kind != "me" {
		t.Errorf("TakeLoginState = %+v, want %+v", got, states[0])
	}
	checkTime(t, "ExpiresAt", got.ExpiresAt, states[0].ExpiresAt)

	tests := []struct{ key, why string }{
		{"k-valid", "taken twice"},
		{"k-expired", "expired"},
		{"k-exact", "expires at now"},
		{"k-unknown", "never stored"},
	}
	for _, tt := range tests {
		_, err := s.TakeLoginState(ctx(t), tt.key, now)
		wantCode(t, "TakeLoginState("+tt.key+", "+tt.why+")", err, crated.ENOTFOUND)
	}
	// An expired state stays unusable even if asked with an earlier time later.
	if _, err := s.TakeLoginState(ctx(t), "k-expired", now.Add(-time.Hour)); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("TakeLoginState(k-expired) after a failed take = %v, want ENOTFOUND", err)
	}
}

func testAudit(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	v, c := publishNew(t, s, "Audited", "1.0.0+b1", alice.ID)
	steps := []func() error{
		func() error { return s.SetYanked(ctx(t), v.ID, true, bob.ID) },
		func() error { return s.SetYanked(ctx(t), v.ID, false, alice.ID) },
		func() error { return s.AddOwners(ctx(t), c.ID, []int64{bob.ID}, alice.ID) },
		func() error { return s.RemoveOwners(ctx(t), c.ID, []int64{alice.ID}, bob.ID) },
		func() error {
			_, err := s.ReplaceToken(ctx(t), &crated.Token{UserID: bob.ID, Hash: hash('f')})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := []crated.AuditEntry{
		{UserID: bob.ID, Action: "token_replace"},
		{UserID: bob.ID, Action: "owner_remove", Crate: "Audited"},
		{UserID: alice.ID, Action: "owner_add", Crate: "Audited"},
		{UserID: alice.ID, Action: "unyank", Crate: "Audited", Version: "1.0.0+b1"},
		{UserID: bob.ID, Action: "yank", Crate: "Audited", Version: "1.0.0+b1"},
		{UserID: alice.ID, Action: "publish", Crate: "Audited", Version: "1.0.0+b1"},
	}
	got := mustAudit(t, s)
	if len(got) != len(want) {
		t.Fatalf("Audit returned %d entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.UserID != w.UserID || g.Action != w.Action || g.Crate != w.Crate || (w.Version != "" && g.Version != w.Version) {
			t.Errorf("Audit[%d] = {UserID %d, Action %q, Crate %q, Version %q}, want {UserID %d, Action %q, Crate %q, Version %q}",
				i, g.UserID, g.Action, g.Crate, g.Version, w.UserID, w.Action, w.Crate, w.Version)
		}
		if g.ID == 0 {
			t.Errorf("Audit[%d].ID = 0", i)
		}
		checkStoreTime(t, "Audit time", g.Time)
	}
	limited, err := s.Audit(ctx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(limited) != 2 || limited[0].ID != got[0].ID || limited[1].ID != got[1].ID {
		t.Errorf("Audit(2) did not return the two newest entries")
	}
}
