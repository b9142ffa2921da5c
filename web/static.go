package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed static
var staticFS embed.FS

// staticFile is one embedded asset with its validator.
type staticFile struct {
	name    string
	content []byte
	etag    string // quoted, strong: the content hash
	version string // short hash for cache-busting URLs
}

// staticFiles holds the embedded assets, hashed once at start.
type staticFiles struct {
	files map[string]*staticFile
}

func loadStatic() *staticFiles {
	s := &staticFiles{files: map[string]*staticFile{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		name := p[len("static/"):]
		s.files[name] = &staticFile{name: name, content: b, etag: `"` + h + `"`, version: h[:12]}
		return nil
	})
	if err != nil {
		// The files are compiled into the binary: failing to read them is
		// a build defect, not a runtime condition.
		panic("web: reading embedded static files: " + err.Error())
	}
	return s
}

// url is the link to an asset. The query carries the content hash, so that a
// new release changes the URL and the long cache lifetime never serves a
// stale stylesheet.
func (s *staticFiles) url(prefix, name string) string {
	f := s.files[name]
	if f == nil {
		return prefix + "/static/" + name
	}
	return prefix + "/static/" + name + "?v=" + f.version
}

// staticMaxAge is the cache lifetime of assets: a year, the usual maximum.
const staticMaxAge = "public, max-age=31536000, immutable"

// handleStatic serves an embedded asset with a strong ETag and a long cache
// lifetime; http.ServeContent answers conditional requests.
func (ui *UI) handleStatic(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	f := ui.static.files[path.Clean(r.PathValue("file"))]
	if f == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Cache-Control", staticMaxAge)
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.content))
}
