package httpapi

import (
	"io"
	"net/http"
	"strings"
)

// privateCaching makes every response of a private registry (auth_required)
// uncacheable by shared caches: whatever a handler says (a download's
// "public, max-age=31536000, immutable", the git index's
// "must-revalidate", a handler that says nothing), the response is marked
// "private", so that a proxy or CDN in front never serves one client's
// answer to another who has no token. Browsers and cargo still cache.
// Doing it once here covers the index, downloads, the API, the UI, the git
// index and routes added later.
func privateCaching(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&privateWriter{ResponseWriter: w}, r)
	})
}

// privateCacheControl rewrites a Cache-Control value for a private
// response: "public" goes, "private" is added unless no-store makes it moot.
func privateCacheControl(v string) string {
	var out []string
	private := false
	for _, d := range strings.Split(v, ",") {
		d = strings.TrimSpace(d)
		switch strings.ToLower(d) {
		case "", "public":
			continue
		case "private", "no-store":
			private = true
		}
		out = append(out, d)
	}
	if !private {
		out = append([]string{"private"}, out...)
	}
	return strings.Join(out, ", ")
}

type privateWriter struct {
	http.ResponseWriter
	done bool
}

func (w *privateWriter) fix() {
	if w.done {
		return
	}
	w.done = true
	h := w.Header()
	h.Set("Cache-Control", privateCacheControl(h.Get("Cache-Control")))
}

func (w *privateWriter) WriteHeader(code int) {
	w.fix()
	w.ResponseWriter.WriteHeader(code)
}

func (w *privateWriter) Write(b []byte) (int, error) {
	w.fix()
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps sendfile for downloads, as statusWriter does.
func (w *privateWriter) ReadFrom(r io.Reader) (int64, error) {
	w.fix()
	return io.Copy(w.ResponseWriter, r)
}

func (w *privateWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
