package httpapi

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// memBlob is a crated.Blob in memory.
type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error       { return nil }
func (memBlob) ModTime() time.Time { return time.Unix(1700000000, 0) }
func (b memBlob) Size() int64      { return b.Reader.Size() }
func blobOf(n int) memBlob         { return memBlob{bytes.NewReader(make([]byte, n))} }

// The download cache stays within its byte budget, keeps what was used
// last, and leaves files over the per-file limit to the store.
func TestCrateCacheIsBounded(t *testing.T) {
	cc := newCrateCache()
	const size = 512 << 10
	for i := range 2 * crateCacheBytes / size {
		if cc.load(fmt.Sprint(i), blobOf(size)) == nil {
			t.Fatalf("file %d of %d bytes not cached", i, size)
		}
		if i > 0 && cc.get("0") == nil {
			t.Fatalf("the most recently used file was evicted after %d loads", i)
		}
		if cc.bytes > crateCacheBytes {
			t.Fatalf("cache holds %d bytes, over its %d", cc.bytes, crateCacheBytes)
		}
	}
	if cc.get("1") != nil {
		t.Error("the least recently used file is still cached")
	}
	if cc.load("big", blobOf(crateCacheMax+1)) != nil || cc.get("big") != nil {
		t.Error("a file over the per-file limit was cached")
	}
}
