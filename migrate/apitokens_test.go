package migrate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/migrate"
)

// TestCopyAPITokens: migrate-store carries API tokens over with their
// scopes and expiry, beside the login token, and a second run finds them.
func TestCopyAPITokens(t *testing.T) {
	f := newFixture(t)
	alice := mustUser(t, f.store, "alice")
	expires := time.Date(2040, 1, 2, 3, 4, 5, 0, time.UTC)
	src := &crated.Token{UserID: alice.ID, Hash: strings.Repeat("e", 64), Name: "ci",
		CrateScopes: []string{"alpha*"}, EndpointScopes: []string{}, ExpiresAt: expires}
	if err := f.store.CreateAPIToken(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	dst := sqliteTarget(t)
	opt := migrate.Options{SrcBlobs: f.blobs, DstBlobs: fsTarget(t)}
	if _, err := migrate.Run(t.Context(), f.store, dst, opt); err != nil {
		t.Fatal(err)
	}
	got, err := dst.TokenByHash(t.Context(), src.Hash)
	if err != nil {
		t.Fatalf("the API token was not copied: %v", err)
	}
	if got.Kind != crated.TokenAPI || got.Name != "ci" || len(got.CrateScopes) != 1 || got.CrateScopes[0] != "alpha*" ||
		got.EndpointScopes == nil || len(got.EndpointScopes) != 0 || !got.ExpiresAt.Equal(expires) {
		t.Errorf("copied token = %+v, want %+v", got, src)
	}
	if _, err := dst.UserToken(t.Context(), got.UserID); err != nil {
		t.Errorf("the login token was not copied beside it: %v", err)
	}
	st, err := migrate.Run(t.Context(), f.store, dst, opt)
	if err != nil {
		t.Fatal(err)
	}
	if st.TokensCopied != 0 {
		t.Errorf("second run copied %d tokens, want 0", st.TokensCopied)
	}
}
