package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/sqlite"
	"github.com/crated/crated/storetest"
)

func TestStore(t *testing.T) {
	for _, name := range []string{"file", "memory"} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) crated.Store { return checked(t, open(t, name)) })
		})
	}
}

// open returns a fresh store in a temporary file or in memory.
func open(t testing.TB, kind string) *sqlite.Store {
	path := ":memory:"
	if kind == "file" {
		path = filepath.Join(t.TempDir(), "sub", "dir", "crated.db")
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkedStore checks, as it closes, that the packed index rows of every
// crate match its versions after whatever the test did.
type checkedStore struct {
	*sqlite.Store
	t *testing.T
}

func checked(t *testing.T, s *sqlite.Store) checkedStore { return checkedStore{s, t} }

func (c checkedStore) Close() error {
	if err := c.CheckIndexChunks(context.Background()); err != nil {
		c.t.Errorf("after the test: %v", err)
	}
	return c.Store.Close()
}
