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
	// checksum; otherwise a crate file that exists is taken as right: files
	// are only ever written whole (rename, or a single object upload).
	Verify bool
	// DryRun reports the differences without writing.
	DryRun bool
}

// listPage is the page size used to list every crate.
const listPage = 500

// syncer is one run of Sync.
type syncer struct {
	p   *Publisher
	ctx context.Context
	opt SyncOptions
	rep Report
	// have holds the tree's files and their sizes, listed first; want
	// every path the store names.
	have map[string]int64
	want map[string]bool
}

// Sync makes the whole tree equal to the store: config.json, every index
// file and every crate file written where missing or different, and every
// other file of the layout (and temporary files) removed. On a consistent
// tree it writes nothing and returns an empty report. Its cost is one
// listing of the tree, one render of each crate and one read of each index
// file whose size matches (plus one read of each crate file with Verify).
func (p *Publisher) Sync(ctx context.Context, opt SyncOptions) (*Report, error) {
	s := &syncer{p: p, ctx: ctx, opt: opt, have: map[string]int64{}, want: map[string]bool{}}
	// Listed before the store is read: a file written meanwhile by Changed
	// is not in have, so it is never taken for a stale one.
	err := p.target.Walk(ctx, func(path string, size int64) error {
		s.have[path] = size
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.bytes(ConfigPath, p.configJSON); err != nil {
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
			if err := s.crate(c.CanonName); err != nil {
				return nil, err
			}
		}
		if len(page) == 0 || seen >= total {
			break
		}
	}
	// Whatever the store does not name goes. Nothing names these files any
	// more, so the order does not matter.
	var stale []string
	for path := range s.have {
		if !s.want[path] && (isTemp(path) || strings.HasPrefix(path, indexDir) || strings.HasPrefix(path, cratesDir)) {
			stale = append(stale, path)
		}
	}
	sort.Strings(stale)
	for _, path := range stale {
		if !isTemp(path) {
			s.rep.Removed = append(s.rep.Removed, path)
		}
		if opt.DryRun {
			continue
		}
		if err := p.target.Remove(ctx, path); err != nil {
			return nil, err
		}
	}
	sort.Strings(s.rep.Added)
	sort.Strings(s.rep.Changed)
	return &s.rep, nil
}

// put records and (unless DryRun) writes one file.
func (s *syncer) put(path string, write func() error) error {
	if _, ok := s.have[path]; ok {
		s.rep.Changed = append(s.rep.Changed, path)
	} else {
		s.rep.Added = append(s.rep.Added, path)
	}
	if s.opt.DryRun {
		return nil
	}
	return write()
}

// bytes writes body at path unless it is there already.
func (s *syncer) bytes(path string, body []byte) error {
	s.want[path] = true
	if size, ok := s.have[path]; ok && size == int64(len(body)) {
		cur, err := s.p.target.Read(s.ctx, path)
		if err == nil && bytes.Equal(cur, body) {
			return nil
		}
		if err != nil && !crated.IsCode(err, crated.ENOTFOUND) {
			return err
		}
	}
	return s.put(path, func() error {
		return s.p.target.Put(s.ctx, path, bytes.NewReader(body), int64(len(body)))
	})
}

// crate checks one crate's crate files, then its index file.
func (s *syncer) crate(canon string) error {
	defer s.p.lock(canon)()
	f, err := s.p.index.Crate(s.ctx, canon)
	if crated.IsCode(err, crated.ENOTFOUND) {
		return nil // no version: nothing to publish
	} else if err != nil {
		return err
	}
	for vers, ref := range f.Versions {
		path := CrateFilePath(f.Name, vers)
		s.want[path] = true
		// An empty file is what a machine crash leaves of a copy that was
		// never synced (Dir.Put): no .crate is empty.
		if size, ok := s.have[path]; ok && size > 0 {
			if !s.opt.Verify {
				continue
			}
			body, err := s.p.target.Read(s.ctx, path)
			if err != nil && !crated.IsCode(err, crated.ENOTFOUND) {
				return err
			}
			sum := sha256.Sum256(body)
			if err == nil && hex.EncodeToString(sum[:]) == ref.Cksum {
				continue
			}
		}
		if err := s.put(path, func() error { return s.p.putCrate(s.ctx, path, ref.Cksum) }); err != nil {
			return err
		}
	}
	return s.bytes(IndexFilePath(f.Name), f.Body)
}

// tempPrefix starts the name of a file being written.
const tempPrefix = ".static-"

func isTemp(path string) bool {
	return strings.HasPrefix(path[strings.LastIndexByte(path, '/')+1:], tempPrefix)
}
