// Package blobtest is the conformance suite of crated.BlobStore: the
// behaviour every blob store must have, written once and run by each
// backend's tests (blob/fs, blob/s3) with a fresh, empty store per subtest.
//
// The contract, beyond the interface's comments:
//   - Keys are exactly 64 lowercase hex digits; any other key, path
//     traversal included, is EINVALID from every method.
//   - Put reads r to its end and stores the content only if it hashes to
//     the key and, when size is not negative, has size bytes; otherwise
//     EINVALID. A negative size means unknown. Content that is wrong for
//     an already stored key fails the same way and leaves the blob alone.
//   - A failing reader or a canceled context fails Put, nothing becomes
//     visible under the key, and the reader's error stays in the chain
//     (errors.Is).
//   - Concurrent Puts of one key all succeed and leave one intact copy.
//   - Open and Stat of a missing key are ENOTFOUND; Delete of one is fine.
//   - An opened blob seeks (start, current, end) and serves ranges through
//     http.ServeContent.
//   - Walk calls fn for exactly the stored keys, from one goroutine at a
//     time, and stops with fn's error.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/crated/crated"
)

// Run runs the suite. newStore must return a new, empty store for each call
// and arrange its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) crated.BlobStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s crated.BlobStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"PutIdempotent", testPutIdempotent},
		{"PutUnknownSize", testPutUnknownSize},
		{"PutWrongContent", testPutWrongContent},
		{"PutWrongContentOverExisting", testPutWrongContentOverExisting},
		{"PutWrongSize", testPutWrongSize},
		{"PutFailingReader", testPutFailingReader},
		{"PutCanceled", testPutCanceled},
		{"PutConcurrent", testPutConcurrent},
		{"InvalidKeys", testInvalidKeys},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"Walk", testWalk},
		{"WalkStops", testWalkStops},
		{"Seek", testSeek},
		{"ServeContent", testServeContent},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// Key returns the blob key of content: its lowercase hex sha256.
func Key(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readers are the kinds of reader a Put may get. A store may treat content
// it can read twice (a bytes.Reader) differently from a one-pass stream, so
// the content tests run with both.
var readers = []struct {
	name string
	wrap func([]byte) io.Reader
}{
	{"bytes.Reader", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"stream", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }},
}

func put(t *testing.T, s crated.BlobStore, content []byte) string {
	t.Helper()
	key := Key(content)
	if err := s.Put(context.Background(), key, bytes.NewReader(content), int64(len(content))); err != nil {
		t.Fatalf("Put(%s, %d bytes): %v", key, len(content), err)
	}
	return key
}

// mustHave checks that key is stored with exactly content, through Stat and
// Open.
func mustHave(t *testing.T, s crated.BlobStore, key string, content []byte) {
	t.Helper()
	ctx := context.Background()
	size, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat(%s): %v", key, err)
	}
	if size != int64(len(content)) {
		t.Fatalf("Stat(%s) = %d, want %d", key, size, len(content))
	}
	b, err := s.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer b.Close()
	if b.Size() != int64(len(content)) {
		t.Errorf("Open(%s).Size() = %d, want %d", key, b.Size(), len(content))
	}
	if b.ModTime().IsZero() {
		t.Errorf("Open(%s).ModTime() is zero", key)
	}
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("%s: read %d bytes that differ from the %d stored", key, len(got), len(content))
	}
}

// mustMiss checks that key is not stored.
func mustMiss(t *testing.T, s crated.BlobStore, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Stat(ctx, key); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("Stat(%s) error = %v, want code %s", key, err, crated.ENOTFOUND)
	}
	b, err := s.Open(ctx, key)
	if err == nil {
		b.Close()
	}
	if crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("Open(%s) error = %v, want code %s", key, err, crated.ENOTFOUND)
	}
}

// walk returns the sorted keys Walk reports. Walk calls fn from one
// goroutine at a time; the race detector holds stores to that.
func walk(t *testing.T, s crated.BlobStore) []string {
	t.Helper()
	var keys []string
	err := s.Walk(context.Background(), func(key string) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	slices.Sort(keys)
	return keys
}

func mustWalk(t *testing.T, s crated.BlobStore, want ...string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if got := walk(t, s); !slices.Equal(got, want) {
		t.Errorf("Walk listed %q, want %q", got, want)
	}
}

func testRoundTrip(t *testing.T, s crated.BlobStore) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{0}},
		{"text", []byte("hello, crates\n")},
		{"all byte values", func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}()},
		{"just over 32 KiB", randomBytes(1, 32<<10+1)},
		{"3 MiB", randomBytes(2, 3<<20)},
	}
	ctx := context.Background()
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					key := Key(tt.content)
					if err := s.Put(ctx, key, rd.wrap(tt.content), int64(len(tt.content))); err != nil {
						t.Fatalf("Put: %v", err)
					}
					mustHave(t, s, key, tt.content)
					mustWalk(t, s, key)
					if err := s.Delete(ctx, key); err != nil {
						t.Fatalf("Delete: %v", err)
					}
					mustMiss(t, s, key)
				})
			}
		})
	}
	mustWalk(t, s)
}

func testPutIdempotent(t *testing.T, s crated.BlobStore) {
	content := []byte("the same crate, twice")
	key := put(t, s, content)
	put(t, s, content)
	mustHave(t, s, key, content)
	mustWalk(t, s, key)
}

// A negative size means the caller does not know the length.
func testPutUnknownSize(t *testing.T, s crated.BlobStore) {
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			for _, content := range [][]byte{{}, randomBytes(3, 70000)} {
				key := Key(content)
				if err := s.Put(context.Background(), key, rd.wrap(content), -1); err != nil {
					t.Fatalf("Put of %d bytes with size -1: %v", len(content), err)
				}
				mustHave(t, s, key, content)
				if err := s.Delete(context.Background(), key); err != nil {
					t.Fatal(err)
				}
			}
			bad := []byte("unknown size, wrong content")
			err := s.Put(context.Background(), Key([]byte("other")), rd.wrap(bad), -1)
			if crated.ErrorCode(err) != crated.EINVALID {
				t.Fatalf("Put of wrong content with size -1: error = %v, want code %s", err, crated.EINVALID)
			}
			mustWalk(t, s)
		})
	}
}

func testPutWrongContent(t *testing.T, s crated.BlobStore) {
	tests := []struct {
		name    string
		key     string
		content []byte
	}{
		{"other content", Key([]byte("declared")), []byte("actual")},
		{"one bit flipped", Key([]byte("crate bytes")), []byte("crate bytez")},
		{"empty content", Key([]byte("not empty")), []byte{}},
		{"large content", Key([]byte("small")), randomBytes(4, 1<<20)},
		{"prefix of the content", Key([]byte("prefix and more")), []byte("prefix")},
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := s.Put(context.Background(), tt.key, rd.wrap(tt.content), int64(len(tt.content)))
					if crated.ErrorCode(err) != crated.EINVALID {
						t.Fatalf("Put error = %v, want code %s", err, crated.EINVALID)
					}
					mustMiss(t, s, tt.key)
					mustMiss(t, s, Key(tt.content))
				})
			}
		})
	}
	mustWalk(t, s)
}

// Wrong content for a key that is already stored fails and leaves the stored
// blob alone.
func testPutWrongContentOverExisting(t *testing.T, s crated.BlobStore) {
	content := []byte("the real crate")
	key := put(t, s, content)
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			for _, bad := range [][]byte{[]byte("the fake crate"), []byte("a fake crate of another size")} {
				err := s.Put(context.Background(), key, rd.wrap(bad), int64(len(bad)))
				if crated.ErrorCode(err) != crated.EINVALID {
					t.Fatalf("Put of %q error = %v, want code %s", bad, err, crated.EINVALID)
				}
				mustHave(t, s, key, content)
			}
		})
	}
	mustWalk(t, s, key)
}

func testPutWrongSize(t *testing.T, s crated.BlobStore) {
	content := []byte("twenty-one bytes long")
	key := Key(content)
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			for _, size := range []int64{0, 1, int64(len(content)) - 1, int64(len(content)) + 1, 1 << 20} {
				err := s.Put(context.Background(), key, rd.wrap(content), size)
				if crated.ErrorCode(err) != crated.EINVALID {
					t.Fatalf("Put with size %d error = %v, want code %s", size, err, crated.EINVALID)
				}
				mustMiss(t, s, key)
			}
		})
	}
	mustWalk(t, s)
}

var errBroken = errors.New("blobtest: reader broke")

// brokenReader returns what r holds, then errBroken where r ends.
type brokenReader struct {
	r io.Reader
}

func (b *brokenReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, errBroken
	}
	return n, err
}

// A reader failing midway leaves nothing under the key, and its error
// reaches the caller.
func testPutFailingReader(t *testing.T, s crated.BlobStore) {
	content := randomBytes(5, 1<<20)
	key := Key(content)
	for _, n := range []int{0, 1, len(content) / 2, len(content) - 1, len(content)} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := &brokenReader{r: bytes.NewReader(content[:n])}
			err := s.Put(context.Background(), key, r, int64(len(content)))
			if !errors.Is(err, errBroken) {
				t.Fatalf("Put error = %v, want the reader's error", err)
			}
			mustMiss(t, s, key)
		})
	}
	mustWalk(t, s)
}

func testPutCanceled(t *testing.T, s crated.BlobStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	content := []byte("never stored")
	key := Key(content)
	if err := s.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err == nil {
		t.Fatal("Put with a canceled context succeeded")
	}
	mustMiss(t, s, key)
	mustWalk(t, s)
}

// Concurrent Puts of the same key (two replicas publishing the same crate
// file) all succeed and leave one intact copy.
func testPutConcurrent(t *testing.T, s crated.BlobStore) {
	content := randomBytes(6, 256<<10)
	key := Key(content)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Put(context.Background(), key, bytes.NewReader(content), int64(len(content)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	mustHave(t, s, key, content)
	mustWalk(t, s, key)
}

func testInvalidKeys(t *testing.T, s crated.BlobStore) {
	valid := Key([]byte("x"))
	content := []byte("x")
	keys := []struct {
		name string
		key  string
	}{
		{"empty", ""},
		{"short", valid[:63]},
		{"long", valid + "0"},
		{"uppercase", "ABCDEF" + valid[6:]},
		{"not hex", "g" + valid[1:]},
		{"space", " " + valid[1:]},
		{"NUL", "\x00" + valid[1:]},
		{"parent traversal", "../../../../../../../../../../../../../../../../../../../etc/pas"},
		{"slash", valid[:2] + "/" + valid[3:]},
		{"dot dot inside", valid[:30] + ".." + valid[32:]},
		{"absolute path", "/" + valid[1:]},
		{"backslash", valid[:10] + "\\" + valid[11:]},
		{"prefixed", "sha256:" + valid[7:]},
		{"non-ASCII", "é" + valid[2:]},
	}
	ctx := context.Background()
	for _, tt := range keys {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Put(ctx, tt.key, bytes.NewReader(content), int64(len(content)))
			if crated.ErrorCode(err) != crated.EINVALID {
				t.Errorf("Put error = %v, want code %s", err, crated.EINVALID)
			}
			b, err := s.Open(ctx, tt.key)
			if err == nil {
				b.Close()
			}
			if crated.ErrorCode(err) != crated.EINVALID {
				t.Errorf("Open error = %v, want code %s", err, crated.EINVALID)
			}
			if _, err := s.Stat(ctx, tt.key); crated.ErrorCode(err) != crated.EINVALID {
				t.Errorf("Stat error = %v, want code %s", err, crated.EINVALID)
			}
			if err := s.Delete(ctx, tt.key); crated.ErrorCode(err) != crated.EINVALID {
				t.Errorf("Delete error = %v, want code %s", err, crated.EINVALID)
			}
		})
	}
	mustWalk(t, s)
}

func testMissing(t *testing.T, s crated.BlobStore) {
	key := Key([]byte("never stored"))
	mustMiss(t, s, key)
	if err := s.Delete(context.Background(), key); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	mustWalk(t, s)
}

func testDelete(t *testing.T, s crated.BlobStore) {
	ctx := context.Background()
	keep := put(t, s, []byte("keep me"))
	gone := put(t, s, []byte("delete me"))
	if err := s.Delete(ctx, gone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustMiss(t, s, gone)
	mustHave(t, s, keep, []byte("keep me"))
	mustWalk(t, s, keep)
	if err := s.Delete(ctx, gone); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	// A deleted key can be stored again.
	put(t, s, []byte("delete me"))
	mustHave(t, s, gone, []byte("delete me"))
}

// sharedPrefix returns two different contents whose keys start with the
// same four hex digits, so that stores which shard by key prefix (ab/cd/...)
// get two blobs in one directory.
func sharedPrefix() ([]byte, []byte) {
	seen := make(map[string][]byte)
	for i := 0; ; i++ {
		c := fmt.Appendf(nil, "crate %d", i)
		p := Key(c)[:4]
		if other, ok := seen[p]; ok {
			return other, c
		}
		seen[p] = c
	}
}

func testWalk(t *testing.T, s crated.BlobStore) {
	mustWalk(t, s)
	a, b := sharedPrefix()
	var keys []string
	for _, c := range [][]byte{a, b, []byte("one"), []byte("two"), []byte("three"), {}} {
		keys = append(keys, put(t, s, c))
	}
	mustWalk(t, s, keys...)
}

func testWalkStops(t *testing.T, s crated.BlobStore) {
	for i := range 5 {
		put(t, s, fmt.Appendf(nil, "blob %d", i))
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.Walk(context.Background(), func(string) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("Walk error = %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Errorf("Walk called fn %d times after it failed once, want 1", calls)
	}
}

func testSeek(t *testing.T, s crated.BlobStore) {
	content := randomBytes(7, 100000)
	key := put(t, s, content)
	b, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	size := int64(len(content))
	steps := []struct {
		offset int64
		whence int
		want   int64 // position after the seek
		read   int   // bytes to read afterwards
	}{
		{0, io.SeekEnd, size, 0},
		{0, io.SeekStart, 0, 10},
		{100, io.SeekStart, 100, 1000},
		{500, io.SeekCurrent, 1600, 10},
		{-10, io.SeekCurrent, 1600, 100},
		{-100, io.SeekEnd, size - 100, 100},
		{5, io.SeekStart, 5, 50000},
		{size - 1, io.SeekStart, size - 1, 1},
	}
	for _, st := range steps {
		pos, err := b.Seek(st.offset, st.whence)
		if err != nil {
			t.Fatalf("Seek(%d, %d): %v", st.offset, st.whence, err)
		}
		if pos != st.want {
			t.Fatalf("Seek(%d, %d) = %d, want %d", st.offset, st.whence, pos, st.want)
		}
		got := make([]byte, st.read)
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatalf("reading %d bytes at %d: %v", st.read, pos, err)
		}
		if !bytes.Equal(got, content[pos:pos+int64(st.read)]) {
			t.Fatalf("%d bytes read at %d differ from the content", st.read, pos)
		}
	}
	// At the end, reads report EOF.
	if _, err := b.Seek(0, io.SeekEnd); err != nil {
		t.Fatalf("Seek to end: %v", err)
	}
	if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read at end = %d, %v; want 0, EOF", n, err)
	}
}

// http.ServeContent is how downloads are served; it seeks to find the size
// and to answer range requests.
func testServeContent(t *testing.T, s crated.BlobStore) {
	content := randomBytes(8, 50000)
	key := put(t, s, content)
	tests := []struct {
		name       string
		rangeHdr   string
		wantStatus int
		want       []byte
	}{
		{"whole", "", http.StatusOK, content},
		{"range", "bytes=1000-1999", http.StatusPartialContent, content[1000:2000]},
		{"suffix", "bytes=-100", http.StatusPartialContent, content[len(content)-100:]},
		{"open ended", "bytes=49990-", http.StatusPartialContent, content[49990:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.Open(context.Background(), key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer b.Close()
			req := httptest.NewRequest(http.MethodGet, "/x.crate", nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			rec := httptest.NewRecorder()
			http.ServeContent(rec, req, "x.crate", b.ModTime(), b)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if !bytes.Equal(rec.Body.Bytes(), tt.want) {
				t.Fatalf("body has %d bytes that differ from the %d wanted", rec.Body.Len(), len(tt.want))
			}
		})
	}
}

func testPing(t *testing.T, s crated.BlobStore) {
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
