package testenv

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/sqlite"
)

// SQLiteStore opens a fresh SQLite store in a temp dir, closed at cleanup.
func SQLiteStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// StoreUser creates a user directly in the store and returns its id.
func StoreUser(t testing.TB, st crated.Store, name string) int64 {
	t.Helper()
	u := &crated.User{Login: name, Name: name}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// StorePublish stores one version with a realistic index line directly in
// the store, for tests of what is derived from it (index files, the git
// index).
func StorePublish(t testing.TB, st crated.Store, owner int64, name, vers string) *crated.Version {
	t.Helper()
	ctx := context.Background()
	v, err := cargo.ParseVersion(vers)
	if err != nil {
		t.Fatal(err)
	}
	cksum := fmt.Sprintf("%064x", len(name)*1000+len(vers))
	line := fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[],"cksum":%q,"features":{},"yanked":false}`, name, vers, cksum)
	nv := &crated.NewVersion{
		Crate:   crated.Crate{Name: name, CanonName: cargo.CanonicalName(name)},
		Version: crated.Version{Vers: vers, VersKey: v.Key(), SortKey: v.SortKey(), Cksum: cksum, Entry: []byte(line), PublishedBy: owner},
		OwnerID: owner,
	}
	if c, err := st.CrateByName(ctx, cargo.CanonicalName(name)); err == nil {
		nv.CrateID = c.ID
	}
	out, err := st.PublishVersion(ctx, nv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
