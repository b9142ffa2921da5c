package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/crated/crated"
)

// BackupTo writes a consistent copy of the database to a new file at path,
// while other connections and processes (a running server) keep reading and
// writing.
//
// It uses VACUUM INTO rather than SQLite's online backup API: VACUUM INTO is
// one statement that reads the database inside a single read transaction, so
// under WAL it sees one snapshot and never blocks or waits for writers; the
// backup API copies pages in steps and starts over whenever another
// connection writes between steps, which on a busy server may never finish
// (or, done in one step, is the same snapshot read with more code). The copy
// is also compacted and self-contained: no -wal file to carry along.
//
// The file must not exist.
func (s *Store) BackupTo(ctx context.Context, path string) (err error) {
	defer crated.Wrap(&err, "sqlite.BackupTo(%q)", path)
	if _, err := os.Lstat(path); err == nil {
		return crated.Errorf(crated.ECONFLICT, "%s already exists", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	// On the write connection: the read-only ones (query_only) may not
	// create a file. VACUUM INTO takes no write lock on the source, so a
	// server in another process keeps publishing; in this process other
	// writes wait for the copy, which only the backup command makes.
	_, err = s.write.ExecContext(ctx, `VACUUM INTO ?`, abs)
	return err
}
