package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/crated/crated"
)

// OpenExistingStores opens the stores like OpenStores, but only when the
// registry is already there: the admin commands (user, token, backup, gc,
// index rebuild) must never create an empty registry beside the one the
// server uses because they were started in another directory or without
// the server's file. Only `crated serve` and `crated migrate` create one.
//
// With SQLite the database file must exist, and with the file blob store its
// directory; PostgreSQL and S3 exist or not outside crated, and opening them
// reports an unreachable one.
func (m *Main) OpenExistingStores(ctx context.Context) error {
	cfg := m.Config
	if cfg.DB.PostgresURL == "" {
		if err := m.mustExist("db_config.db_dir_path", cfg.DB.DBDirPath, DBFile(cfg.DB.DBDirPath), false); err != nil {
			return err
		}
	}
	if cfg.CrateFiles.S3Bucket == "" {
		if err := m.mustExist("crate_files_config.dl_dir_path", cfg.CrateFiles.DLDirPath, cfg.CrateFiles.DLDirPath, true); err != nil {
			return err
		}
	}
	return m.OpenStores(ctx)
}

// DBFile is the SQLite database file in a db_dir_path.
func DBFile(dbDir string) string { return filepath.Join(dbDir, "crated.db") }

// mustExist returns an error that names what was looked for, where the
// setting came from and how to point the command at the right registry,
// when path does not exist.
func (m *Main) mustExist(key, value, path string, dir bool) error {
	fi, err := os.Stat(path)
	if err == nil && fi.IsDir() == dir {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", key, err)
	}
	abs, _ := filepath.Abs(path)
	what := "registry database"
	if dir {
		what = "crate files directory"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "no %s at %s", what, abs)
	if err == nil {
		fmt.Fprintf(&b, " (it is not a %s)", map[bool]string{true: "directory", false: "file"}[dir])
	}
	origin := m.Config.Origin(key)
	if origin == "" {
		if m.Config.File == "" {
			origin = "by default, with no configuration file"
		} else {
			origin = "by default for a file without it, read from " + m.Config.File
		}
	}
	fmt.Fprintf(&b, ": %s = %q %s", key, value, origin)
	if !filepath.IsAbs(value) {
		wd, _ := os.Getwd()
		fmt.Fprintf(&b, ", relative to the current directory %s", wd)
	}
	b.WriteString(".\nThis command works on an existing registry and creates none. To reach the server's registry, " +
		"run it in the directory `crated serve` runs in, or give it the server's file (-c FILE or CRATED_CONFIG=FILE; " +
		"without either, ./crated.toml is read when it exists); with relative paths in the file, also run it in the " +
		"server's directory, or make the paths absolute. `crated serve` creates a new registry.")
	return crated.Errorf(crated.ENOTFOUND, "%s", b.String())
}

// StoreName describes the metadata store for the operator, without secrets:
// the SQLite file's absolute path, or "PostgreSQL".
func (m *Main) StoreName() string {
	if m.Config.DB.PostgresURL != "" {
		return "PostgreSQL (db_config.postgres_url)"
	}
	abs, err := filepath.Abs(DBFile(m.Config.DB.DBDirPath))
	if err != nil {
		return DBFile(m.Config.DB.DBDirPath)
	}
	return abs
}

// SealKeyFile is the token seal key created beside the SQLite database when
// none is configured; backups carry it along.
const SealKeyFile = sealKeyFile
