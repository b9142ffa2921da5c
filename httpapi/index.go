package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// renderConfig renders the index's config.json once: it only depends on
// configuration.
func renderConfig(cfg Config) ([]byte, string) {
	return indexConfig(cfg.BaseURL+"/api/v1/crates/{crate}/{version}/download", cfg.BaseURL, cfg.AuthRequired)
}

// ConfigJSON returns the index's config.json, for the git index to commit
// the same bytes.
func (s *Server) ConfigJSON() []byte { return s.configJSON }

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) error {
	serveIndexBytes(w, r, s.configJSON, s.configETag, ConfigContentType)
	return nil
}

func (s *Server) handleIndexFile(w http.ResponseWriter, r *http.Request) error {
	name, ok := cargo.NameFromIndexPath(r.PathValue("path"))
	if !ok {
		return crated.Errorf(crated.ENOTFOUND, "no such index file")
	}
	f, err := s.index.Lookup(r.Context(), name)
	if err != nil {
		return err
	}
	serveIndexBytes(w, r, f.Body, f.ETag, IndexContentType)
	return nil
}

// serveIndexBytes answers with the body or 304 when the client's ETag still
// matches. Index files change on every publish and yank, so clients must
// revalidate: no-cache, not a max-age.
func serveIndexBytes(w http.ResponseWriter, r *http.Request, body []byte, etag, ctype string) {
	h := w.Header()
	h["Etag"] = []string{etag}
	h["Cache-Control"] = []string{IndexCacheControl}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = []string{ctype}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// etagMatch implements If-None-Match's weak comparison over a list.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
