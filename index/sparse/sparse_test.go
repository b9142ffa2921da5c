package sparse_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/index/sparse"
	"github.com/crated/crated/internal/testenv"
)

func openStore(t *testing.T) crated.Store { return testenv.SQLiteStore(t) }

func publish(t *testing.T, st crated.Store, owner int64, name, vers string) *crated.Version {
	return testenv.StorePublish(t, st, owner, name, vers)
}

func user(t *testing.T, st crated.Store) int64 { return testenv.StoreUser(t, st, "alice") }

func TestLookupRendersAndCaches(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "Foo-Bar", "0.1.0")
	v2 := publish(t, st, uid, "Foo-Bar", "0.2.0")
	ix := sparse.New(st, 0)

	f, err := ix.Lookup(ctx, "foo-bar")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(f.Body), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"vers":"0.1.0"`) || !strings.Contains(lines[1], `"vers":"0.2.0"`) {
		t.Fatalf("body in publish order expected:\n%s", f.Body)
	}
	if f.Name != "Foo-Bar" || f.Versions["0.2.0"].ID != v2.ID || !strings.HasPrefix(f.ETag, `"`) {
		t.Errorf("file metadata: %+v", f)
	}
	// The same spelling family but a different file name is not found:
	// cargo asks for the permutation itself.
	if _, err := ix.Lookup(ctx, "foo_bar"); !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("foo_bar: %v, want not found", err)
	}
	if _, err := ix.Lookup(ctx, "nope"); !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("unknown crate: %v", err)
	}

	// Cached: a change in the store is not seen until invalidated.
	if err := st.SetYanked(ctx, v2.ID, true, uid); err != nil {
		t.Fatal(err)
	}
	again, _ := ix.Lookup(ctx, "foo-bar")
	if again != f {
		t.Errorf("second lookup was not served from the cache")
	}
	ix.Invalidate("foo_bar")
	after, err := ix.Lookup(ctx, "foo-bar")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(after.Body), `"vers":"0.2.0","deps":[],"cksum":"`) || !strings.Contains(string(after.Body), `"yanked":true`) || after.ETag == f.ETag {
		t.Errorf("after yank and invalidation:\n%s (etag %s)", after.Body, after.ETag)
	}

	// A cached "not found" is dropped by a publish's invalidation too.
	publish(t, st, uid, "nope", "1.0.0")
	ix.Invalidate("nope")
	if _, err := ix.Lookup(ctx, "nope"); err != nil {
		t.Errorf("after publish: %v", err)
	}
	// Invalidate("") drops everything.
	ix.Invalidate("")
	if files, bytes := ix.Stats(); files != 0 || bytes != 0 {
		t.Errorf("after full invalidation: %d files, %d bytes", files, bytes)
	}
}

// countingStore counts the renders that reach the store.
type countingStore struct {
	crated.Store
	reads atomic.Int64
}

func (s *countingStore) IndexRows(ctx context.Context, canon string) (*crated.IndexRows, error) {
	s.reads.Add(1)
	return s.Store.IndexRows(ctx, canon)
}

// TestCacheIsBounded checks both halves of a bounded cache: it stays under
// its byte limit, and it still caches (a cache that stores nothing also stays
// under any limit).
func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: openStore(t)}
	uid := user(t, st)
	for i := 0; i < 50; i++ {
		publish(t, st, uid, fmt.Sprintf("crate%02d", i), "1.0.0")
	}
	const limit = 4096
	ix := sparse.New(st, limit)
	for i := 0; i < 50; i++ {
		if _, err := ix.Lookup(ctx, fmt.Sprintf("crate%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	files, bytes := ix.Stats()
	if bytes > limit {
		t.Errorf("cache holds %d bytes, limit %d", bytes, limit)
	}
	if files == 0 || files >= 50 {
		t.Errorf("cache holds %d of 50 files: want some, not all, under %d bytes", files, limit)
	}
	// The most recent file is served from memory, the oldest was evicted.
	before := st.reads.Load()
	if _, err := ix.Lookup(ctx, "crate49"); err != nil {
		t.Fatal(err)
	}
	if n := st.reads.Load() - before; n != 0 {
		t.Errorf("the most recently used file was rendered again (%d store reads): not cached", n)
	}
	if _, err := ix.Lookup(ctx, "crate00"); err != nil {
		t.Fatal(err)
	}
	if n := st.reads.Load() - before; n != 1 {
		t.Errorf("the least recently used file: %d store reads, want 1 (evicted)", n)
	}
}

// TestNoStaleFileAfterConcurrentChange hammers lookups while versions are
// published: once a publish has been invalidated, every later lookup must
// see it.
func TestNoStaleFileAfterConcurrentChange(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "race", "0.0.1")
	ix := sparse.New(st, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					ix.Lookup(ctx, "race")
				}
			}
		}()
	}
	for i := 1; i <= 30; i++ {
		vers := fmt.Sprintf("0.1.%d", i)
		publish(t, st, uid, "race", vers)
		ix.Invalidate("race")
		f, err := ix.Lookup(ctx, "race")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.Versions[vers]; !ok {
			t.Fatalf("version %s missing right after its invalidation", vers)
		}
	}
	close(stop)
	wg.Wait()
}
