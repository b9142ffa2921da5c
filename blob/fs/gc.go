package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob"
)

// Garbage collection (`crated gc`) of blobs no version refers to, and of
// temporary files left by interrupted Puts.
//
// A publish stores its blob first and commits the version that refers to it
// afterwards, so for a moment every new blob is unreferenced. The collector
// only removes what is older than a grace period, by modification time: a
// Put writes a new blob's file just before the commit, and a Put that finds
// its content already stored (an earlier failed publish of the same file)
// refreshes the time of the existing file (see Put). DeleteIfOlder closes
// the remaining race with such a Put by moving the blob aside before it
// looks at its time; see there.

// gcPrefix names a blob moved aside by DeleteIfOlder. It starts with
// tempPrefix, so that one left behind by a crash is a stale temporary file
// for the next collection, never a blob.
const gcPrefix = tempPrefix + "gc-"

// ModTime returns the modification time of the blob stored under key:
// when it was written, or last found already stored by a Put.
func (s *Store) ModTime(ctx context.Context, key string) (_ time.Time, err error) {
	defer crated.Wrap(&err, "fs.ModTime(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return time.Time{}, err
	}
	fi, err := os.Stat(s.Path(key))
	if errors.Is(err, os.ErrNotExist) {
		return time.Time{}, notFound()
	}
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// DeleteIfOlder removes the blob stored under key if it was last written or
// refreshed before the time given, and reports whether it did. The caller has
// checked that no version refers to key.
//
// It renames the blob aside first, then reads its time, then removes it or
// puts it back. A concurrent Put that finds the blob refreshes its time
// before the rename (the time seen is then recent and the blob goes back) or
// fails to, because the name is gone, and writes the blob anew: either way
// the version it is about to commit finds its file.
func (s *Store) DeleteIfOlder(ctx context.Context, key string, before time.Time) (deleted bool, err error) {
	defer crated.Wrap(&err, "fs.DeleteIfOlder(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	path := s.Path(key)
	aside := filepath.Join(filepath.Dir(path), gcPrefix+key)
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	fi, err := os.Stat(aside)
	if err == nil && fi.ModTime().Before(before) {
		if err := os.Remove(aside); err != nil {
			return false, err
		}
		return true, syncDir(filepath.Dir(path))
	}
	// Recent: put it back. If a Put has stored the key again meanwhile, the
	// rename replaces its copy with the same, verified content.
	if rerr := os.Rename(aside, path); rerr != nil {
		return false, errors.Join(err, rerr)
	}
	return false, err
}

// TempFile is a temporary file in the store's directory.
type TempFile struct {
	Path    string
	Size    int64
	ModTime time.Time
}

// TempFiles calls fn for every temporary file of the store: Puts in
// progress, and those an interrupted Put or collection left behind. Only
// files named as this package names them, in their place in the layout.
func (s *Store) TempFiles(ctx context.Context, fn func(TempFile) error) (err error) {
	defer crated.Wrap(&err, "fs.TempFiles")
	return filepath.WalkDir(s.root, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(s.root, path)
		if err != nil || rel == "." {
			return err
		}
		parts := strings.Split(rel, string(filepath.Separator))
		if d.IsDir() {
			if len(parts) > 2 || !isShard(parts[len(parts)-1]) {
				return filepath.SkipDir
			}
			return nil
		}
		if len(parts) != 3 || !d.Type().IsRegular() || !strings.HasPrefix(parts[2], tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, os.ErrNotExist) {
			return nil // finished or removed meanwhile
		}
		if err != nil {
			return err
		}
		return fn(TempFile{Path: path, Size: fi.Size(), ModTime: fi.ModTime()})
	})
}

// RemoveTempIfOlder removes a temporary file listed by TempFiles if it has
// not been written since before: a Put in progress keeps writing to its
// file, so an old one is abandoned.
func (s *Store) RemoveTempIfOlder(path string, before time.Time) (removed bool, err error) {
	defer crated.Wrap(&err, "fs.RemoveTempIfOlder(%q)", path)
	rel, err := filepath.Rel(s.root, path)
	if err != nil || strings.HasPrefix(rel, "..") || !strings.HasPrefix(filepath.Base(path), tempPrefix) {
		return false, crated.Errorf(crated.EINVALID, "%s is not a temporary file of the store", path)
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil || !fi.ModTime().Before(before) {
		return false, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return true, nil
}
