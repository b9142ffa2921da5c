package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/mirror"
)

// MountMirror serves the pull-through mirror under /mirror/ (and Ktra's
// mirror download route) and the combined index of private and mirrored
// crates under /all/. Every route is a read: with auth_required it needs a
// token like the private index.
func (s *Server) MountMirror(mir *mirror.Mirror, all *mirror.Combined) {
	mirrorConfig, mirrorETag := indexConfig(s.cfg.BaseURL+"/mirror/dl/{crate}/{version}/download", "", s.cfg.AuthRequired)
	// One dl template serves both kinds of crate: /all/dl/ looks up the
	// private crate first. api is this registry, so cargo publish works
	// against the combined source.
	allConfig, allETag := indexConfig(s.cfg.BaseURL+"/all/dl/{crate}/{version}/download", s.cfg.BaseURL, s.cfg.AuthRequired)

	m := s.mux
	m.HandleFunc("GET /mirror/index/config.json", s.read(func(w http.ResponseWriter, r *http.Request) error {
		serveIndexBytes(w, r, mirrorConfig, mirrorETag, ConfigContentType)
		return nil
	}))
	m.HandleFunc("GET /mirror/index/{path...}", s.read(func(w http.ResponseWriter, r *http.Request) error {
		name, ok := cargo.NameFromIndexPath(r.PathValue("path"))
		if !ok {
			return crated.Errorf(crated.ENOTFOUND, "no such index file")
		}
		f, err := mir.IndexFile(r.Context(), name)
		if err != nil {
			return err
		}
		serveIndexBytes(w, r, f.Body, f.ETag, IndexContentType)
		return nil
	}))
	mirrorDownload := s.read(func(w http.ResponseWriter, r *http.Request) error {
		return s.serveMirrored(w, r, mir)
	})
	m.HandleFunc("GET /mirror/dl/{name}/{version}/download", mirrorDownload)
	m.HandleFunc("GET /ktra/api/v1/mirror/{name}/{version}/download", mirrorDownload)

	m.HandleFunc("GET /all/index/config.json", s.read(func(w http.ResponseWriter, r *http.Request) error {
		serveIndexBytes(w, r, allConfig, allETag, ConfigContentType)
		return nil
	}))
	m.HandleFunc("GET /all/index/{path...}", s.read(func(w http.ResponseWriter, r *http.Request) error {
		name, ok := cargo.NameFromIndexPath(r.PathValue("path"))
		if !ok {
			return crated.Errorf(crated.ENOTFOUND, "no such index file")
		}
		f, err := all.IndexFile(r.Context(), name)
		if err != nil {
			return err
		}
		serveIndexBytes(w, r, f.Body, f.ETag, IndexContentType)
		return nil
	}))
	m.HandleFunc("GET /all/dl/{name}/{version}/download", s.read(func(w http.ResponseWriter, r *http.Request) error {
		private, err := all.IsPrivate(r.Context(), r.PathValue("name"))
		if err != nil {
			return err
		}
		if private {
			return s.handleDownload(w, r)
		}
		return s.serveMirrored(w, r, mir)
	}))
	s.metrics.reg.MustRegister(mir.Collectors()...)
}

// serveMirrored serves a mirrored .crate, immutable like a private one.
func (s *Server) serveMirrored(w http.ResponseWriter, r *http.Request, mir *mirror.Mirror) error {
	f, err := mir.Crate(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h["Etag"] = []string{`"` + f.Cksum + `"`}
	h["Cache-Control"] = []string{"public, max-age=31536000, immutable"}
	h["Content-Type"] = []string{"application/x-tar"}
	h["Content-Disposition"] = []string{`attachment; filename="` + f.Name + "-" + strings.ReplaceAll(f.Vers, `"`, "") + `.crate"`}
	http.ServeContent(w, r, "", f.ModTime(), f)
	return nil
}

// indexConfig renders an index's config.json with the given dl and api
// ("" for none), and its ETag: the private index, the mirror and the
// combined index differ only in these.
func indexConfig(dl, api string, authRequired bool) ([]byte, string) {
	v := struct {
		DL           string `json:"dl"`
		API          string `json:"api,omitempty"`
		AuthRequired bool   `json:"auth-required,omitempty"`
	}{DL: dl, API: api, AuthRequired: authRequired}
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	return b, etagOf(b)
}

// etagOf is a strong entity tag of b.
func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}
