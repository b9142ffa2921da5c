package fs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
)

func key(data string) string {
	sum := sha256.Sum256([]byte(data))
	return hex.EncodeToString(sum[:])
}

// TestPutBatch: every blob of a batch is readable afterwards, one that is
// already there is left alone, and a blob whose content does not match its
// key fails the batch and leaves nothing under that key nor a temporary
// file behind.
func TestPutBatch(t *testing.T) {
	dir := t.TempDir()
	s, err := fs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Put(ctx, key("old"), strings.NewReader("old"), 3); err != nil {
		t.Fatal(err)
	}
	var batch []fs.Content
	for _, d := range []string{"one", "two", "three", "old"} {
		batch = append(batch, fs.Content{Key: key(d), Data: []byte(d)})
	}
	if err := s.PutBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, c := range batch {
		b, err := s.Open(ctx, c.Key)
		if err != nil {
			t.Fatalf("%s: %v", c.Data, err)
		}
		got, _ := io.ReadAll(b)
		b.Close()
		if string(got) != string(c.Data) {
			t.Errorf("blob %s = %q", c.Key, got)
		}
	}

	bad := []fs.Content{{Key: key("four"), Data: []byte("four")}, {Key: key("five"), Data: []byte("not five")}}
	err = s.PutBatch(ctx, bad)
	if !crated.IsCode(err, crated.EINVALID) {
		t.Errorf("mismatched content: err = %v, want EINVALID", err)
	}
	for _, c := range bad {
		if _, err := s.Stat(ctx, c.Key); !crated.IsCode(err, crated.ENOTFOUND) {
			t.Errorf("blob %s of a failed batch: Stat err = %v, want ENOTFOUND", c.Data, err)
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".put-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}
