package registry

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/sqlite"
)

func newService(t *testing.T, cfg Config) *Service {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fs.New(filepath.Join(dir, "crates"))
	if err != nil {
		t.Fatal(err)
	}
	return New(st, blobs, cfg)
}

func sealer(t *testing.T, b byte) *Sealer {
	key := make([]byte, 32)
	for i := range key {
		key[i] = b
	}
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash format: %s", h)
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct horsE") {
		t.Error("password check")
	}
	if HashPassword("correct horse") == h {
		t.Error("hashes are not salted")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA"} {
		if CheckPassword(bad, "x") {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestSealer(t *testing.T) {
	s := sealer(t, 1)
	sealed := s.Seal("crated_secret", "hash1")
	if strings.Contains(string(sealed), "crated_secret") {
		t.Fatal("sealed copy contains the token")
	}
	if got, err := s.Open(sealed, "hash1"); err != nil || got != "crated_secret" {
		t.Errorf("open: %q %v", got, err)
	}
	if _, err := s.Open(sealed, "hash2"); err == nil {
		t.Error("a sealed token opened under another token's hash")
	}
	if _, err := sealer(t, 2).Open(sealed, "hash1"); err == nil {
		t.Error("a sealed token opened with another key")
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
}

func TestTokenFromHeader(t *testing.T) {
	for in, want := range map[string]string{
		"crated_abc": "crated_abc", "Bearer crated_abc": "crated_abc", "bearer  crated_abc ": "crated_abc",
		"": "", "Bearer": "", "Bearer ": "",
	} {
		if got := tokenFromHeader(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if tok := newToken(); !strings.HasPrefix(tok, "crated_") || len(tok) != 50 || HashToken(tok) == tok {
		t.Errorf("token shape: %q", tok)
	}
}

func TestOIDCLogin(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{Sealer: sealer(t, 7)})
	id := crated.Identity{Issuer: "https://gitlab.example", IssuerHost: "gitlab.example", Subject: "42", Username: "alice", Email: "a@example"}

	first, err := svc.OIDCLogin(ctx, id, false)
	if err != nil || first.Username != "gitlab.example:alice" || first.NewToken == "" || first.RevokedToken != "" {
		t.Fatalf("first login: %+v %v", first, err)
	}
	again, err := svc.OIDCLogin(ctx, id, false)
	if err != nil || again.ExistingToken != first.NewToken || again.NewToken != "" {
		t.Fatalf("second login should show the existing token: %+v %v", again, err)
	}
	replaced, err := svc.OIDCLogin(ctx, id, true)
	if err != nil || replaced.NewToken == "" || replaced.NewToken == first.NewToken || replaced.RevokedToken != first.NewToken {
		t.Fatalf("replace: %+v %v", replaced, err)
	}
	if _, err := svc.Authenticate(ctx, first.NewToken); !crated.IsCode(err, crated.EFORBIDDEN) {
		t.Errorf("revoked token still works: %v", err)
	}
	if u, err := svc.Authenticate(ctx, replaced.NewToken); err != nil || u.Login != "gitlab.example:alice" {
		t.Errorf("new token: %+v %v", u, err)
	}

	// A rename at the provider follows the same user (keyed on issuer+sub).
	id.Username = "alice2"
	renamed, err := svc.OIDCLogin(ctx, id, false)
	if err != nil || renamed.Username != "gitlab.example:alice2" || renamed.ExistingToken != replaced.NewToken {
		t.Fatalf("rename: %+v %v", renamed, err)
	}
	if users, _ := svc.Store().ListUsers(ctx); len(users) != 1 {
		t.Errorf("rename created a second user: %d users", len(users))
	}

	// A token sealed under a lost key is replaced, not shown.
	svc.cfg.Sealer = sealer(t, 8)
	lost, err := svc.OIDCLogin(ctx, id, false)
	if err != nil || lost.NewToken == "" {
		t.Errorf("login after a key change: %+v %v", lost, err)
	}
	// JSON shapes are Ktra's.
	b, _ := lost.MarshalJSON()
	if !strings.Contains(string(b), `"new_token":`) || !strings.Contains(string(b), `"revoked_token":null`) {
		t.Errorf("new token JSON: %s", b)
	}
	b, _ = again.MarshalJSON()
	if string(b) != `{"username":"gitlab.example:alice","existing_token":"`+first.NewToken+`"}` {
		t.Errorf("existing token JSON: %s", b)
	}
}

func TestResolveLogin(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{LoginPrefix: "ktra-secure-auth:", PasswordLogin: true})
	svc.CreateUser(ctx, "alice", "")
	svc.OIDCLogin(ctx, crated.Identity{Issuer: "https://a", IssuerHost: "a", Subject: "1", Username: "bob"}, false)
	svc.OIDCLogin(ctx, crated.Identity{Issuer: "https://b", IssuerHost: "b", Subject: "1", Username: "bob"}, false)

	if u, err := svc.ResolveLogin(ctx, "alice"); err != nil || u.Login != "ktra-secure-auth:alice" {
		t.Errorf("bare name: %+v %v", u, err)
	}
	if u, err := svc.ResolveLogin(ctx, "ktra-secure-auth:alice"); err != nil || u.Name != "alice" {
		t.Errorf("full login: %+v %v", u, err)
	}
	if _, err := svc.ResolveLogin(ctx, "bob"); !crated.IsCode(err, crated.EINVALID) || !strings.Contains(err.Error(), "a:bob") {
		t.Errorf("ambiguous name: %v", err)
	}
	if u, err := svc.ResolveLogin(ctx, "b:bob"); err != nil || u.Issuer != "https://b" {
		t.Errorf("qualified login: %+v %v", u, err)
	}
	if _, err := svc.ResolveLogin(ctx, "carol"); !crated.IsCode(err, crated.ENOTFOUND) || !strings.Contains(err.Error(), "carol") {
		t.Errorf("unknown login: %v", err)
	}
}

func TestPasswordRules(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{PasswordLogin: true})
	if _, _, err := svc.CreateUser(ctx, "bad name", ""); !crated.IsCode(err, crated.EINVALID) {
		t.Errorf("bad user name: %v", err)
	}
	if _, _, err := svc.CreateUser(ctx, "alice", "short"); !crated.IsCode(err, crated.EINVALID) {
		t.Errorf("short password: %v", err)
	}
	if _, err := svc.Register(ctx, "eve", "long enough"); !crated.IsCode(err, crated.EFORBIDDEN) {
		t.Errorf("registration must be closed by default: %v", err)
	}
	svc.CreateUser(ctx, "alice", "long enough")
	_, errUnknown := svc.PasswordLogin(ctx, "nobody", "long enough")
	_, errWrong := svc.PasswordLogin(ctx, "alice", "wrong password")
	if errUnknown == nil || errWrong == nil || errUnknown.Error() != errWrong.Error() {
		t.Errorf("unknown user and wrong password must fail alike: %v / %v", errUnknown, errWrong)
	}
}

func TestLoginLockout(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := newService(t, Config{PasswordLogin: true, Now: func() time.Time { return now }})
	svc.CreateUser(ctx, "alice", "long enough")
	for i := 0; i < DefaultLoginMaxFailures; i++ {
		if _, err := svc.PasswordLogin(ctx, "alice", "wrong password"); !crated.IsCode(err, crated.EFORBIDDEN) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, err := svc.PasswordLogin(ctx, "alice", "long enough"); !crated.IsCode(err, crated.ERATELIMIT) {
		t.Fatalf("after %d failures even the right password must wait: %v", DefaultLoginMaxFailures, err)
	}
	now = now.Add(DefaultLoginFailureWindow + time.Second)
	if _, err := svc.PasswordLogin(ctx, "alice", "long enough"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}
