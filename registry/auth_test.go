package registry

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/sqlite"
	"github.com/crated/crated/storetest"
)

// TestConcurrentGuessesBounded: 60 wrong passwords for one name sent at once
// get at most the limit of verdicts; the others are refused before any hash
// is computed. A check-then-record limiter lets most of them through.
func TestConcurrentGuessesBounded(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{PasswordLogin: true, PasswordHashWait: time.Minute})
	if _, _, err := svc.CreateUser(ctx, "alice", "long enough"); err != nil {
		t.Fatal(err)
	}
	const n = 60
	errs := storetest.Race(n, func(int) error {
		_, err := svc.PasswordLogin(ctx, "alice", "wrong password")
		return err
	})
	verdicts := 0
	for i, err := range errs {
		switch crated.ErrorCode(err) {
		case crated.EFORBIDDEN:
			verdicts++
		case crated.ERATELIMIT:
			if crated.RetryAfter(err) <= 0 {
				t.Errorf("attempt %d: lockout without Retry-After: %v", i, err)
			}
		default:
			t.Errorf("attempt %d: %v, want a wrong-password verdict or a lockout", i, err)
		}
	}
	if verdicts > DefaultLoginMaxFailures {
		t.Errorf("%d of %d concurrent guesses were evaluated, want at most %d", verdicts, n, DefaultLoginMaxFailures)
	}
	// Another spelling of the name shares the count.
	if _, err := svc.PasswordLogin(ctx, "ALICE", "long enough"); !crated.IsCode(err, crated.ERATELIMIT) {
		t.Errorf("login as ALICE during the lockout: %v, want ERATELIMIT", err)
	}
}

// TestLockoutSharedThroughStore: two services (two replicas) on one
// database share the count, and the limits are configurable.
func TestLockoutSharedThroughStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	replica := func() *Service {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		blobs, err := fs.New(filepath.Join(filepath.Dir(path), "crates"))
		if err != nil {
			t.Fatal(err)
		}
		return New(st, blobs, Config{PasswordLogin: true, LoginMaxFailures: 3, LoginFailureWindow: time.Hour})
	}
	a, b := replica(), replica()
	if _, _, err := a.CreateUser(ctx, "alice", "long enough"); err != nil {
		t.Fatal(err)
	}
	for i, svc := range []*Service{a, b, a} {
		if _, err := svc.PasswordLogin(ctx, "alice", "wrong password"); !crated.IsCode(err, crated.EFORBIDDEN) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, err := b.PasswordLogin(ctx, "alice", "long enough")
	if !crated.IsCode(err, crated.ERATELIMIT) {
		t.Fatalf("fourth guess, on the other replica: %v, want ERATELIMIT", err)
	}
	if d := crated.RetryAfter(err); d < 59*time.Minute || d > time.Hour {
		t.Errorf("Retry-After %s, want about the window (1h)", d)
	}
}

// TestLockoutClearedBySuccess: a good password resets the count.
func TestLockoutClearedBySuccess(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{PasswordLogin: true, LoginMaxFailures: 2})
	svc.CreateUser(ctx, "alice", "long enough")
	for range 3 {
		svc.PasswordLogin(ctx, "alice", "wrong password")
		if _, err := svc.PasswordLogin(ctx, "alice", "long enough"); err != nil {
			t.Fatalf("good password after one failure: %v", err)
		}
	}
}

// TestHashSlotsBounded: when every hashing slot stays busy past the wait,
// password checks (known and unknown names alike) and registrations get 503
// with a Retry-After instead of starting another 19 MiB hash.
func TestHashSlotsBounded(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{PasswordLogin: true, OpenRegistration: true,
		PasswordHashConcurrency: 1, PasswordHashWait: 50 * time.Millisecond})
	if _, _, err := svc.CreateUser(ctx, "alice", "long enough"); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var held sync.WaitGroup
	held.Add(1)
	go svc.hashes.do(ctx, func() { held.Done(); <-release })
	held.Wait()

	calls := map[string]func() error{
		"known name":   func() error { _, err := svc.PasswordLogin(ctx, "alice", "long enough"); return err },
		"unknown name": func() error { _, err := svc.PasswordLogin(ctx, "nobody", "long enough"); return err },
		"register":     func() error { _, err := svc.Register(ctx, "bob", "long enough"); return err },
	}
	for name, call := range calls {
		err := call()
		if !crated.IsCode(err, crated.EUNAVAILABLE) || crated.RetryAfter(err) < time.Second {
			t.Errorf("%s while the slots are busy: %v (retry after %s), want EUNAVAILABLE with Retry-After", name, err, crated.RetryAfter(err))
		}
	}
	// A refusal for a busy server costs the name no guess.
	close(release)
	if _, err := svc.PasswordLogin(ctx, "alice", "long enough"); err != nil {
		t.Errorf("login once the slot is free: %v", err)
	}
}

func TestUserNameRules(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{PasswordLogin: true})
	for _, bad := range []string{".", "..", "...", "a:b", "a/b", "", strings.Repeat("a", 65)} {
		if _, _, err := svc.CreateUser(ctx, bad, ""); !crated.IsCode(err, crated.EINVALID) {
			t.Errorf("CreateUser(%q) = %v, want EINVALID", bad, err)
		}
	}
	for _, good := range []string{"alice", "bob-builder", "a.b", ".hidden"} {
		if _, _, err := svc.CreateUser(ctx, good, ""); err != nil {
			t.Errorf("CreateUser(%q): %v", good, err)
		}
	}
	for _, lookAlike := range []string{"Alice", "ALICE", "bob_builder", "Bob-Builder"} {
		_, _, err := svc.CreateUser(ctx, lookAlike, "")
		if !crated.IsCode(err, crated.ECONFLICT) || !strings.Contains(err.Error(), lookAlike) {
			t.Errorf("CreateUser(%q) = %v, want ECONFLICT naming it", lookAlike, err)
		}
	}
}

// TestOIDCUserNameRules: a provider's user name follows the rules of every
// user name; a refused one creates nothing.
func TestOIDCUserNameRules(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{Sealer: sealer(t, 7)})
	for i, name := range []string{"gitlab.example:alice", "..", "al ice", "ålice"} {
		id := crated.Identity{Issuer: "https://gitlab.example", IssuerHost: "gitlab.example", Subject: string(rune('a' + i)), Username: name}
		_, err := svc.OIDCLogin(ctx, id, false)
		if !crated.IsCode(err, crated.EFORBIDDEN) || !strings.Contains(err.Error(), "cannot be used") {
			t.Errorf("OIDCLogin(%q) = %v, want EFORBIDDEN", name, err)
		}
	}
	if users, err := svc.Store().ListUsers(ctx); err != nil || len(users) != 0 {
		t.Errorf("refused logins created users: %d, %v", len(users), err)
	}
	// Look-alikes of an existing provider login are refused as conflicts.
	id := crated.Identity{Issuer: "https://gitlab.example", IssuerHost: "gitlab.example", Subject: "1", Username: "alice"}
	if _, err := svc.OIDCLogin(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	id.Subject, id.Username = "2", "Alice"
	if _, err := svc.OIDCLogin(ctx, id, false); !crated.IsCode(err, crated.ECONFLICT) {
		t.Errorf("OIDCLogin(Alice) next to alice = %v, want ECONFLICT", err)
	}
}

// TestResolveQualifiedLogin: `cargo owner --add HOST:alice` finds the user
// whose login is HOST:alice and never one whose bare name is "HOST:alice"
// (an account created before provider names were checked).
func TestResolveQualifiedLogin(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, Config{})
	squatter := &crated.User{Login: "gitlab.example:gitlab.example:alice", Name: "gitlab.example:alice",
		Issuer: "https://gitlab.example", Subject: "666"}
	if err := svc.Store().CreateUser(ctx, squatter); err != nil {
		t.Fatal(err)
	}
	if u, err := svc.ResolveLogin(ctx, "gitlab.example:alice"); !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("ResolveLogin(gitlab.example:alice) = %+v, %v; want ENOTFOUND, not the squatter", u, err)
	}
	alice := &crated.User{Login: "gitlab.example:alice", Name: "alice", Issuer: "https://gitlab.example", Subject: "1"}
	if err := svc.Store().CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if u, err := svc.ResolveLogin(ctx, "gitlab.example:alice"); err != nil || u.ID != alice.ID {
		t.Errorf("ResolveLogin(gitlab.example:alice) = %+v, %v; want alice", u, err)
	}
}
