package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// migratedBefore returns a new database file with the migrations whose
// names sort before first, as an older crated left it, to test the upgrade
// from there.
func migratedBefore(t *testing.T, first string) (*sql.DB, string) {
	path := filepath.Join(t.TempDir(), "crated.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE migrations (name TEXT NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	paths, _ := fs.Glob(migrationFS, "migration/*.sql")
	sort.Strings(paths)
	for _, p := range paths {
		name := filepath.Base(p)
		if name >= first {
			break
		}
		body, _ := migrationFS.ReadFile(p)
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Exec(`INSERT INTO migrations VALUES (?, 0)`, name); err != nil {
			t.Fatal(err)
		}
	}
	return db, path
}

// CheckIndexChunks compares every crate's packed index rows (migration
// 0009) with its versions: the triggers and the writes that pause them
// must leave no crate stale, missing or left over, and no chunk far over
// its size.
func (s *Store) CheckIndexChunks(ctx context.Context) error {
	for _, table := range []string{"index_files_paused", "index_chunks_stale"} {
		if left, err := exists(ctx, s.read, `SELECT 1 FROM `+table); err != nil || left {
			return fmt.Errorf("%s has a row after its transaction: %v, %v", table, left, err)
		}
	}
	if orphans, err := exists(ctx, s.read, `SELECT 1 FROM index_chunks f WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.crate_id = f.key >> 32)`); err != nil || orphans {
		return fmt.Errorf("index_chunks has rows of crates without versions: %v, %v", orphans, err)
	}
	if big, err := exists(ctx, s.read, `SELECT 1 FROM index_chunks WHERE length(lines) > 16384 + 65536 OR length(lines) = 0`); err != nil || big {
		return fmt.Errorf("index_chunks has an empty chunk or one of over 16 KiB and a line: %v, %v", big, err)
	}
	canons, err := queryAll(ctx, s.read, func(r scanner) (c string, err error) { return c, r.Scan(&c) },
		`SELECT canon_name FROM crates WHERE id IN (SELECT crate_id FROM versions)`)
	if err != nil {
		return err
	}
	for _, canon := range canons {
		packed, err := s.indexRowsFromChunks(ctx, canon)
		if err != nil {
			return fmt.Errorf("crate %s: %w", canon, err)
		}
		if packed == nil {
			return fmt.Errorf("crate %s has versions and no index_chunks rows", canon)
		}
		want, err := s.indexRowsFromVersions(ctx, canon)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(packed, want) {
			return fmt.Errorf("crate %s: packed index rows\n%+v\nwant\n%+v", canon, packed, want)
		}
	}
	return nil
}
