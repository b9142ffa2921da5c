// Package static publishes the registry's read side as static files: the
// sparse index, its config.json and every .crate, under the very paths
// crated serves them at, so that nginx, a CDN or an object store can answer
// every read without asking crated. The tree is derived from the store and
// rewritten when a crate changes, before the change is answered; Sync
// rebuilds it whole and repairs whatever a crash left behind.
//
// Layout, relative to the tree's root:
//
//	index/config.json                     the index's config.json
//	index/<cargo.IndexPath(name)>         one index file per crate (index/3/f/foo, index/se/rd/serde)
//	api/v1/crates/<name>/<vers>/download  one .crate per version (config.json's dl template)
//
// Crate files are written before the index file that names them, and
// removed after it, so a reader never finds an index line whose file is
// missing. The index file on the target is therefore also the manifest of
// the crate files published for that crate.
package static

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/index/sparse"
)

// Paths of the tree.
const (
	// ConfigPath is the index's config.json.
	ConfigPath = "index/config.json"
	indexDir   = "index/"
	cratesDir  = "api/v1/crates/"
)

// IndexFilePath is where a crate's index file lives in the tree.
func IndexFilePath(name string) string { return indexDir + cargo.IndexPath(name) }

// CrateFilePath is where a version's .crate lives in the tree: the path of
// config.json's dl template, /api/v1/crates/{crate}/{version}/download.
func CrateFilePath(name, vers string) string {
	return cratesDir + name + "/" + vers + "/download"
}

// IsCrateFile reports whether a tree path (with or without its leading
// slash) is a crate file, and returns its name and version.
func IsCrateFile(p string) (name, vers string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(p, "/"), cratesDir)
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[2] != "download" || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// Target is where the tree is written: a directory, a bucket.
type Target interface {
	// Put replaces the file at path with the size bytes of r, atomically:
	// a reader sees the old file or the new one, never a part.
	Put(ctx context.Context, path string, r io.Reader, size int64) error
	// Read returns a file's content, ENOTFOUND if absent.
	Read(ctx context.Context, path string) ([]byte, error)
	// Remove removes a file; removing an absent file is not an error.
	Remove(ctx context.Context, path string) error
	// Walk calls fn with every file of the tree and its size, temporary
	// files included.
	Walk(ctx context.Context, fn func(path string, size int64) error) error
}

// Renderer renders a crate's index file (sparse.Index: the bytes crated
// serves itself).
type Renderer interface {
	Crate(ctx context.Context, canon string) (*sparse.File, error)
}

// Crates lists the registry's crates.
type Crates interface {
	SearchCrates(ctx context.Context, q crated.SearchQuery) ([]*crated.Crate, int, error)
}

// Blobs reads .crate files by checksum.
type Blobs interface {
	Open(ctx context.Context, key string) (crated.Blob, error)
}

// linker is a Target that can give a local file another name (Dir).
type linker interface {
	Link(ctx context.Context, path, src string) error
}

// blobPather is a blob store whose blobs are local files (blob/fs).
type blobPather interface {
	Path(key string) string
}

// Publisher keeps a Target equal to the store.
type Publisher struct {
	target     Target
	index      Renderer
	crates     Crates
	blobs      Blobs
	configJSON []byte
	log        *slog.Logger

	mu    sync.Mutex
	locks map[string]*canonLock
	// crossDevice is set once a hard link from the blob store into the
	// tree failed for being across filesystems.
	crossDevice atomic.Bool
}

type canonLock struct {
	mu   sync.Mutex
	refs int
}

// New returns a publisher writing to target.
func New(target Target, index Renderer, crates Crates, blobs Blobs, configJSON []byte, log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.Default()
	}
	return &Publisher{target: target, index: index, crates: crates, blobs: blobs,
		configJSON: configJSON, log: log, locks: map[string]*canonLock{}}
}

// lock serializes the publication of one crate in this process: each
// publication renders after taking the lock, so the last one to write
// renders the latest state.
func (p *Publisher) lock(canon string) func() {
	p.mu.Lock()
	l := p.locks[canon]
	if l == nil {
		l = &canonLock{}
		p.locks[canon] = l
	}
	l.refs++
	p.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		p.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(p.locks, canon)
		}
		p.mu.Unlock()
	}
}

// Changed republishes one crate after a change of the store: new crate
// files, then the index file, then the removal of crate files the store no
// longer has. The index cache must have dropped the crate already.
func (p *Publisher) Changed(ctx context.Context, canon string) error {
	defer p.lock(canon)()
	f, err := p.index.Crate(ctx, canon)
	if crated.IsCode(err, crated.ENOTFOUND) {
		f = nil
	} else if err != nil {
		return err
	}
	var (
		path string
		old  *published
	)
	if f != nil {
		path = IndexFilePath(f.Name)
		if old, err = p.readPublished(ctx, path); err != nil {
			return err
		}
	} else {
		// The crate is gone: find its file under any spelling of its name.
		for _, cand := range spellings(canon) {
			if old, err = p.readPublished(ctx, IndexFilePath(cand)); err != nil {
				return err
			}
			if old != nil {
				path = IndexFilePath(cand)
				break
			}
		}
		if old == nil {
			return nil
		}
	}
	if f != nil {
		for vers, ref := range f.Versions {
			if old != nil && old.versions[vers] {
				continue // published with the old index file
			}
			if err := p.putCrate(ctx, CrateFilePath(f.Name, vers), ref.Cksum); err != nil {
				return err
			}
		}
		if old == nil || !bytes.Equal(old.body, f.Body) {
			if err := p.target.Put(ctx, path, bytes.NewReader(f.Body), int64(len(f.Body))); err != nil {
				return err
			}
		}
	} else if err := p.target.Remove(ctx, path); err != nil {
		return err
	}
	if old == nil {
		return nil
	}
	for vers := range old.versions {
		if f != nil {
			if _, ok := f.Versions[vers]; ok {
				continue
			}
		}
		if err := p.target.Remove(ctx, CrateFilePath(old.name, vers)); err != nil {
			return err
		}
	}
	return nil
}

// putCrate copies a blob to the tree.
func (p *Publisher) putCrate(ctx context.Context, path, cksum string) error {
	// A local tree and a local blob store on one filesystem: a hard link.
	l, canLink := p.target.(linker)
	bp, isLocal := p.blobs.(blobPather)
	if canLink && isLocal && !p.crossDevice.Load() {
		if src := bp.Path(cksum); src != "" {
			err := l.Link(ctx, path, src)
			if err == nil {
				return nil
			}
			if errors.Is(err, syscall.EXDEV) {
				p.crossDevice.Store(true) // never will: copy from now on
			}
		}
	}
	b, err := p.blobs.Open(ctx, cksum)
	if err != nil {
		return fmt.Errorf("static: crate file %s: %w", path, err)
	}
	defer b.Close()
	return p.target.Put(ctx, path, b, b.Size())
}

// published is an index file found on the target.
type published struct {
	body     []byte
	name     string
	versions map[string]bool
}

func (p *Publisher) readPublished(ctx context.Context, path string) (*published, error) {
	body, err := p.target.Read(ctx, path)
	if crated.IsCode(err, crated.ENOTFOUND) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	pub := &published{body: body, versions: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct{ Name, Vers string }
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Vers == "" {
			continue // a damaged file: Sync rewrites it
		}
		pub.name = line.Name
		pub.versions[line.Vers] = true
	}
	return pub, nil
}

// spellings lists the names whose canonical name is canon ('_' may have
// been '-'), up to 64 of them; a crate with more separators that vanishes
// from the store is cleaned up by Sync.
func spellings(canon string) []string {
	out := []string{canon}
	for i := 0; i < len(canon) && len(out) < 64; i++ {
		if canon[i] != '_' {
			continue
		}
		for _, s := range out[:len(out):len(out)] {
			if len(out) == 64 {
				break
			}
			out = append(out, s[:i]+"-"+s[i+1:])
		}
	}
	return out
}

// kind is what a web server must send with one sort of file of the tree:
// what crated sends with it.
type kind struct {
	Type  string
	cache string
}

// CacheControl is the kind's Cache-Control on a private registry or not.
func (k kind) CacheControl(authRequired bool) string {
	return httpapi.CacheControl(k.cache, authRequired)
}

var (
	configKind = kind{httpapi.ConfigContentType, httpapi.IndexCacheControl}
	indexKind  = kind{httpapi.IndexContentType, httpapi.IndexCacheControl}
	crateKind  = kind{httpapi.CrateContentType, httpapi.CrateCacheControl}
)

// kindOf tells the sort of a tree path.
func kindOf(p string) kind {
	switch {
	case p == ConfigPath:
		return configKind
	case strings.HasPrefix(p, cratesDir):
		return crateKind
	}
	return indexKind
}
