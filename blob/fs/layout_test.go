package fs_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/blobtest"
	"github.com/crated/crated/blob/fs"
)

func newStore(t *testing.T) (*fs.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := fs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func put(t *testing.T, s *fs.Store, content []byte) string {
	t.Helper()
	key := blobtest.Key(content)
	if err := s.Put(context.Background(), key, bytes.NewReader(content), int64(len(content))); err != nil {
		t.Fatal(err)
	}
	return key
}

func TestNewEmptyDir(t *testing.T) {
	if _, err := fs.New(""); crated.ErrorCode(err) != crated.EINVALID {
		t.Errorf("New(\"\") error = %v, want code %s", err, crated.EINVALID)
	}
}

func TestPath(t *testing.T) {
	s, dir := newStore(t)
	key := blobtest.Key([]byte("layout"))
	tests := []struct {
		key  string
		want string
	}{
		{key, filepath.Join(dir, "sha256", key[:2], key[2:4], key)},
		{"../../etc/passwd", ""},
		{"", ""},
		{key[:63], ""},
	}
	for _, tt := range tests {
		if got := s.Path(tt.key); got != tt.want {
			t.Errorf("Path(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// A stored blob is a plain file at Path, readable by the machine's tools.
func TestFileOnDisk(t *testing.T) {
	s, _ := newStore(t)
	content := []byte("on disk")
	key := put(t, s, content)
	got, err := os.ReadFile(s.Path(key))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Errorf("file holds %q, want %q", got, content)
	}
	fi, err := os.Stat(s.Path(key))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v, want 0644", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(filepath.Dir(s.Path(key)))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("blob directory holds %d entries, want only the blob (no temp file left)", len(entries))
	}
}

// Walk lists blobs in their place and nothing else: not temp files, not
// files with a key name in the wrong directory, not strays.
func TestWalkSkipsOtherFiles(t *testing.T) {
	s, dir := newStore(t)
	key := put(t, s, []byte("the only blob"))
	other := blobtest.Key([]byte("misplaced"))
	shard := filepath.Dir(s.Path(key))
	strays := []string{
		filepath.Join(shard, ".put-123456"),
		filepath.Join(shard, other),                   // a key in the wrong shard
		filepath.Join(dir, "sha256", other),           // a key at the top
		filepath.Join(dir, "sha256", "README"),        // a stray file
		filepath.Join(dir, "sha256", "zz", "zz", key), // not a shard directory
		filepath.Join(dir, "sha256", key[:2], key[2:4], "sub", key),
		filepath.Join(dir, "other", key[:2], key[2:4], key), // outside sha256/
	}
	for _, p := range strays {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("stray"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := s.Walk(context.Background(), func(k string) error {
		got = append(got, k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{key}) {
		t.Errorf("Walk listed %q, want only %q", got, key)
	}
}

// A file cut short under a key (a crash on a filesystem that lost the data
// but kept the rename) is replaced by the next Put of that key.
func TestPutRepairsShortFile(t *testing.T) {
	s, _ := newStore(t)
	content := []byte("complete content")
	key := put(t, s, content)
	if err := os.WriteFile(s.Path(key), content[:4], 0o644); err != nil {
		t.Fatal(err)
	}
	put(t, s, content)
	got, err := os.ReadFile(s.Path(key))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Errorf("file holds %q after Put, want %q", got, content)
	}
}

// Open must leave the *os.File reachable for sendfile: net/http uses it only
// when the body reader implements syscall.Conn.
func TestOpenKeepsSendfile(t *testing.T) {
	s, _ := newStore(t)
	key := put(t, s, []byte("sendfile me"))
	b, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := b.(syscall.Conn); !ok {
		t.Errorf("Open returned %T, which does not implement syscall.Conn", b)
	}
	if _, ok := b.(io.WriterTo); !ok {
		t.Errorf("Open returned %T, which does not implement io.WriterTo", b)
	}
}

func TestPingMissingDir(t *testing.T) {
	s, dir := newStore(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); crated.ErrorCode(err) != crated.EUNAVAILABLE {
		t.Errorf("Ping without its directory: error = %v, want code %s", err, crated.EUNAVAILABLE)
	}
}
