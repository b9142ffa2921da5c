package fs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
)

func age(t *testing.T, path string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteIfOlder: an old blob goes, a recent one stays whole, and a Put
// that finds an old blob already stored makes it recent again (the race
// with a publish that re-uploads an orphan's content).
func TestDeleteIfOlder(t *testing.T) {
	s, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cutoff := time.Now().Add(-time.Hour)
	oldKey, newKey, reput := put(t, s, []byte("old")), put(t, s, []byte("new")), put(t, s, []byte("reput"))
	age(t, s.Path(oldKey), 2*time.Hour)
	age(t, s.Path(reput), 2*time.Hour)
	put(t, s, []byte("reput")) // a publish of the same file again

	if ok, err := s.DeleteIfOlder(ctx, oldKey, cutoff); !ok || err != nil {
		t.Errorf("old blob: deleted=%v, %v", ok, err)
	}
	if _, err := s.Stat(ctx, oldKey); !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("old blob after delete: %v", err)
	}
	for _, k := range []string{newKey, reput} {
		if ok, err := s.DeleteIfOlder(ctx, k, cutoff); ok || err != nil {
			t.Errorf("recent blob %s: deleted=%v, %v", k[:8], ok, err)
		}
		b, err := s.Open(ctx, k)
		if err != nil {
			t.Fatalf("recent blob after DeleteIfOlder: %v", err)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != k {
			t.Errorf("recent blob %s changed", k[:8])
		}
	}
	if ok, err := s.DeleteIfOlder(ctx, oldKey, cutoff); ok || err != nil {
		t.Errorf("absent blob: deleted=%v, %v", ok, err)
	}
	n := 0
	s.TempFiles(ctx, func(fs.TempFile) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d temporary files left by DeleteIfOlder", n)
	}
}

// TestTempFiles lists the temporary files in the layout, and only those;
// RemoveTempIfOlder removes an abandoned one and keeps one being written.
func TestTempFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := fs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := put(t, s, []byte("blob"))
	shard := filepath.Dir(s.Path(key))
	stale, fresh := filepath.Join(shard, ".put-123"), filepath.Join(shard, ".put-456")
	others := []string{
		filepath.Join(dir, "sha256", ".put-789"),           // not in a shard
		filepath.Join(dir, "sha256", "zz", "xx", ".put-1"), // not a shard
		filepath.Join(shard, "notes.txt"),                  // not a temporary file
		filepath.Join(dir, ".put-2"),                       // outside the layout
	}
	for _, p := range append([]string{stale, fresh}, others...) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	age(t, stale, 2*time.Hour)
	for _, p := range others {
		age(t, p, 2*time.Hour)
	}
	got := map[string]bool{}
	if err := s.TempFiles(t.Context(), func(f fs.TempFile) error { got[f.Path] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[stale] || !got[fresh] {
		t.Errorf("TempFiles = %v, want %s and %s", got, stale, fresh)
	}
	cutoff := time.Now().Add(-time.Hour)
	if ok, err := s.RemoveTempIfOlder(stale, cutoff); !ok || err != nil {
		t.Errorf("stale: %v, %v", ok, err)
	}
	if ok, err := s.RemoveTempIfOlder(fresh, cutoff); ok || err != nil {
		t.Errorf("fresh: %v, %v", ok, err)
	}
	if _, err := s.RemoveTempIfOlder(others[2], cutoff); err == nil {
		t.Errorf("RemoveTempIfOlder accepted %s", others[2])
	}
	if _, err := s.RemoveTempIfOlder(others[3], cutoff); err == nil {
		t.Errorf("RemoveTempIfOlder accepted %s", others[3])
	}
	for _, p := range append([]string{fresh}, others...) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
