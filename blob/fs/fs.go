// Package fs is the default crated.BlobStore: crate files in a local
// directory, content-addressed by the sha256 of their content.
//
// Layout under the directory given to New:
//
//	sha256/                      the only hash in use; the name leaves room for another
//	  ab/                        first two hex digits of the key
//	    cd/                      next two hex digits
//	      abcd0123...ef          one blob, named by its full 64-digit key
//	      .put-1234567890        a Put in progress, or left behind by a crash
//
// Two levels of 256 directories keep every directory small. A blob is
// written to a temporary file in its final directory (so that the rename is
// within one filesystem and atomic), hashed while it is copied, verified,
// fsynced and renamed onto its name, and then the directory is fsynced: a
// blob name only ever refers to complete, verified content, even after a
// crash. Temporary files are never visible to Open, Stat or Walk; stale ones
// are harmless; `crated gc` removes them (gc.go).
package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob"
)

// tempPrefix starts the name of every temporary file. A dot keeps it apart
// from keys, which are hex digits only.
const tempPrefix = ".put-"

// Store is a blob store in a local directory.
type Store struct {
	dir  string // as given to New, made absolute
	root string // dir/sha256
}

var _ crated.BlobStore = (*Store)(nil)

// New opens the store in dir, creating the directory if needed.
func New(dir string) (_ *Store, err error) {
	defer crated.Wrap(&err, "fs.New(%q)", dir)
	if dir == "" {
		return nil, crated.Errorf(crated.EINVALID, "blob directory is not set")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(abs, "sha256")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	return &Store{dir: abs, root: root}, nil
}

// Path returns the file name of the blob with the given key, whether or not
// it is stored, for tools that work on the files directly. It returns "" for
// an invalid key.
func (s *Store) Path(key string) string {
	if !blob.ValidKey(key) {
		return ""
	}
	return filepath.Join(s.root, key[:2], key[2:4], key)
}

// Put stores the content of r under key, verifying that it hashes to key and,
// when size is not negative, that it has size bytes (EINVALID otherwise). A
// key that is already stored with that size is not rewritten, but the
// content is still read and verified.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	defer crated.Wrap(&err, "fs.Put(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	v := blob.NewVerifier(ctxReader{ctx, r}, key, size)
	path := s.Path(key)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && size >= 0 && fi.Size() == size {
		// Refresh its time: it may be an unreferenced blob of an earlier,
		// failed publish that `crated gc` would otherwise find old while
		// this publish commits (see gc.go). If it has just been moved
		// aside, write it again.
		now := time.Now()
		if os.Chtimes(path, now, now) == nil {
			return v.Drain()
		}
	}

	dir := filepath.Dir(path)
	created, err := s.mkdirs(dir)
	if err != nil {
		return err
	}
	if len(created) > 0 {
		// The parents of new directories are synced while the blob is
		// written and synced, not before: each fsync waits for the disk,
		// and these are independent. Put returns only once they are done.
		parents := make(chan error, 1)
		go func() { parents <- syncParents(created) }()
		defer func() {
			if perr := <-parents; err == nil {
				err = perr
			}
		}()
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, v); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; blobs are not secret from the
	// machine's other users any more than the directory lets them be.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Rename replaces a copy that a concurrent Put of the same key may have
	// stored meanwhile; both have the same verified content.
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// mkdirs creates dir and its missing parents under the root and returns
// the directories it created, whose parents the caller must sync so that
// the new entries survive a crash (syncParents). Parents that already
// existed need no sync: nothing in them changed (on a fresh store that saves
// an fsync of the root for nearly every new leaf directory, once its 256
// first-level directories exist).
func (s *Store) mkdirs(dir string) ([]string, error) {
	if _, err := os.Stat(dir); err == nil {
		return nil, nil
	}
	var missing []string
	for d := dir; d != s.root && len(d) > len(s.root); d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		// Another Put may create it meanwhile; its parent is synced either
		// way, by whichever of us made it.
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, iofs.ErrExist) {
			return nil, err
		}
		created = append(created, d)
	}
	return created, nil
}

// syncParents syncs the parent of each directory in created.
func syncParents(created []string) error {
	for _, d := range created {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir fsyncs a directory, making renames and creations in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// file is an open blob. It embeds the *os.File rather than hiding it behind
// a field: net/http's sendfile path (net.sendFile, reached from
// http.ServeContent through io.CopyN and the connection's ReadFrom) only
// engages when the reader, unwrapped from an io.LimitedReader, implements
// syscall.Conn, and embedding promotes (*os.File).SyscallConn. A wrapper
// without it would make every download copy through user space.
type file struct {
	*os.File
	size    int64
	modTime time.Time
}

func (f *file) Size() int64        { return f.size }
func (f *file) ModTime() time.Time { return f.modTime }

// Open returns the blob stored under key, ENOTFOUND if absent.
func (s *Store) Open(ctx context.Context, key string) (_ crated.Blob, err error) {
	defer crated.Wrap(&err, "fs.Open(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.Path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound()
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", f.Name())
	}
	return &file{File: f, size: fi.Size(), modTime: fi.ModTime()}, nil
}

// Stat returns the size of the blob stored under key, ENOTFOUND if absent.
func (s *Store) Stat(ctx context.Context, key string) (_ int64, err error) {
	defer crated.Wrap(&err, "fs.Stat(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return 0, err
	}
	fi, err := os.Stat(s.Path(key))
	if errors.Is(err, os.ErrNotExist) {
		return 0, notFound()
	}
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file", s.Path(key))
	}
	return fi.Size(), nil
}

func notFound() error {
	return crated.Errorf(crated.ENOTFOUND, "crate file not found")
}

// Delete removes the blob stored under key; an absent key is not an error.
// Emptied directories stay: removing them could race with a Put that has
// just created them.
func (s *Store) Delete(ctx context.Context, key string) (err error) {
	defer crated.Wrap(&err, "fs.Delete(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if err := os.Remove(s.Path(key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Walk calls fn for every stored key. It skips temporary files and anything
// else that is not a blob in its place in the layout.
func (s *Store) Walk(ctx context.Context, fn func(key string) error) (err error) {
	defer crated.Wrap(&err, "fs.Walk")
	return filepath.WalkDir(s.root, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(s.root, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		parts := strings.Split(rel, string(filepath.Separator))
		if d.IsDir() {
			if len(parts) > 2 || !isShard(parts[len(parts)-1]) {
				return filepath.SkipDir
			}
			return nil
		}
		if len(parts) != 3 || !d.Type().IsRegular() {
			return nil
		}
		key := parts[2]
		if !blob.ValidKey(key) || key[:2] != parts[0] || key[2:4] != parts[1] {
			return nil
		}
		return fn(key)
	})
}

// isShard reports whether name is a directory name of the layout: two
// lowercase hex digits.
func isShard(name string) bool {
	return len(name) == 2 && isHex(name[0]) && isHex(name[1])
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// Ping reports whether the store's directory is there.
func (s *Store) Ping(ctx context.Context) error {
	fi, err := os.Stat(s.root)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a directory", s.root)
	}
	if err != nil {
		return errors.Join(crated.Errorf(crated.EUNAVAILABLE, "crate file storage is unavailable"), fmt.Errorf("fs.Ping: %w", err))
	}
	return nil
}
