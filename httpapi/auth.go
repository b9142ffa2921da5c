package httpapi

import (
	"net/http"
)

// Cache-Control values and content types of the files a web server may serve from the static
// tree (package static) in crated's place; crated's own handlers send the
// same, so both answer alike.
const (
	// IndexCacheControl is sent with index files and config.json: they
	// change on every publish and yank, so clients revalidate.
	IndexCacheControl = "no-cache"
	// CrateCacheControl is sent with .crate files, immutable by checksum.
	CrateCacheControl = "public, max-age=31536000, immutable"

	// Content types of config.json, index files and .crate files.
	ConfigContentType = "application/json"
	IndexContentType  = "text/plain; charset=utf-8"
	CrateContentType  = "application/x-tar"
)

// CacheControl is the Cache-Control a response with value v carries, on a
// private registry (auth_required) or not.
func CacheControl(v string, authRequired bool) string {
	if authRequired {
		return privateCacheControl(v)
	}
	return v
}

// securityHeaderList holds the headers crated adds to every response.
var securityHeaderList = [][2]string{{"X-Content-Type-Options", "nosniff"}, {"X-Frame-Options", "DENY"}}

// SecurityHeaders returns the headers crated adds to every response, as
// name and value pairs.
func SecurityHeaders() [][2]string { return append([][2]string(nil), securityHeaderList...) }

// handleAuthCheck answers 204 when the request may read this registry:
// always on a public one, with a valid token on a private one (read answers
// 401 and cargo's login challenge otherwise). nginx asks it through
// auth_request before serving a static file of a private registry: one token
// lookup, no body.
func (s *Server) handleAuthCheck(w http.ResponseWriter, r *http.Request) error {
	w.Header()["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
