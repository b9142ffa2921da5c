package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated"
)

// MirrorCache is what the pull-through mirror stores in the metadata store:
// upstream index files, shared by every replica. (The mirror declares the
// same methods as its own interface; this is the contract.)
//
//   - MirrorIndexFile returns ENOTFOUND for a name never put. Names are
//     compared exactly: "foo-bar" and "foo_bar", "serde" and "serde_json"
//     are different files.
//   - PutMirrorIndexFile inserts or replaces the file of f.Name, whole.
//     Body round-trips byte for byte, whatever the bytes (upstream lines are
//     served verbatim); a nil Body reads back empty. FetchedAt reads back in
//     UTC, equal at least to the second.
//   - TouchMirrorIndexFile sets FetchedAt only; ENOTFOUND for an unknown
//     name, and nothing is created.
//   - Concurrent puts of one name all succeed, and one of them is read back
//     whole (never a mix of two).
type MirrorCache interface {
	MirrorIndexFile(ctx context.Context, name string) (*crated.MirrorIndexFile, error)
	PutMirrorIndexFile(ctx context.Context, f *crated.MirrorIndexFile) error
	TouchMirrorIndexFile(ctx context.Context, name string, fetchedAt time.Time) error
}

// RunMirror runs the mirror-cache contract against stores made by newStore,
// which must implement MirrorCache.
func RunMirror(t *testing.T, newStore func(t *testing.T) crated.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s MirrorCache)
	}{
		{"NotFound", testMirrorNotFound},
		{"RoundTrip", testMirrorRoundTrip},
		{"Replace", testMirrorReplace},
		{"Touch", testMirrorTouch},
		{"ConcurrentPut", testMirrorConcurrentPut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, newStore)
			mc := capability[MirrorCache](t, s)
			tt.fn(t, mc)
		})
	}
}

func mustGetMirror(t *testing.T, s MirrorCache, name string) *crated.MirrorIndexFile {
	t.Helper()
	f, err := s.MirrorIndexFile(t.Context(), name)
	if err != nil {
		t.Fatalf("MirrorIndexFile(%q): %v", name, err)
	}
	return f
}

func mustPutMirror(t *testing.T, s MirrorCache, f *crated.MirrorIndexFile) {
	t.Helper()
	if err := s.PutMirrorIndexFile(t.Context(), f); err != nil {
		t.Fatalf("PutMirrorIndexFile(%q): %v", f.Name, err)
	}
}

func checkMirrorFile(t *testing.T, got, want *crated.MirrorIndexFile) {
	t.Helper()
	if got.Name != want.Name || !bytes.Equal(got.Body, want.Body) || got.Missing != want.Missing ||
		got.ETag != want.ETag || got.LastModified != want.LastModified {
		t.Errorf("mirror file %q = %+v, want %+v", want.Name, got, want)
	}
	checkTime(t, "FetchedAt of "+want.Name, got.FetchedAt, want.FetchedAt)
}

func testMirrorNotFound(t *testing.T, s MirrorCache) {
	ctx := t.Context()
	_, err := s.MirrorIndexFile(ctx, "serde")
	wantCode(t, "MirrorIndexFile of an empty cache", err, crated.ENOTFOUND)
	wantCode(t, "TouchMirrorIndexFile of an unknown file", s.TouchMirrorIndexFile(ctx, "serde", time.Now()), crated.ENOTFOUND)
	_, err = s.MirrorIndexFile(ctx, "serde")
	wantCode(t, "MirrorIndexFile after a failed touch", err, crated.ENOTFOUND)

	mustPutMirror(t, s, &crated.MirrorIndexFile{Name: "serde_json", Body: []byte("x\n"), FetchedAt: time.Now()})
	mustPutMirror(t, s, &crated.MirrorIndexFile{Name: "foo-bar", Body: []byte("y\n"), FetchedAt: time.Now()})
	for _, name := range []string{"serde", "serde_", "foo_bar", "FOO-BAR", "foo%"} {
		_, err := s.MirrorIndexFile(ctx, name)
		wantCode(t, fmt.Sprintf("MirrorIndexFile(%q) beside serde_json and foo-bar", name), err, crated.ENOTFOUND)
	}
}

func testMirrorRoundTrip(t *testing.T, s MirrorCache) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.FixedZone("x", 3600))
	files := []*crated.MirrorIndexFile{
		{
			Name: "ab/cd/abcd",
			// Not normalized JSON, not even UTF-8: bytes are bytes.
			Body:         []byte("{\"name\":\"abcd\",  \"vers\":\"1.0.0\",\"x\":\"\xff\"}\n{\"name\":\"abcd\"}\n"),
			ETag:         `W/"abc"`,
			LastModified: "Tue, 04 Mar 2025 05:06:07 GMT",
			FetchedAt:    at,
		},
		{Name: "config.json", Body: []byte(`{"dl":"https://example.com/{crate}"}`), ETag: `"1"`, FetchedAt: at},
		{Name: "missing-crate", Missing: true, FetchedAt: at},
	}
	for _, f := range files {
		mustPutMirror(t, s, f)
	}
	for _, f := range files {
		want := *f
		if want.Body == nil {
			want.Body = []byte{}
		}
		got := mustGetMirror(t, s, f.Name)
		if got.Body == nil {
			got.Body = []byte{}
		}
		checkMirrorFile(t, got, &want)
	}
}

func testMirrorReplace(t *testing.T, s MirrorCache) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mustPutMirror(t, s, &crated.MirrorIndexFile{Name: "a", Body: []byte("old\n"), ETag: `"1"`, LastModified: "lm", FetchedAt: t0})
	want := &crated.MirrorIndexFile{Name: "a", Body: []byte("new\nlonger\n"), ETag: `"2"`, FetchedAt: t0.Add(time.Hour)}
	mustPutMirror(t, s, want)
	checkMirrorFile(t, mustGetMirror(t, s, "a"), want)
	// A file that disappeared upstream is cached as missing.
	gone := &crated.MirrorIndexFile{Name: "a", Missing: true, Body: []byte{}, FetchedAt: t0.Add(2 * time.Hour)}
	mustPutMirror(t, s, gone)
	checkMirrorFile(t, mustGetMirror(t, s, "a"), gone)
}

func testMirrorTouch(t *testing.T, s MirrorCache) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &crated.MirrorIndexFile{Name: "a", Body: []byte("line\n"), ETag: `"1"`, LastModified: "lm", FetchedAt: t0}
	mustPutMirror(t, s, f)
	mustPutMirror(t, s, &crated.MirrorIndexFile{Name: "b", Body: []byte("other\n"), FetchedAt: t0})
	t1 := t0.Add(90 * time.Minute)
	if err := s.TouchMirrorIndexFile(t.Context(), "a", t1); err != nil {
		t.Fatal(err)
	}
	want := *f
	want.FetchedAt = t1
	checkMirrorFile(t, mustGetMirror(t, s, "a"), &want)
	checkTime(t, "FetchedAt of an untouched file", mustGetMirror(t, s, "b").FetchedAt, t0)
}

func testMirrorConcurrentPut(t *testing.T, s MirrorCache) {
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
			errs <- s.PutMirrorIndexFile(context.Background(), &crated.MirrorIndexFile{
				Name: "racy", Body: body, ETag: fmt.Sprintf(`"%d"`, i), FetchedAt: time.Now(),
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent PutMirrorIndexFile: %v", err)
		}
	}
	got := mustGetMirror(t, s, "racy")
	var i int
	if _, err := fmt.Sscanf(got.ETag, `"%d"`, &i); err != nil || i < 0 || i >= n {
		t.Fatalf("ETag %q is none of the writes", got.ETag)
	}
	if want := bytes.Repeat([]byte{byte('a' + i)}, 1000+i); !bytes.Equal(got.Body, want) {
		t.Errorf("body of write %d is not the one written with its ETag", i)
	}
}
