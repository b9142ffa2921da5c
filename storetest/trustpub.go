package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated"
)

// TrustPubStore is what trusted publishing keeps in the metadata store
// (package trustpub declares the same methods in its Store):
//
//   - CreateTrustPubConfig sets ID and CreatedAt (UTC); the crate need not
//     exist. ENOTFOUND for an unknown CreatedBy.
//   - TrustPubConfig returns ENOTFOUND for an unknown id.
//   - TrustPubConfigsByCrate matches CrateCanon exactly;
//     TrustPubConfigsByRepo matches provider, issuer and RepoKey exactly
//     (the service lowercases RepoKey). Both order by id and return an
//     empty list, not an error, when nothing matches.
//   - DeleteTrustPubConfig: ENOTFOUND for an unknown id.
//   - PinTrustPubOwnerID sets OwnerID when it is "" or already equal;
//     ECONFLICT when another id is pinned (unchanged); ENOTFOUND for an
//     unknown config.
//   - UseTrustPubJTI succeeds once per jti among racing callers, then is
//     ECONFLICT until the recorded expiry has passed (it may forget ids
//     that expired before now).
//   - PutTrustPubToken: ECONFLICT when the hash exists. TrustPubTokenByHash
//     returns ENOTFOUND for an unknown hash or one whose ExpiresAt is not
//     after now; ConfigIDs round-trip in order. DeleteTrustPubToken:
//     ENOTFOUND for an unknown hash; after it the token is not found.
//   - SetTrustPubOnly is idempotent both ways; ENOTFOUND when turning it on
//     for an unknown crate. TrustPubOnly is false for crates never set.
type TrustPubStore interface {
	CreateTrustPubConfig(ctx context.Context, c *crated.TrustPubConfig) error
	TrustPubConfig(ctx context.Context, id int64) (*crated.TrustPubConfig, error)
	TrustPubConfigsByCrate(ctx context.Context, canon string) ([]*crated.TrustPubConfig, error)
	TrustPubConfigsByRepo(ctx context.Context, provider, issuer, repoKey string) ([]*crated.TrustPubConfig, error)
	DeleteTrustPubConfig(ctx context.Context, id int64) error
	PinTrustPubOwnerID(ctx context.Context, id int64, ownerID string) error
	UseTrustPubJTI(ctx context.Context, jti string, expiresAt, now time.Time) error
	PutTrustPubToken(ctx context.Context, t *crated.TrustPubToken) error
	TrustPubTokenByHash(ctx context.Context, hash string, now time.Time) (*crated.TrustPubToken, error)
	DeleteTrustPubToken(ctx context.Context, hash string, now time.Time) error
	SetTrustPubOnly(ctx context.Context, crateID int64, on bool) error
	TrustPubOnly(ctx context.Context, crateID int64) (bool, error)
}

// RunTrustPub runs the trusted-publishing contract against stores made by
// newStore, which must implement TrustPubStore.
func RunTrustPub(t *testing.T, newStore func(t *testing.T) crated.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s crated.Store, tp TrustPubStore)
	}{
		{"Configs", testTrustPubConfigs},
		{"PinOwnerID", testTrustPubPin},
		{"JTI", testTrustPubJTI},
		{"Tokens", testTrustPubTokens},
		{"TrustedOnly", testTrustPubOnly},
		{"DeleteCrateDropsConfigs", testTrustPubDeleteCrate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, newStore)
			tp := capability[TrustPubStore](t, s)
			tt.fn(t, s, tp)
		})
	}
}

func newTrustPubConfig(user int64, crate, owner, project string) *crated.TrustPubConfig {
	return &crated.TrustPubConfig{
		Provider: crated.TrustPubGitHub, Issuer: "https://issuer.example", Crate: crate, CrateCanon: crate,
		Owner: owner, Project: project, RepoKey: owner + "/" + project,
		Workflow: "release.yml", Environment: "Release", CreatedBy: user,
	}
}

func mustTrustPubConfig(t *testing.T, tp TrustPubStore, c *crated.TrustPubConfig) *crated.TrustPubConfig {
	t.Helper()
	if err := tp.CreateTrustPubConfig(ctx(t), c); err != nil {
		t.Fatalf("CreateTrustPubConfig(%s): %v", c.Crate, err)
	}
	return c
}

func configIDs(cs []*crated.TrustPubConfig) []int64 {
	var ids []int64
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func testTrustPubConfigs(t *testing.T, s crated.Store, tp TrustPubStore) {
	alice := mustUser(t, s, "alice")
	a := mustTrustPubConfig(t, tp, newTrustPubConfig(alice.ID, "pending", "org", "repo"))
	if a.ID == 0 {
		t.Fatal("CreateTrustPubConfig left ID 0")
	}
	checkStoreTime(t, "CreatedAt", a.CreatedAt)
	b := mustTrustPubConfig(t, tp, newTrustPubConfig(alice.ID, "other", "org", "repo"))
	gl := newTrustPubConfig(alice.ID, "pending", "org", "repo")
	gl.Provider, gl.Issuer, gl.Workflow, gl.Environment = crated.TrustPubGitLab, "https://gitlab.example", ".gitlab-ci.yml", ""
	mustTrustPubConfig(t, tp, gl)

	got, err := tp.TrustPubConfig(ctx(t), a.ID)
	if err != nil {
		t.Fatalf("TrustPubConfig: %v", err)
	}
	if got.Crate != a.Crate || got.CrateCanon != a.CrateCanon || got.Owner != "org" || got.Project != "repo" || got.RepoKey != "org/repo" ||
		got.Workflow != "release.yml" || got.Environment != "Release" || got.CreatedBy != alice.ID || got.OwnerID != "" ||
		got.Provider != crated.TrustPubGitHub || got.Issuer != "https://issuer.example" {
		t.Errorf("TrustPubConfig = %+v, want %+v", got, a)
	}
	checkTime(t, "TrustPubConfig.CreatedAt", got.CreatedAt, a.CreatedAt)

	byCrate, err := tp.TrustPubConfigsByCrate(ctx(t), "pending")
	if err != nil || !slices.Equal(configIDs(byCrate), []int64{a.ID, gl.ID}) {
		t.Errorf("TrustPubConfigsByCrate(pending) = %v, %v; want ids %d, %d", configIDs(byCrate), err, a.ID, gl.ID)
	}
	byRepo, err := tp.TrustPubConfigsByRepo(ctx(t), crated.TrustPubGitHub, "https://issuer.example", "org/repo")
	if err != nil || !slices.Equal(configIDs(byRepo), []int64{a.ID, b.ID}) {
		t.Errorf("TrustPubConfigsByRepo = %v, %v; want ids %d, %d", configIDs(byRepo), err, a.ID, b.ID)
	}
	for _, q := range [][3]string{
		{crated.TrustPubGitHub, "https://issuer.example", "org/rep"},
		{crated.TrustPubGitHub, "https://other.example", "org/repo"},
		{crated.TrustPubGitLab, "https://issuer.example", "org/repo"},
	} {
		if cs, err := tp.TrustPubConfigsByRepo(ctx(t), q[0], q[1], q[2]); err != nil || len(cs) != 0 {
			t.Errorf("TrustPubConfigsByRepo(%q) = %v, %v; want none", q, configIDs(cs), err)
		}
	}
	if cs, err := tp.TrustPubConfigsByCrate(ctx(t), "pend"); err != nil || len(cs) != 0 {
		t.Errorf("TrustPubConfigsByCrate(pend) = %v, %v; want none", configIDs(cs), err)
	}

	if err := tp.DeleteTrustPubConfig(ctx(t), a.ID); err != nil {
		t.Fatalf("DeleteTrustPubConfig: %v", err)
	}
	_, err = tp.TrustPubConfig(ctx(t), a.ID)
	wantCode(t, "TrustPubConfig(deleted)", err, crated.ENOTFOUND)
	wantCode(t, "DeleteTrustPubConfig(deleted)", tp.DeleteTrustPubConfig(ctx(t), a.ID), crated.ENOTFOUND)
	wantCode(t, "CreateTrustPubConfig(unknown user)",
		tp.CreateTrustPubConfig(ctx(t), newTrustPubConfig(alice.ID+1000, "x", "o", "p")), crated.ENOTFOUND)
}

func testTrustPubPin(t *testing.T, s crated.Store, tp TrustPubStore) {
	alice := mustUser(t, s, "alice")
	c := mustTrustPubConfig(t, tp, newTrustPubConfig(alice.ID, "foo", "org", "repo"))
	if err := tp.PinTrustPubOwnerID(ctx(t), c.ID, "42"); err != nil {
		t.Fatalf("PinTrustPubOwnerID: %v", err)
	}
	if err := tp.PinTrustPubOwnerID(ctx(t), c.ID, "42"); err != nil {
		t.Errorf("PinTrustPubOwnerID(same again): %v", err)
	}
	wantCode(t, "PinTrustPubOwnerID(other)", tp.PinTrustPubOwnerID(ctx(t), c.ID, "43"), crated.ECONFLICT)
	if got, err := tp.TrustPubConfig(ctx(t), c.ID); err != nil || got.OwnerID != "42" {
		t.Errorf("OwnerID after pins = %+v, %v; want 42", got, err)
	}
	wantCode(t, "PinTrustPubOwnerID(unknown)", tp.PinTrustPubOwnerID(ctx(t), c.ID+1000, "42"), crated.ENOTFOUND)
}

func testTrustPubJTI(t *testing.T, s crated.Store, tp TrustPubStore) {
	now := time.Now()
	exp := now.Add(time.Hour)
	// Racing exchanges of one ID token: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range 8 {
		wg.Go(func() {
			err := tp.UseTrustPubJTI(context.Background(), "iss jti-1", exp, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case crated.IsCode(err, crated.ECONFLICT):
				conflicts++
			default:
				t.Errorf("UseTrustPubJTI(race): %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Errorf("racing UseTrustPubJTI: %d wins, %d conflicts; want 1 and 7", wins, conflicts)
	}
	if err := tp.UseTrustPubJTI(ctx(t), "iss jti-2", exp, now); err != nil {
		t.Errorf("UseTrustPubJTI(other jti): %v", err)
	}
	wantCode(t, "UseTrustPubJTI(replay)", tp.UseTrustPubJTI(ctx(t), "iss jti-1", exp, now.Add(30*time.Minute)), crated.ECONFLICT)
	// Once expired, the id may be forgotten: the token's own expiry now
	// refuses it, so reusing the row is harmless.
	if err := tp.UseTrustPubJTI(ctx(t), "iss jti-1", exp.Add(2*time.Hour), exp.Add(time.Hour)); err != nil {
		t.Errorf("UseTrustPubJTI(after expiry): %v", err)
	}
}

func testTrustPubTokens(t *testing.T, s crated.Store, tp TrustPubStore) {
	now := time.Now().UTC()
	tok := &crated.TrustPubToken{Hash: hash('t'), ConfigIDs: []int64{3, 1, 2}, Publisher: "github:org/repo workflow x", ExpiresAt: now.Add(30 * time.Minute)}
	if err := tp.PutTrustPubToken(ctx(t), tok); err != nil {
		t.Fatalf("PutTrustPubToken: %v", err)
	}
	wantCode(t, "PutTrustPubToken(same hash)", tp.PutTrustPubToken(ctx(t), tok), crated.ECONFLICT)
	got, err := tp.TrustPubTokenByHash(ctx(t), tok.Hash, now)
	if err != nil {
		t.Fatalf("TrustPubTokenByHash: %v", err)
	}
	if !slices.Equal(got.ConfigIDs, tok.ConfigIDs) || got.Publisher != tok.Publisher || got.Hash != tok.Hash {
		t.Errorf("TrustPubTokenByHash = %+v, want %+v", got, tok)
	}
	checkTime(t, "ExpiresAt", got.ExpiresAt, tok.ExpiresAt)
	_, err = tp.TrustPubTokenByHash(ctx(t), tok.Hash, tok.ExpiresAt)
	wantCode(t, "TrustPubTokenByHash(at expiry)", err, crated.ENOTFOUND)
	_, err = tp.TrustPubTokenByHash(ctx(t), hash('u'), now)
	wantCode(t, "TrustPubTokenByHash(unknown)", err, crated.ENOTFOUND)

	if err := tp.DeleteTrustPubToken(ctx(t), tok.Hash, now); err != nil {
		t.Fatalf("DeleteTrustPubToken: %v", err)
	}
	_, err = tp.TrustPubTokenByHash(ctx(t), tok.Hash, now)
	wantCode(t, "TrustPubTokenByHash(revoked)", err, crated.ENOTFOUND)
	wantCode(t, "DeleteTrustPubToken(again)", tp.DeleteTrustPubToken(ctx(t), tok.Hash, now), crated.ENOTFOUND)

	empty := &crated.TrustPubToken{Hash: hash('e'), ExpiresAt: now.Add(time.Minute)}
	if err := tp.PutTrustPubToken(ctx(t), empty); err != nil {
		t.Fatalf("PutTrustPubToken(no configs): %v", err)
	}
	if got, err := tp.TrustPubTokenByHash(ctx(t), empty.Hash, now); err != nil || len(got.ConfigIDs) != 0 {
		t.Errorf("TrustPubTokenByHash(no configs) = %+v, %v", got, err)
	}
}

func testTrustPubOnly(t *testing.T, s crated.Store, tp TrustPubStore) {
	alice := mustUser(t, s, "alice")
	_, c := publishNew(t, s, "foo", "1.0.0", alice.ID)
	_, other := publishNew(t, s, "bar", "1.0.0", alice.ID)
	check := func(what string, id int64, want bool) {
		t.Helper()
		if got, err := tp.TrustPubOnly(ctx(t), id); err != nil || got != want {
			t.Errorf("%s: TrustPubOnly = %v, %v; want %v", what, got, err, want)
		}
	}
	check("never set", c.ID, false)
	for range 2 {
		if err := tp.SetTrustPubOnly(ctx(t), c.ID, true); err != nil {
			t.Fatalf("SetTrustPubOnly(on): %v", err)
		}
	}
	check("on", c.ID, true)
	check("other crate", other.ID, false)
	for range 2 {
		if err := tp.SetTrustPubOnly(ctx(t), c.ID, false); err != nil {
			t.Fatalf("SetTrustPubOnly(off): %v", err)
		}
	}
	check("off", c.ID, false)
	wantCode(t, "SetTrustPubOnly(unknown crate)", tp.SetTrustPubOnly(ctx(t), c.ID+1000, true), crated.ENOTFOUND)
}

// testTrustPubDeleteCrate: deleting a crate deletes its trusted publishers,
// which would otherwise reserve the name as pending publishers.
func testTrustPubDeleteCrate(t *testing.T, s crated.Store, tp TrustPubStore) {
	alice := mustUser(t, s, "alice")
	_, c := publishNew(t, s, "Gone", "1.0.0", alice.ID)
	mustTrustPubConfig(t, tp, newTrustPubConfig(alice.ID, "Gone", "org", "repo"))
	kept := mustTrustPubConfig(t, tp, newTrustPubConfig(alice.ID, "other", "org", "repo"))
	if _, err := s.DeleteCrate(ctx(t), c.ID, crated.OperatorID, ""); err != nil {
		t.Fatalf("DeleteCrate: %v", err)
	}
	if got, err := tp.TrustPubConfigsByCrate(ctx(t), c.CanonName); err != nil || len(got) != 0 {
		t.Errorf("configs of the deleted crate: %v, %v; want none", configIDs(got), err)
	}
	if got, err := tp.TrustPubConfigsByCrate(ctx(t), kept.CrateCanon); err != nil || len(got) != 1 {
		t.Errorf("configs of another crate: %v, %v; want one", configIDs(got), err)
	}
}
