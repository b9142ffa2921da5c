package static

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crated/crated"
)

// Dir is a Target in a local directory, for nginx to serve with a plain
// root. Files are readable by everyone (0644, directories 0755): the web
// server usually runs as another user.
type Dir struct {
	root string
}

// NewDir returns the tree rooted at root, creating the directory.
func NewDir(root string) (*Dir, error) {
	// Clean, so that Remove's climb recognises the root ("./static/").
	root = filepath.Clean(root)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	return &Dir{root: root}, nil
}

// Root is the directory holding the tree.
func (d *Dir) Root() string { return d.root }

func (d *Dir) file(path string) (string, error) {
	if path == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "\\") ||
		!filepath.IsLocal(filepath.FromSlash(path)) {
		return "", crated.Errorf(crated.EINVALID, "static: bad path %q", path)
	}
	return filepath.Join(d.root, filepath.FromSlash(path)), nil
}

// place resolves path to its file name and creates its directory.
func (d *Dir) place(path string) (name, dir string, err error) {
	if name, err = d.file(path); err != nil {
		return "", "", err
	}
	dir = filepath.Dir(name)
	return name, dir, os.MkdirAll(dir, 0o755)
}

// Put writes to a temporary file beside the target and renames it over
// the target, so that a reader sees the old file or the new one, never a
// part.
//
// Nothing is fsynced: the tree is derived from the store, and crated
// compares it with the store at every start (Publisher.Sync) before it
// serves, so a file that a machine crash lost or left empty is rewritten
// then. Syncing here would only buy that repair a little earlier, at the
// cost of two disk flushes per file on every publish.
func (d *Dir) Put(ctx context.Context, path string, r io.Reader, size int64) (err error) {
	name, dir, err := d.place(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, r)
	if err != nil {
		return err
	}
	if n != size {
		return crated.Errorf(crated.EINTERNAL, "static: %s: wrote %d bytes, want %d", path, n, size)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := advanceMtime(tmp.Name(), name); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// Link makes the file at path another name of the file src (a blob of the
// local blob store, whose content never changes once written): no copy, and
// the blob store has already made its content durable. The two names share
// one inode, so advanceMtime also moves the blob's time forward, which only
// makes `crated gc` think it younger. Link fails, and the caller copies
// instead, when src is on another filesystem.
func (d *Dir) Link(ctx context.Context, path, src string) (err error) {
	name, dir, err := d.place(path)
	if err != nil {
		return err
	}
	// A new file (a new version): the link makes the name appear with
	// the whole content at once.
	err = os.Link(src, name)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if a, err := os.Stat(name); err == nil {
		if b, err := os.Stat(src); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	// A different file is there: replace it by a rename.
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp.Close()
	// os.Link does not replace: the temporary name is removed first and
	// taken again by the link (a clash with another writer fails the link,
	// and the caller copies).
	if err := os.Remove(tmp.Name()); err != nil {
		return err
	}
	if err := os.Link(src, tmp.Name()); err != nil {
		return err
	}
	err = advanceMtime(tmp.Name(), name)
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// advanceMtime gives the new file a modification time at least one second
// after the file it replaces. nginx's ETag and Last-Modified are the mtime
// in whole seconds and the size, so two versions of an index file written
// within one second with the same size (a yank and an unyank) would
// otherwise share an ETag, and cargo would keep its stale copy on a 304.
func advanceMtime(tmp, target string) error {
	old, err := os.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	cur, err := os.Stat(tmp)
	if err != nil {
		return err
	}
	next := old.ModTime().Truncate(time.Second).Add(time.Second)
	if cur.ModTime().Truncate(time.Second).After(old.ModTime().Truncate(time.Second)) {
		return nil
	}
	return os.Chtimes(tmp, next, next)
}

// Read returns a file's content.
func (d *Dir) Read(ctx context.Context, path string) ([]byte, error) {
	name, err := d.file(path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, crated.Errorf(crated.ENOTFOUND, "static: %s: no such file", path)
	}
	return b, err
}

// Remove removes a file and the directories it leaves empty.
func (d *Dir) Remove(ctx context.Context, path string) error {
	name, err := d.file(path)
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// Empty directories (a removed version's) go too; Remove fails on a
	// directory that is not empty, which ends the climb.
	for dir := filepath.Dir(name); dir != d.root && strings.HasPrefix(dir, d.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Walk lists every file of the tree.
func (d *Dir) Walk(ctx context.Context, fn func(path string, size int64) error) error {
	return filepath.WalkDir(d.root, func(name string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.root, name)
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // renamed or removed meanwhile
		} else if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), fi.Size())
	})
}
