package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"

	"github.com/crated/crated/app"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/sqlite"
)

var backupSpec = &cmdSpec{
	name:     "backup",
	synopsis: "DIR [--copy] [-c FILE]",
	about: `Copies the embedded registry (SQLite database and crate files) into DIR, which must not
exist or be empty, while the server keeps serving. The database is copied first, as one
consistent snapshot (SQLite's VACUUM INTO); then every crate file that snapshot refers to is
hard-linked (or copied, with --copy or across file systems) into DIR, and a file missing from
the registry is an error. Crate files are never modified once written, so a hard link is a
copy that costs no space; copy DIR to other storage to survive a disk failure.

DIR then holds db/crated.db, crates/ and, with OpenID login, db/token-seal.key: a registry
that "crated serve" runs on with db_dir_path = "DIR/db" and dl_dir_path = "DIR/crates"
(restore: see docs/deploy.md). With PostgreSQL or S3, use pg_dump and the bucket's own tools.`,
	nargs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.Bool("copy", false, "copy crate files instead of hard-linking them, verifying each against its checksum")
	},
}

// snapshotter is the metadata store of the embedded default (sqlite).
type snapshotter interface {
	BackupTo(ctx context.Context, path string) error
}

// blobReferencer lists the blob keys a metadata store's versions refer to.
type blobReferencer interface {
	ReferencedBlobs(ctx context.Context, fn func(key string) error) error
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cl, err := backupSpec.parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	m, err := cl.main(stderr)
	if err != nil {
		return err
	}
	if m.Config.DB.PostgresURL != "" || m.Config.CrateFiles.S3Bucket != "" {
		return errors.New("crated backup copies the embedded store (SQLite and a crate files directory); " +
			"this registry uses PostgreSQL or S3: back up the database with pg_dump (or WAL archiving) and the bucket " +
			"with its own tools (versioning, replication), database first; see docs/deploy.md, \"Backups\"")
	}
	dir := cl.args[0]
	if err := checkBackupDir(dir); err != nil {
		return err
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	snap, ok := m.Store.(snapshotter)
	src, ok2 := m.Blobs.(*fs.Store)
	if !ok || !ok2 {
		return fmt.Errorf("crated backup: the stores (%T, %T) cannot be backed up by crated", m.Store, m.Blobs)
	}

	created := false
	if _, err := os.Stat(dir); errors.Is(err, iofs.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o750); err != nil {
		return err
	}
	defer func() {
		if err != nil && created {
			// A failed backup must not look like one.
			os.RemoveAll(dir)
		}
	}()
	dbCopy := app.DBFile(filepath.Join(dir, "db"))
	if err := snap.BackupTo(ctx, dbCopy); err != nil {
		return err
	}
	if err := copySealKey(m.Config.DB.DBDirPath, filepath.Join(dir, "db")); err != nil {
		return err
	}

	// The files are those of the snapshot: read its references from the
	// copy itself. Every one was stored before its version was committed,
	// so it is in the registry's directory now.
	cp, err := sqlite.Open(ctx, dbCopy)
	if err != nil {
		return err
	}
	defer cp.Close()
	dst, err := fs.New(filepath.Join(dir, "crates"))
	if err != nil {
		return err
	}
	var linked, copied int
	var missing []string
	copyAll := cl.boolFlag("copy")
	err = cp.ReferencedBlobs(ctx, func(key string) error {
		how, err := backupBlob(ctx, src, dst, key, copyAll)
		switch {
		case errors.Is(err, iofs.ErrNotExist):
			missing = append(missing, key)
			return nil
		case err != nil:
			return err
		case how == "linked":
			linked++
		default:
			copied++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("the registry is missing %d crate files that versions refer to (first: %s in %s); the backup in %s lacks them too",
			len(missing), missing[0], m.Config.CrateFiles.DLDirPath, dir)
	}
	fmt.Fprintf(stdout, "backup of %s in %s: database snapshot, %d crate files (%d hard-linked, %d copied)\n",
		m.StoreName(), dir, linked+copied, linked, copied)
	fmt.Fprintf(stdout, "to serve it: db_dir_path = %q, dl_dir_path = %q (docs/deploy.md, \"Restore\")\n",
		filepath.Join(dir, "db"), filepath.Join(dir, "crates"))
	return nil
}

// checkBackupDir refuses a DIR that exists and is not an empty directory:
// a backup never mixes with or overwrites other files.
func checkBackupDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("backup directory %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("backup directory %s is not empty: give a new or empty directory (a backup never overwrites files)", dir)
	}
	return nil
}

// backupBlob hard-links the blob into dst, or copies it through dst.Put
// (which verifies it against its key) when asked to or when linking fails
// (another file system).
func backupBlob(ctx context.Context, src, dst *fs.Store, key string, copyAll bool) (string, error) {
	from, to := src.Path(key), dst.Path(key)
	if from == "" {
		return "", fmt.Errorf("invalid checksum %q in the database", key)
	}
	if !copyAll {
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return "", err
		}
		if err := os.Link(from, to); err == nil {
			return "linked", nil
		} else if errors.Is(err, iofs.ErrNotExist) {
			return "", err
		}
	}
	f, err := os.Open(from)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return "copied", dst.Put(ctx, key, f, -1)
}

// copySealKey copies the OpenID token seal key kept beside the database,
// when there is one: without it a restored registry's users get new tokens
// at their next /me.
func copySealKey(fromDir, toDir string) error {
	data, err := os.ReadFile(filepath.Join(fromDir, app.SealKeyFile))
	if errors.Is(err, iofs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(toDir, app.SealKeyFile), data, 0o600)
}
