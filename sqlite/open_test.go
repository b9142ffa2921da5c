package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

func mustOpen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func publish(t *testing.T, s *Store, crateID int64, name, vers string, user int64) (*crated.Version, error) {
	t.Helper()
	return s.PublishVersion(t.Context(), &crated.NewVersion{
		CrateID: crateID,
		Crate:   crated.Crate{Name: name, CanonName: cargo.CanonicalName(name)},
		Version: crated.Version{Vers: vers, VersKey: vers, SortKey: vers, Entry: []byte("{}"), PublishedBy: user},
		OwnerID: user,
	})
}

func TestOpenPaths(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, path string }{
		{"Nested", filepath.Join(dir, "a", "b", "crated.db")},
		{"URISpecials", filepath.Join(dir, "we?ird #name%20&x=1.db")},
		{"Relative", filepath.Join(must(filepath.Rel(must(os.Getwd()), dir)), "rel.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t, tt.path)
			u := &crated.User{Login: "alice"}
			if err := s.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tt.path); err != nil {
				t.Fatalf("database file not at the given path: %v", err)
			}
			// Reopening finds the data and applies no migration twice.
			s = mustOpen(t, tt.path)
			if _, err := s.UserByLogin(t.Context(), "alice"); err != nil {
				t.Errorf("after reopening: %v", err)
			}
			var n int
			if err := s.read.QueryRow(`SELECT count(*) FROM migrations`).Scan(&n); err != nil || n != len(must(migrationFS.ReadDir("migration"))) {
				t.Errorf("migrations table has %d rows (%v), want one per file", n, err)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestOpenInvalid(t *testing.T) {
	_, err := Open(t.Context(), "")
	if crated.ErrorCode(err) != crated.EINVALID {
		t.Errorf("Open(\"\") = %v, want EINVALID", err)
	}
	// A directory where the file should be.
	_, err = Open(t.Context(), t.TempDir())
	if err == nil {
		t.Errorf("Open(directory) succeeded")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crated.db")
	s := mustOpen(t, path)
	if _, err := s.write.Exec(`INSERT INTO migrations (name, applied_at) VALUES ('9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(t.Context(), path)
	if crated.ErrorCode(err) != crated.EINVALID {
		t.Errorf("Open(newer schema) = %v, want EINVALID", err)
	}
}

func TestPragmas(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "crated.db"))
	tests := []struct {
		pool   string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "synchronous", "1"}, // NORMAL
		{"write", "foreign_keys", "1"},
		{"write", "busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
		{"read", "journal_mode", "wal"},
		{"read", "query_only", "1"},
		{"read", "busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
	}
	for _, tt := range tests {
		db := s.write
		if tt.pool == "read" {
			db = s.read.DB
		}
		var got string
		if err := db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil || got != tt.want {
			t.Errorf("%s pool: PRAGMA %s = %q, %v, want %q", tt.pool, tt.pragma, got, err, tt.want)
		}
	}
}

func TestNow(t *testing.T) {
	s := mustOpen(t, ":memory:")
	at := time.Date(2031, 2, 3, 4, 5, 6, 789123456, time.FixedZone("X", 3600))
	s.Now = func() time.Time { return at }
	want := at.UTC().Truncate(time.Microsecond)

	u := &crated.User{Login: "alice"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(t, s, 0, "timed", "1.0.0", u.ID); err != nil {
		t.Fatal(err)
	}
	c, err := s.CrateByName(t.Context(), "timed")
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Version(t.Context(), c.ID, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]time.Time{
		"User.CreatedAt": u.CreatedAt, "Crate.CreatedAt": c.CreatedAt, "Crate.UpdatedAt": c.UpdatedAt,
		"Version.PublishedAt": v.PublishedAt,
	} {
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestConflictMessages(t *testing.T) {
	s := mustOpen(t, ":memory:")
	u := &crated.User{Login: "alice"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	v, err := publish(t, s, 0, "foo-bar", "1.0.0", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Version", second(publish(t, s, v.CrateID, "foo-bar", "1.0.0", u.ID)), "crate version `1.0.0` is already uploaded"},
		{"Crate", second(publish(t, s, 0, "foo_bar", "2.0.0", u.ID)), "a crate named `foo-bar` already exists"},
		{"Login", s.CreateUser(t.Context(), &crated.User{Login: "alice"}), crated.LoginTaken("alice").Message},
		{"LookAlikeLogin", s.CreateUser(t.Context(), &crated.User{Login: "Alice"}), crated.LoginTaken("Alice").Message},
	}
	for _, tt := range tests {
		if crated.ErrorCode(tt.err) != crated.ECONFLICT || crated.ErrorMessage(tt.err) != tt.want {
			t.Errorf("%s: %v, want ECONFLICT %q", tt.name, tt.err, tt.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestTwoStoresOneFile races two Stores, like two processes, on one file:
// BEGIN IMMEDIATE and busy_timeout make them take turns, and the constraints
// still decide between racing publishes of one version.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crated.db")
	stores := []*Store{mustOpen(t, path), mustOpen(t, path)}
	u := &crated.User{Login: "alice"}
	if err := stores[0].CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	v, err := publish(t, stores[1], 0, "shared", "0.0.0", u.ID)
	if err != nil {
		t.Fatal(err)
	}

	const n = 20
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Go(func() {
			vers := fmt.Sprintf("1.%d.0", i) // distinct
			if i >= n {
				vers = "2.0.0" // contested
			}
			_, errs[i] = publish(t, stores[i%2], v.CrateID, "shared", vers, u.ID)
		})
	}
	wg.Wait()
	var contestedWins int
	for i, err := range errs {
		switch {
		case i < n && err != nil:
			t.Errorf("distinct version %d: %v", i, err)
		case i >= n && err == nil:
			contestedWins++
		case i >= n && crated.ErrorCode(err) != crated.ECONFLICT:
			t.Errorf("contested version %d: %v, want ECONFLICT", i, err)
		}
	}
	if contestedWins != 1 {
		t.Errorf("%d stores published 2.0.0, want exactly 1", contestedWins)
	}
	for i, s := range stores {
		if _, versions, err := s.CountCrates(t.Context()); err != nil || versions != n+2 {
			t.Errorf("store %d: %d versions, %v, want %d", i, versions, err, n+2)
		}
	}
}
