package fs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"

	"github.com/crated/crated"
	"github.com/crated/crated/blob"
)

// Content is one blob of a PutBatch.
type Content struct {
	Key  string
	Data []byte
}

// PutBatch stores many blobs with the guarantees of Put but two flushes to
// disk in all instead of two or three fsyncs per blob, for bulk loads
// (`crated import`), where those fsyncs are most of the time. Each blob is
// verified against its key and written to a temporary file in its final
// directory; then the file system is flushed, the temporary files are
// renamed onto their keys, and it is flushed again. A crash at any point
// leaves complete blobs and stray temporary files, never a partial blob
// under a key; when PutBatch returns nil every blob is durable. Blobs that
// exist with the right size are left alone, as Put does.
func (s *Store) PutBatch(ctx context.Context, blobs []Content) (err error) {
	defer crated.Wrap(&err, "fs.PutBatch(%d blobs)", len(blobs))
	type staged struct{ tmp, path string }
	var todo []staged
	defer func() {
		if err != nil {
			for _, st := range todo {
				os.Remove(st.tmp)
			}
		}
	}()
	for _, b := range blobs {
		if err := blob.CheckKey(b.Key); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// The content is in memory: hash it once, here, rather than
		// through a Verifier while copying.
		sum := sha256.Sum256(b.Data)
		if hex.EncodeToString(sum[:]) != b.Key {
			return crated.Errorf(crated.EINVALID, "blob content does not hash to its key %s", b.Key)
		}
		path := s.Path(b.Key)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(b.Data)) {
			continue
		}
		dir := filepath.Dir(path)
		// The flushes below make new directories durable too.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		tmp, err := writeTemp(dir, b.Data)
		if err != nil {
			return err
		}
		todo = append(todo, staged{tmp, path})
	}
	if len(todo) == 0 {
		return nil
	}
	if err := s.flush(func(yield func(string) bool) {
		for _, st := range todo {
			if !yield(st.tmp) {
				return
			}
		}
	}); err != nil {
		return err
	}
	for i, st := range todo {
		if err := os.Rename(st.tmp, st.path); err != nil {
			todo = todo[i:]
			return err
		}
	}
	renamed := todo
	todo = nil
	return s.flush(func(yield func(string) bool) {
		for _, st := range renamed {
			if !yield(filepath.Dir(st.path)) {
				return
			}
		}
	})
}

// writeTemp writes data to a new temporary file in dir and returns its
// name.
func writeTemp(dir string, data []byte) (_ string, err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return "", err
	}
	return tmp, f.Close()
}
