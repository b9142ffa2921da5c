package httpapi

import (
	"net/http"
	"time"
)

// ProgressDeadline serves h with a write deadline that moves with each
// write: every write must complete within d, but a response that keeps
// making progress is never cut. It is for responses whose size has no
// bound known in advance (the git index's upload-pack of a full clone),
// where write_timeout as a bound of the whole response would cut large
// clones on slow links, while no bound at all would let a client that
// stops reading hold the connection forever. d <= 0 leaves the server's
// deadline alone.
func ProgressDeadline(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
		pw.extend()
		h.ServeHTTP(pw, r)
	})
}

type progressWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *progressWriter) extend() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.d)) }

func (w *progressWriter) Write(b []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(b)
}

// Flush is kept for handlers that stream (git sends progress lines).
func (w *progressWriter) Flush() {
	w.extend()
	_ = w.rc.Flush()
}

func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
