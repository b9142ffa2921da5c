package httpapi

import (
	"mime"
	"net/http"
	"strings"
)

// browserPage reports whether an unknown path should answer with an HTML
// page: a GET or HEAD from a client that accepts text/html, outside the
// paths cargo and API clients use, which always answer cargo's JSON error
// body (a client sending a browser's Accept header there still gets JSON).
func (s *Server) browserPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	for _, prefix := range []string{"/api/", "/index/", "/ktra/", "/git/", "/mirror/", "/all/", "/" + strings.Join(s.cfg.DLPath, "/") + "/"} {
		if strings.HasPrefix(p, prefix) || p+"/" == prefix {
			return false
		}
	}
	return acceptsHTML(r.Header.Get("Accept"))
}

// acceptsHTML reports whether an Accept header names text/html with a
// quality above zero (cargo and curl send none, or */*).
func acceptsHTML(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "text/html" {
			continue
		}
		if q := strings.TrimSpace(params["q"]); q == "0" || q == "0.0" || q == "0.00" || q == "0.000" {
			continue
		}
		return true
	}
	return false
}
