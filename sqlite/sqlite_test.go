package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/sqlite"
	"github.com/crated/crated/storetest"
)

func TestStore(t *testing.T) {
	for _, name := range []string{"file", "memory"} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) crated.Store { return open(t, name) })
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
