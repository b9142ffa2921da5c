package migrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/postgres"
	"github.com/crated/crated/sqlite"
)

// sqliteFile is the database file in a db_dir_path, as app opens it.
const sqliteFile = "crated.db"

// OpenStore opens the metadata store that spec names:
//
//	sqlite:PATH          the SQLite database file, or the db_dir_path holding crated.db
//	postgres:URL         a PostgreSQL URL (postgres://...) or key=value connection string
//	postgres://...       the same, without the prefix
//
// A source must exist (mustExist): a misspelt SQLite path would otherwise be
// created empty and "migrated" as a registry with nothing in it. Errors never
// show a PostgreSQL password.
func OpenStore(ctx context.Context, spec string, mustExist bool) (crated.Store, error) {
	kind, rest, _ := strings.Cut(spec, ":")
	switch {
	case kind == "sqlite":
		path, err := sqlitePath(rest, mustExist)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path)
	case kind == "postgres" && strings.HasPrefix(rest, "//"), kind == "postgresql":
		return postgres.Open(ctx, spec)
	case kind == "postgres":
		return postgres.Open(ctx, rest)
	}
	return nil, crated.Errorf(crated.EINVALID, "unknown store %q: use sqlite:PATH or postgres:URL", kind)
}

// sqlitePath resolves a sqlite: spec to the database file.
func sqlitePath(path string, mustExist bool) (string, error) {
	if path == "" {
		return "", crated.Errorf(crated.EINVALID, "sqlite: needs the path of the database file or of its directory")
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		path = filepath.Join(path, sqliteFile)
		if _, err := os.Stat(path); err != nil && mustExist {
			return "", crated.Errorf(crated.ENOTFOUND, "%s holds no %s", filepath.Dir(path), sqliteFile)
		}
	case errors.Is(err, os.ErrNotExist) && mustExist:
		return "", crated.Errorf(crated.ENOTFOUND, "the SQLite database %s does not exist", path)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	return path, nil
}

// SameStore reports whether two specs obviously name the same store, which
// a migration must refuse: it would compare the store with itself.
func SameStore(a, b string) bool {
	norm := func(s string) string {
		kind, rest, _ := strings.Cut(s, ":")
		if kind == "sqlite" {
			if abs, err := filepath.Abs(rest); err == nil {
				rest = abs
			}
			if fi, err := os.Stat(rest); err == nil && fi.IsDir() {
				rest = filepath.Join(rest, sqliteFile)
			}
		}
		return kind + ":" + rest
	}
	return norm(a) == norm(b)
}
