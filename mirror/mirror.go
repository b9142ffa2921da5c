// Package mirror is crated's pull-through cache of an upstream sparse
// registry (crates.io by default), and the combined index that serves the
// private crates and the mirrored ones as one source.
//
// Index files are fetched from the upstream on a miss, kept verbatim in the
// metadata store (so that every replica shares them) and in a small
// in-memory cache, revalidated with the upstream's ETag or Last-Modified
// once they are older than IndexTTL, and served stale when the upstream is
// down or slow. Lines are passed through byte for byte: fields cargo adds
// later (rust_version, pubtime, v, features2, ...) are never lost. The only
// change ever made is dropping the lines of versions younger than MinAge.
//
// A .crate is fetched once from the upstream's dl template, verified against
// the cksum of its index line before it is stored (a mismatch is refused and
// nothing is kept), and served from the blob store afterwards. Concurrent
// misses for one index file or one .crate make one upstream request.
package mirror

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// Config holds the mirror's plain settings.
type Config struct {
	// Upstream is the upstream's sparse index URL (http(s), trailing
	// slash, no "sparse+").
	Upstream string
	// IndexTTL is how long a fetched index file is served before it is
	// revalidated upstream; 0 revalidates on every request.
	IndexTTL time.Duration
	// ServeStale serves an expired file when the upstream fails or is slow.
	ServeStale bool
	// MinAge hides versions whose pubtime is younger.
	MinAge time.Duration
	// Allow and Deny are crate-name glob patterns (see names.allowed).
	Allow, Deny []string
	// Token is sent as Authorization to the upstream index's host.
	Token string
	// Timeout bounds each upstream request; Concurrency caps those in
	// flight.
	Timeout     time.Duration
	Concurrency int
	// MaxCrateSize refuses larger upstream .crate files (default 1 GiB).
	MaxCrateSize int64
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

// Store is what the mirror keeps in the metadata store (storetest.RunMirror
// is the contract).
type Store interface {
	MirrorIndexFile(ctx context.Context, name string) (*crated.MirrorIndexFile, error)
	PutMirrorIndexFile(ctx context.Context, f *crated.MirrorIndexFile) error
	TouchMirrorIndexFile(ctx context.Context, name string, fetchedAt time.Time) error
}

// File is an index file as the mirror serves it.
type File struct {
	Body []byte
	// ETag is a strong, quoted entity tag of Body.
	ETag string
}

// CrateFile is a verified .crate in the cache, open for reading.
type CrateFile struct {
	crated.Blob
	// Name is the crate's name as the index spells it, Vers its version.
	Name, Vers string
	Cksum      string
	// Fetched is true when this call brought the file from the upstream.
	Fetched bool
}

const (
	// staleWait is how long a request waits for a revalidation when it
	// could serve a stale copy: the upstream being slow must not make
	// cargo time out. The revalidation goes on in the background.
	staleWait = 2 * time.Second
	// maxIndexFile bounds an upstream index file (crates.io's largest are a
	// few MiB).
	maxIndexFile = 64 << 20
	// memBytes bounds the in-memory cache in front of the store.
	memBytes = 32 << 20
	// configName is the store's name for the upstream's config.json.
	configName = "config.json"
)

// Mirror is the pull-through cache.
type Mirror struct {
	cfg     Config
	store   Store
	blobs   crated.BlobStore
	up      *upstream
	names   names
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time

	mu    sync.Mutex
	items map[string]*list.Element
	lru   *list.List
	bytes int

	indexFlight singleflight.Group // by file name
	crateFlight singleflight.Group // by cksum
}

// memEntry caches one stored file and what was last served from it.
type memEntry struct {
	name string
	raw  *crated.MirrorIndexFile
	size int
	// served is raw filtered by MinAge, valid until servedUntil (zero:
	// as long as raw is).
	served      *File
	servedUntil time.Time
}

// New returns a mirror over the metadata store and the blob store that
// holds mirrored .crate files.
func New(cfg Config, store Store, blobs crated.BlobStore, log *slog.Logger) (*Mirror, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxCrateSize <= 0 {
		cfg.MaxCrateSize = 1 << 30
	}
	m := &Mirror{cfg: cfg, store: store, blobs: blobs, names: newNames(cfg.Allow, cfg.Deny),
		log: log, metrics: newMetrics(), now: cfg.Now, items: map[string]*list.Element{}, lru: list.New()}
	var err error
	if m.up, err = newUpstream(cfg, m.metrics); err != nil {
		return nil, err
	}
	return m, nil
}

// IndexFile returns the index file of the crate whose lowercased name is
// lowerName: ENOTFOUND when the upstream has no such crate or the name is
// refused by allow/deny.
func (m *Mirror) IndexFile(ctx context.Context, lowerName string) (*File, error) {
	// Only the shape of a crate name reaches the upstream and the store: a
	// download route's {name} is the client's text.
	if n, ok := cargo.NameFromIndexPath(cargo.IndexPath(lowerName)); !ok || n != lowerName {
		return nil, crated.Errorf(crated.ENOTFOUND, "`%s` is not a crate name", lowerName)
	}
	if !m.names.allowed(lowerName) {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` is not mirrored here", lowerName)
	}
	raw, err := m.file(ctx, lowerName, "index")
	if err != nil {
		return nil, err
	}
	if raw.Missing {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist upstream", lowerName)
	}
	return m.served(lowerName, raw), nil
}

// served returns raw as served now: filtered by MinAge, with its ETag,
// memoized until the filter's result changes.
func (m *Mirror) served(name string, raw *crated.MirrorIndexFile) *File {
	now := m.now()
	m.mu.Lock()
	if el, ok := m.items[name]; ok {
		e := el.Value.(*memEntry)
		if e.raw == raw && e.served != nil && (e.servedUntil.IsZero() || now.Before(e.servedUntil)) {
			f := e.served
			m.mu.Unlock()
			return f
		}
	}
	m.mu.Unlock()
	body, until := filterMinAge(raw.Body, m.cfg.MinAge, now)
	sum := sha256.Sum256(body)
	f := &File{Body: body, ETag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	m.mu.Lock()
	if el, ok := m.items[name]; ok {
		if e := el.Value.(*memEntry); e.raw == raw {
			e.served, e.servedUntil = f, until
		}
	}
	m.mu.Unlock()
	return f
}

// fresh reports whether f may be served without asking the upstream.
func (m *Mirror) fresh(f *crated.MirrorIndexFile) bool {
	return m.now().Before(f.FetchedAt.Add(m.cfg.IndexTTL))
}

// file returns the cached file called name (a crate name or config.json):
// from memory, else from the store, else from the upstream; expired copies
// are revalidated, and served stale when the upstream fails or is slow.
func (m *Mirror) file(ctx context.Context, name, kind string) (*crated.MirrorIndexFile, error) {
	cached := m.memGet(name)
	if cached == nil || !m.fresh(cached) {
		// Another replica may have revalidated it meanwhile: the store is
		// shared, the upstream is not ours to hammer.
		f, err := m.store.MirrorIndexFile(ctx, name)
		switch {
		case err == nil && (cached == nil || f.FetchedAt.After(cached.FetchedAt)):
			cached = f
			m.memPut(name, f)
		case err == nil:
		case !crated.IsCode(err, crated.ENOTFOUND):
			// The store is down: the upstream may still answer.
			m.log.Warn("mirror: cannot read the index cache", "file", name, "err", err)
		}
	}
	if cached != nil && m.fresh(cached) {
		if kind == "index" {
			m.metrics.indexHit.Inc()
		} else {
			m.metrics.cache.WithLabelValues(kind, "hit").Inc()
		}
		return cached, nil
	}
	m.metrics.cache.WithLabelValues(kind, "miss").Inc()

	// One revalidation per file at a time, detached from this request so
	// that a client hanging up does not cancel it for the others.
	ch := m.indexFlight.DoChan(name, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*m.up.timeout)
		defer cancel()
		return m.fetch(fctx, name, kind, cached)
	})
	var timer <-chan time.Time
	if cached != nil && m.cfg.ServeStale {
		t := time.NewTimer(staleWait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case res := <-ch:
		if res.Err == nil {
			return res.Val.(*crated.MirrorIndexFile), nil
		}
		if cached != nil && m.cfg.ServeStale {
			m.metrics.cache.WithLabelValues(kind, "stale").Inc()
			m.log.Warn("mirror: upstream failed, serving a stale index file", "file", name, "err", res.Err)
			return cached, nil
		}
		return nil, upstreamDown("index file "+name, res.Err)
	case <-timer:
		m.metrics.cache.WithLabelValues(kind, "stale").Inc()
		m.log.Warn("mirror: upstream is slow, serving a stale index file", "file", name)
		return cached, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch asks the upstream for a file, conditionally when prev is known,
// and stores the answer.
func (m *Mirror) fetch(ctx context.Context, name, kind string, prev *crated.MirrorIndexFile) (*crated.MirrorIndexFile, error) {
	path := configName
	if name != configName {
		path = cargo.IndexPath(name)
	}
	h := http.Header{}
	h.Set("Accept", "text/plain, application/json")
	if prev != nil && !prev.Missing {
		// As cargo does: the ETag if there is one, else Last-Modified.
		if prev.ETag != "" {
			h.Set("If-None-Match", prev.ETag)
		} else if prev.LastModified != "" {
			h.Set("If-Modified-Since", prev.LastModified)
		}
	}
	var got *crated.MirrorIndexFile
	err := m.up.do(ctx, kind, m.up.fileURL(path), h, func(resp *http.Response) error {
		now := m.now()
		switch resp.StatusCode {
		case http.StatusOK:
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexFile+1))
			if err != nil {
				m.metrics.errors.WithLabelValues(kind).Inc()
				return fmt.Errorf("upstream %s: reading %s: %w", kind, path, err)
			}
			if len(body) > maxIndexFile {
				return fmt.Errorf("upstream %s: %s is larger than %d bytes", kind, path, maxIndexFile)
			}
			m.metrics.upstream.WithLabelValues(kind, "ok").Inc()
			m.metrics.bytes.WithLabelValues(kind).Add(float64(len(body)))
			got = &crated.MirrorIndexFile{Name: name, Body: body, ETag: resp.Header.Get("ETag"),
				LastModified: resp.Header.Get("Last-Modified"), FetchedAt: now}
		case http.StatusNotModified:
			m.metrics.upstream.WithLabelValues(kind, "not_modified").Inc()
			if prev == nil || prev.Missing {
				return fmt.Errorf("upstream %s: 304 for %s without a conditional request", kind, path)
			}
			c := *prev
			c.FetchedAt = now
			got = &c
			if err := m.store.TouchMirrorIndexFile(ctx, name, now); err == nil {
				m.memPut(name, got)
				return nil
			}
			// Not in the store (it was only in memory): store it whole.
		case http.StatusNotFound, http.StatusGone, http.StatusUnavailableForLegalReasons:
			m.metrics.upstream.WithLabelValues(kind, "not_found").Inc()
			got = &crated.MirrorIndexFile{Name: name, Missing: true, FetchedAt: now}
		default:
			m.metrics.upstream.WithLabelValues(kind, "error").Inc()
			m.metrics.errors.WithLabelValues(kind).Inc()
			return fmt.Errorf("upstream %s: %s answered %s", kind, redact(m.up.fileURL(path)), resp.Status)
		}
		if err := m.store.PutMirrorIndexFile(ctx, got); err != nil {
			// Serve it anyway; the next replica fetches it again.
			m.log.Warn("mirror: cannot store an index file", "file", name, "err", err)
		}
		m.memPut(name, got)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return got, nil
}

func (m *Mirror) memGet(name string) *crated.MirrorIndexFile {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[name]; ok {
		m.lru.MoveToFront(el)
		return el.Value.(*memEntry).raw
	}
	return nil
}

func (m *Mirror) memPut(name string, f *crated.MirrorIndexFile) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[name]; ok {
		e := el.Value.(*memEntry)
		if e.raw == f {
			return
		}
		m.memRemove(el)
	}
	size := 2*len(f.Body) + len(name) + 128 // raw and a filtered copy
	e := &memEntry{name: name, raw: f, size: size}
	el := m.lru.PushFront(e)
	m.items[name] = el
	m.bytes += size
	for m.bytes > memBytes && m.lru.Len() > 1 {
		m.memRemove(m.lru.Back())
	}
}

func (m *Mirror) memRemove(el *list.Element) {
	e := m.lru.Remove(el).(*memEntry)
	delete(m.items, e.name)
	m.bytes -= e.size
}

// Crate returns the verified .crate of name@vers, fetching it from the
// upstream on the first request. Versions hidden by MinAge and names
// refused by allow/deny are ENOTFOUND; a file whose checksum does not match
// its index line is EBADGATEWAY and is not kept.
func (m *Mirror) Crate(ctx context.Context, name, vers string) (*CrateFile, error) {
	lower := strings.ToLower(name)
	f, err := m.IndexFile(ctx, lower)
	if err != nil {
		return nil, err
	}
	var line lineInfo
	eachLine(f.Body, func(_ []byte, info lineInfo) bool {
		if info.Vers == vers {
			line = info
			return false
		}
		return true
	})
	if line.Vers == "" {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` has no version `%s` in the mirror", name, vers)
	}
	if !validCksum(line.Cksum) || strings.ToLower(line.Name) != lower {
		return nil, crated.Errorf(crated.EBADGATEWAY, "the upstream's index line for %s@%s is malformed", name, vers)
	}
	blob, err := m.blobs.Open(ctx, line.Cksum)
	if err == nil {
		m.metrics.cache.WithLabelValues("crate", "hit").Inc()
		return &CrateFile{Blob: blob, Name: line.Name, Vers: vers, Cksum: line.Cksum}, nil
	}
	if !crated.IsCode(err, crated.ENOTFOUND) {
		return nil, err
	}
	m.metrics.cache.WithLabelValues("crate", "miss").Inc()
	ch := m.crateFlight.DoChan(line.Cksum, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*m.up.timeout)
		defer cancel()
		return nil, m.fetchCrate(fctx, line)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if blob, err = m.blobs.Open(ctx, line.Cksum); err != nil {
		return nil, err
	}
	return &CrateFile{Blob: blob, Name: line.Name, Vers: vers, Cksum: line.Cksum, Fetched: true}, nil
}

func validCksum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// fetchCrate downloads one .crate into a temporary file, verifies its
// sha256 against the index line and only then stores it.
func (m *Mirror) fetchCrate(ctx context.Context, line lineInfo) error {
	tmpl, err := m.dlTemplate(ctx)
	if err != nil {
		return err
	}
	u := downloadURL(tmpl, line.Name, line.Vers, line.Cksum)
	tmp, err := os.CreateTemp("", "crated-mirror-*.crate")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var size int64
	h := sha256.New()
	err = m.up.do(ctx, "crate", u, nil, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			m.metrics.upstream.WithLabelValues("crate", "error").Inc()
			m.metrics.errors.WithLabelValues("crate").Inc()
			return fmt.Errorf("upstream crate: %s answered %s", redact(u), resp.Status)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		h.Reset()
		n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, m.cfg.MaxCrateSize+1))
		size = n
		m.metrics.bytes.WithLabelValues("crate").Add(float64(n))
		if err != nil {
			m.metrics.errors.WithLabelValues("crate").Inc()
			return fmt.Errorf("upstream crate: reading %s: %w", redact(u), err)
		}
		if n > m.cfg.MaxCrateSize {
			return fmt.Errorf("upstream crate: %s is larger than %d bytes", redact(u), m.cfg.MaxCrateSize)
		}
		return nil
	})
	if err != nil {
		return upstreamDown(line.Name+"@"+line.Vers, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != line.Cksum {
		m.metrics.upstream.WithLabelValues("crate", "checksum_mismatch").Inc()
		m.metrics.errors.WithLabelValues("crate").Inc()
		m.log.Error("mirror: upstream .crate does not match its index checksum; refused, not cached",
			"crate", line.Name, "version", line.Vers, "want", line.Cksum, "got", got, "url", redact(u))
		return crated.Errorf(crated.EBADGATEWAY,
			"the upstream's file for %s@%s does not match the checksum of its index entry; it was refused", line.Name, line.Vers)
	}
	m.metrics.upstream.WithLabelValues("crate", "ok").Inc()
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// Put verifies the hash once more and never exposes a partial object.
	return m.blobs.Put(ctx, line.Cksum, tmp, size)
}

// dlTemplate returns the upstream's dl template from its config.json,
// cached like an index file.
func (m *Mirror) dlTemplate(ctx context.Context) (string, error) {
	f, err := m.file(ctx, configName, "config")
	if err != nil {
		return "", err
	}
	var cfg struct {
		DL string `json:"dl"`
	}
	if f.Missing || json.Unmarshal(f.Body, &cfg) != nil || cfg.DL == "" {
		return "", crated.Errorf(crated.EBADGATEWAY, "the upstream registry has no usable config.json")
	}
	return cfg.DL, nil
}

// Prefetch puts name@vers in the cache (index file and .crate), as a
// download would, and returns the checksum and whether it was fetched now.
func (m *Mirror) Prefetch(ctx context.Context, name, vers string) (cksum string, fetched bool, err error) {
	f, err := m.Crate(ctx, name, vers)
	if err != nil {
		return "", false, err
	}
	return f.Cksum, f.Fetched, f.Close()
}

// Upstream returns the upstream's sparse index URL (no "sparse+").
func (m *Mirror) Upstream() string { return m.up.index.String() }
