// Package sparse renders sparse-index files (RFC 2789) from the metadata
// store and keeps them in a bounded in-memory cache. The store is the truth:
// a cached file is dropped whenever its crate changes, on this replica
// directly and on others through the store's change notifications.
package sparse

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"golang.org/x/sync/singleflight"
)

// File is one rendered index file.
type File struct {
	// Name is the crate's name as first published.
	Name string
	// Body is the newline-terminated JSON lines, one per version.
	Body []byte
	// ETag is a strong, quoted entity tag of Body.
	ETag string
	// Versions maps each version string to what a download needs.
	Versions map[string]Ref
}

// Ref identifies a version's blob.
type Ref struct {
	ID    int64
	Cksum string
}

// entry is a cache slot; a nil file caches "no such crate".
type entry struct {
	canon string
	file  *File
	size  int
}

// Index serves index files from a cache over the store.
type Index struct {
	store    Store
	maxBytes int

	mu    sync.Mutex
	items map[string]*list.Element
	lru   *list.List
	bytes int
	// epoch counts invalidations. A render that overlapped one is not cached,
	// so a file read before a commit can never outlive the commit's
	// invalidation.
	epoch uint64

	group singleflight.Group
}

// Store is what the index reads: one narrow query per cache miss.
// crated.Store satisfies it.
type Store interface {
	IndexRows(ctx context.Context, canon string) (*crated.IndexRows, error)
}

// New returns an index whose cache holds at most maxBytes of rendered files.
func New(store Store, maxBytes int) *Index {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	return &Index{store: store, maxBytes: maxBytes, items: map[string]*list.Element{}, lru: list.New()}
}

// Lookup returns the index file of the crate whose lowercased name is
// lowerName. Other spellings that share the canonical name (`foo_bar` for a
// crate named `foo-bar`) are not found, as on crates.io: cargo asks for the
// permutations itself.
func (ix *Index) Lookup(ctx context.Context, lowerName string) (*File, error) {
	f, err := ix.Crate(ctx, cargo.CanonicalName(lowerName))
	if err != nil {
		return nil, err
	}
	if strings.ToLower(f.Name) != lowerName {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist, but crate `%s` does: names that differ only in case or `-`/`_` are the same crate; use `%s`", lowerName, f.Name, f.Name)
	}
	return f, nil
}

// Crate returns the index file of a crate by canonical name.
func (ix *Index) Crate(ctx context.Context, canon string) (*File, error) {
	ix.mu.Lock()
	if el, ok := ix.items[canon]; ok {
		ix.lru.MoveToFront(el)
		f := el.Value.(*entry).file
		ix.mu.Unlock()
		if f == nil {
			return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist", canon)
		}
		return f, nil
	}
	epoch := ix.epoch
	ix.mu.Unlock()

	// Concurrent misses for one crate share a single render.
	v, err, _ := ix.group.Do(canon, func() (any, error) {
		f, err := ix.render(ctx, canon)
		if err != nil && !crated.IsCode(err, crated.ENOTFOUND) {
			return nil, err
		}
		ix.put(canon, f, epoch)
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	f := v.(*File)
	if f == nil {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist", canon)
	}
	return f, nil
}

func (ix *Index) render(ctx context.Context, canon string) (*File, error) {
	// One narrow query: a cache miss reads only what the file is made of.
	rows, err := ix.store.IndexRows(ctx, canon)
	if err != nil {
		return nil, err
	}
	if len(rows.Versions) == 0 {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` has no versions", rows.Name)
	}
	f := &File{Name: rows.Name, Versions: make(map[string]Ref, len(rows.Versions))}
	// The one renderer of index files, shared with the git index. Its
	// buffer is sized to fit, so that the cache holds about what it counts.
	if f.Body, err = cargo.IndexFile(rows.Versions); err != nil {
		return nil, err
	}
	for _, v := range rows.Versions {
		f.Versions[v.Vers] = Ref{ID: v.ID, Cksum: v.Cksum}
	}
	sum := sha256.Sum256(f.Body)
	f.ETag = `"` + hex.EncodeToString(sum[:16]) + `"`
	return f, nil
}

func (ix *Index) put(canon string, f *File, epoch uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.epoch != epoch {
		return
	}
	size := len(canon) + 64
	if f != nil {
		size += cap(f.Body) + len(f.Versions)*96 + len(f.Name)
	}
	if el, ok := ix.items[canon]; ok {
		ix.remove(el)
	}
	ix.items[canon] = ix.lru.PushFront(&entry{canon: canon, file: f, size: size})
	ix.bytes += size
	for ix.bytes > ix.maxBytes && ix.lru.Len() > 1 {
		ix.remove(ix.lru.Back())
	}
}

func (ix *Index) remove(el *list.Element) {
	e := ix.lru.Remove(el).(*entry)
	delete(ix.items, e.canon)
	ix.bytes -= e.size
}

// Invalidate drops a crate's cached file. An empty canon drops everything
// (used when change notifications may have been missed).
func (ix *Index) Invalidate(canon string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.epoch++
	if canon == "" {
		ix.items = map[string]*list.Element{}
		ix.lru.Init()
		ix.bytes = 0
		return
	}
	if el, ok := ix.items[canon]; ok {
		ix.remove(el)
	}
	// A render in flight for canon started before this change: forget it so
	// the next request renders afresh instead of joining it.
	ix.group.Forget(canon)
}

// Stats reports the cache size, for metrics.
func (ix *Index) Stats() (files, bytes int) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.lru.Len(), ix.bytes
}
