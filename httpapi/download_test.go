package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"testing"

	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/registry"
)

// Small .crate files are served from memory after their first download, with
// the same headers as from the store, and conditional, ranged and HEAD
// requests still negotiated.
func TestDownloadFromMemory(t *testing.T) {
	e := newEnv(t, httpapi.Config{}, registry.Config{})
	_, token, _ := e.svc.CreateUser(context.Background(), "alice", "")
	crate := publishFrame(t, e, token, "cached", "1.0.0")
	sum := sha256.Sum256(crate)
	key := hex.EncodeToString(sum[:])
	const path = "/api/v1/crates/cached/1.0.0/download"

	first := e.do(t, "GET", path, "", nil)
	if b := readAll(t, first); first.StatusCode != 200 || !bytes.Equal(b, crate) {
		t.Fatalf("first download: %d, %d bytes", first.StatusCode, len(b))
	}
	// Gone from the store: only the cache can answer now.
	if err := os.Remove(e.blobs.Path(key)); err != nil {
		t.Fatal(err)
	}
	second := e.do(t, "GET", path, "", nil)
	if b := readAll(t, second); second.StatusCode != 200 || !bytes.Equal(b, crate) {
		t.Fatalf("download from memory: %d, %d bytes", second.StatusCode, len(b))
	}
	for _, h := range []string{"Etag", "Cache-Control", "Content-Type", "Content-Disposition", "Content-Length", "Last-Modified", "Accept-Ranges"} {
		if first.Header.Get(h) == "" || first.Header.Get(h) != second.Header.Get(h) {
			t.Errorf("%s: %q from the store, %q from memory", h, first.Header.Get(h), second.Header.Get(h))
		}
	}
	if r := e.do(t, "GET", path, "", nil, "If-None-Match", `"`+key+`"`); r.StatusCode != http.StatusNotModified {
		t.Errorf("conditional download: %d, want 304", r.StatusCode)
	}
	r := e.do(t, "GET", path, "", nil, "Range", "bytes=5-9")
	if b := readAll(t, r); r.StatusCode != http.StatusPartialContent || !bytes.Equal(b, crate[5:10]) {
		t.Errorf("range download: %d %q", r.StatusCode, b)
	}
	r = e.do(t, "HEAD", path, "", nil)
	if b := readAll(t, r); r.StatusCode != 200 || len(b) != 0 || r.ContentLength != int64(len(crate)) {
		t.Errorf("HEAD: %d, %d bytes, length %d", r.StatusCode, len(b), r.ContentLength)
	}
}
