package static

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/crated/crated"
)

// Report lists what Sync changed, as tree paths.
type Report struct {
	Added, Changed, Removed []string
}

// Empty reports a tree that was already consistent.
func (r *Report) Empty() bool {
	return len(r.Added)+len(r.Changed)+len(r.Removed) == 0
}

// SyncOptions tunes Sync.
type SyncOptions struct {
	// Verify reads every crate file back and compares its sha256 with the
	// checksum; otherwise a crate file of the right size is taken as right
	// (files are only ever written whole, by rename).
	Verify bool
	// DryRun reports the differences without writing.
	DryRun bool
}

// listPage is the page size used to list every crate.
const listPage = 500

// Sync makes the whole tree equal to the store: config.json, every index
// file and every crate file written where missing or different, and every
// other file of the layout (and temporary files) removed. On a consistent
// tree it writes nothing and returns an empty report.
func (p *Publisher) Sync(ctx context.Context, opt SyncOptions) (*Report, error) {
	rep := &Report{}
	// want holds every path the store names.
	want := map[string]bool{}
	put := func(path string, changed bool, write func() error) error {
		if changed {
			rep.Changed = append(rep.Changed, path)
		} else {
			rep.Added = append(rep.Added, path)
		}
		if opt.DryRun {
			return nil
		}
		return write()
	}
	// syncBytes writes body at path unless it is there already.
	syncBytes := func(path string, body []byte) error {
		want[path] = true
		cur, err := p.target.Read(ctx, path)
		if err == nil && bytes.Equal(cur, body) {
			return nil
		}
		if err != nil && !crated.IsCode(err, crated.ENOTFOUND) {
			return err
		}
		return put(path, err == nil, func() error {
			return p.target.Put(ctx, path, bytes.NewReader(body), int64(len(body)))
		})
	}
	if err := syncBytes(ConfigPath, p.configJSON); err != nil {
		return nil, err
	}
	var seen int
	for {
		page, total, err := p.crates.SearchCrates(ctx, crated.SearchQuery{Offset: seen, Limit: listPage})
		if err != nil {
			return nil, err
		}
		seen += len(page)
		for _, c := range page {
			if err := p.syncCrate(ctx, c.CanonName, opt, want, put, syncBytes); err != nil {
				return nil, err
			}
		}
		if len(page) == 0 || seen >= total {
			break
		}
	}
	// Whatever the store does not name goes, crate files before their
	// index files would be odd but harmless: nothing names them any more.
	var stale []string
	err := p.target.Walk(ctx, func(path string) error {
		if want[path] {
			return nil
		}
		if isTemp(path) || strings.HasPrefix(path, indexDir) || strings.HasPrefix(path, cratesDir) {
			stale = append(stale, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(stale)
	for _, path := range stale {
		if !isTemp(path) {
			rep.Removed = append(rep.Removed, path)
		}
		if opt.DryRun {
			continue
		}
		if err := p.target.Remove(ctx, path); err != nil {
			return nil, err
		}
	}
	sort.Strings(rep.Added)
	sort.Strings(rep.Changed)
	return rep, nil
}

// syncCrate checks one crate's crate files, then its index file.
func (p *Publisher) syncCrate(ctx context.Context, canon string, opt SyncOptions, want map[string]bool,
	put func(string, bool, func() error) error, syncBytes func(string, []byte) error) error {
	defer p.lock(canon)()
	f, err := p.index.Crate(ctx, canon)
	if crated.IsCode(err, crated.ENOTFOUND) {
		return nil // no version: nothing to publish
	} else if err != nil {
		return err
	}
	for vers, ref := range f.Versions {
		path := CrateFilePath(f.Name, vers)
		want[path] = true
		ok, exists, err := p.crateFileOK(ctx, path, ref.Cksum, opt.Verify)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := put(path, exists, func() error { return p.putCrate(ctx, path, ref.Cksum) }); err != nil {
			return err
		}
	}
	return syncBytes(IndexFilePath(f.Name), f.Body)
}

// crateFileOK compares a crate file with its blob: by size, or by sha256
// when verify is set.
func (p *Publisher) crateFileOK(ctx context.Context, path, cksum string, verify bool) (ok, exists bool, err error) {
	size, err := p.target.Size(ctx, path)
	if crated.IsCode(err, crated.ENOTFOUND) {
		return false, false, nil
	} else if err != nil {
		return false, false, err
	}
	want, err := p.blobs.Stat(ctx, cksum)
	if err != nil {
		return false, true, err
	}
	if size != want {
		return false, true, nil
	}
	if !verify {
		return true, true, nil
	}
	body, err := p.target.Read(ctx, path)
	if err != nil {
		return false, true, err
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]) == cksum, true, nil
}

// tempPrefix starts the name of a file being written.
const tempPrefix = ".static-"

func isTemp(path string) bool {
	return strings.HasPrefix(path[strings.LastIndexByte(path, '/')+1:], tempPrefix)
}
