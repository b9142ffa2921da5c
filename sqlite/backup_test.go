package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/sqlite"
)

// TestBackupTo copies a database that another store on the same file (as a
// running server would be) keeps writing to, and reads the copy: it holds
// what was committed before, not what came after.
func TestBackupTo(t *testing.T) {
	file := filepath.Join(t.TempDir(), "crated.db")
	s, err := sqlite.Open(t.Context(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := testenv.StoreUser(t, s, "alice")
	testenv.StorePublish(t, s, u, "alpha", "0.1.0")

	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := s.BackupTo(t.Context(), dst); err != nil {
		t.Fatal(err)
	}
	if err := s.BackupTo(t.Context(), dst); !crated.IsCode(err, crated.ECONFLICT) {
		t.Errorf("backup onto an existing file: %v, want ECONFLICT", err)
	}
	server, err := sqlite.Open(t.Context(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	testenv.StorePublish(t, server, u, "alpha", "0.2.0") // after the snapshot

	c, err := sqlite.Open(t.Context(), dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	crate, err := c.CrateByName(t.Context(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := c.Versions(t.Context(), crate.ID)
	if err != nil || len(vs) != 1 || vs[0].Vers != "0.1.0" {
		t.Errorf("versions in the copy: %v, %v; want only 0.1.0", vs, err)
	}
	if _, err := c.UserByLogin(t.Context(), "alice"); err != nil {
		t.Errorf("alice in the copy: %v", err)
	}
}
