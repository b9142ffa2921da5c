package httpapi

import (
	"bytes"
	"container/list"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crated/crated"
)

// handleDownload serves a .crate file. Files are immutable (content-addressed
// by their checksum), so the ETag is the checksum and caches may keep them
// for a year (only private caches on a private registry: privateCaching). Yanked versions stay downloadable: lockfiles still need them.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) error {
	name, vers := r.PathValue("name"), r.PathValue("version")
	f, err := s.index.Lookup(r.Context(), strings.ToLower(name))
	if err != nil {
		return err
	}
	ref, ok := f.Versions[vers]
	if !ok {
		return crated.Errorf(crated.ENOTFOUND, "crate `%s` does not have a version `%s`", f.Name, vers)
	}
	s.countDownload(ref.ID)
	filename := f.Name + "-" + vers + ".crate"
	if rd, ok := s.blobs.(crated.BlobRedirector); ok {
		url, err := rd.RedirectURL(r.Context(), ref.Cksum, filename)
		if err != nil {
			return err
		}
		if url != "" {
			http.Redirect(w, r, url, http.StatusTemporaryRedirect)
			return nil
		}
	}
	h := w.Header()
	h["Etag"] = []string{`"` + ref.Cksum + `"`}
	h["Cache-Control"] = []string{CrateCacheControl}
	h["Content-Type"] = []string{CrateContentType}
	h["Content-Disposition"] = []string{`attachment; filename="` + filename + `"`}
	if c := s.crates.get(ref.Cksum); c != nil {
		c.serve(w, r)
		return nil
	}
	blob, err := s.blobs.Open(r.Context(), ref.Cksum)
	if err != nil {
		for _, k := range []string{"Etag", "Cache-Control", "Content-Type", "Content-Disposition"} {
			delete(h, k)
		}
		if crated.IsCode(err, crated.ENOTFOUND) {
			// The store says the version exists: a missing file is our fault.
			s.log.ErrorContext(r.Context(), "crate file missing from blob store", "crate", f.Name, "version", vers, "cksum", ref.Cksum)
			return crated.Errorf(crated.EINTERNAL, "crate file is missing")
		}
		return err
	}
	defer blob.Close()
	if c := s.crates.load(ref.Cksum, blob); c != nil {
		c.serve(w, r)
		return nil
	}
	// Too large to keep in memory (or unreadable in one go: then
	// ServeContent, which seeks back to the start, reports the error):
	// straight from the file, by sendfile where the store has files.
	http.ServeContent(w, r, "", blob.ModTime(), blob)
	return nil
}

// Downloads of .crate files are served from memory when the file is small
// enough: a download from the blob store costs open, fstat, two seeks, a
// header write, sendfile and close, eight system calls for what is, for a
// typical crate of a few tens of KB, one or two writes from memory (the
// profile in docs/performance.md). Files are immutable and named by their
// checksum, so a cached copy is never stale; the index lookup before it
// decides whether the version may be downloaded at all.
const (
	crateCacheBytes = 32 << 20 // all cached files together
	crateCacheMax   = 1 << 20  // a larger file is served from the store
)

// cachedCrate is one .crate file's bytes and the headers derived from them.
type cachedCrate struct {
	key          string
	body         []byte
	modTime      time.Time
	lastModified []string
	length       []string
}

// serve answers a plain GET with one write of the body; everything that
// needs negotiation (ranges, conditional requests, HEAD) goes through
// http.ServeContent over the same bytes, so the answers match a download
// from the store header for header.
func (c *cachedCrate) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header["Range"] != nil || r.Header["If-None-Match"] != nil ||
		r.Header["If-Match"] != nil || r.Header["If-Modified-Since"] != nil || r.Header["If-Unmodified-Since"] != nil {
		http.ServeContent(w, r, "", c.modTime, bytes.NewReader(c.body))
		return
	}
	h := w.Header()
	h["Last-Modified"] = c.lastModified
	h["Accept-Ranges"] = acceptRanges
	h["Content-Length"] = c.length
	w.WriteHeader(http.StatusOK)
	w.Write(c.body)
}

var acceptRanges = []string{"bytes"}

// crateCache is a bounded LRU of small .crate files by checksum.
type crateCache struct {
	mu    sync.Mutex
	items map[string]*list.Element
	lru   list.List
	bytes int
}

func newCrateCache() *crateCache { return &crateCache{items: map[string]*list.Element{}} }

func (cc *crateCache) get(key string) *cachedCrate {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	el, ok := cc.items[key]
	if !ok {
		return nil
	}
	cc.lru.MoveToFront(el)
	return el.Value.(*cachedCrate)
}

// load reads a small blob into the cache and returns it, or nil when the
// blob is too large or cannot be read whole (the caller serves it from the
// store then). No lock is held while reading.
func (cc *crateCache) load(key string, b crated.Blob) *cachedCrate {
	size := b.Size()
	if size < 0 || size > crateCacheMax {
		return nil
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(b, body); err != nil {
		return nil
	}
	mod := b.ModTime()
	c := &cachedCrate{
		key: key, body: body, modTime: mod,
		lastModified: []string{mod.UTC().Format(http.TimeFormat)},
		length:       []string{strconv.FormatInt(size, 10)},
	}
	if mod.IsZero() || mod.Equal(time.Unix(0, 0)) {
		// ServeContent leaves Last-Modified out for these times.
		c.lastModified = nil
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if el, ok := cc.items[key]; ok {
		// A concurrent download loaded it first.
		return el.Value.(*cachedCrate)
	}
	cc.items[key] = cc.lru.PushFront(c)
	cc.bytes += len(body)
	for cc.bytes > crateCacheBytes {
		old := cc.lru.Remove(cc.lru.Back()).(*cachedCrate)
		delete(cc.items, old.key)
		cc.bytes -= len(old.body)
	}
	return c
}

func (s *Server) countDownload(versionID int64) {
	s.dlMu.Lock()
	s.downloads[versionID]++
	s.dlMu.Unlock()
}

// FlushDownloads writes the download counts gathered since the last flush.
// Counting in memory keeps a database write off the download path.
func (s *Server) FlushDownloads(ctx context.Context) error {
	s.dlMu.Lock()
	counts := s.downloads
	s.downloads = map[int64]int64{}
	s.dlMu.Unlock()
	if len(counts) == 0 {
		return nil
	}
	if err := s.svc.AddDownloads(ctx, counts); err != nil {
		// Put them back so the next flush retries.
		s.dlMu.Lock()
		for id, n := range counts {
			s.downloads[id] += n
		}
		s.dlMu.Unlock()
		return err
	}
	return nil
}
