package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/crated/crated"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// chain applies middleware so that the first one listed runs first.
func chain(h http.Handler, ms ...Middleware) http.Handler {
	for i := len(ms) - 1; i >= 0; i-- {
		h = ms[i](h)
	}
	return h
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController and ServeContent's sendfile path reach
// the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReadFrom keeps sendfile working for downloads through the wrapper:
// io.Copy reaches the server's own ReadFrom.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.bytes += n
	return n, err
}

// logRequests logs every request once it is done: changes and failures at
// Info, successful reads at Debug so that a busy index does not flood logs.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		sw.Header()["X-Request-Id"] = []string{id}
		// Every line logged with the request's context carries the id
		// (LogHandler), whoever logs it, and the audit log the client's
		// address: one new context and one copy of the request for both.
		ctx := withRequestID(r.Context(), id)
		client := s.clientAddr(r)
		if client.IsValid() {
			ctx = crated.WithClient(ctx, client.String())
		}
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r)
		took := time.Since(start)
		s.metrics.observe(r, sw.status, took)
		level := slog.LevelDebug
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || sw.status >= 400 {
			level = slog.LevelInfo
		}
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("took", took),
			slog.String("remote", r.RemoteAddr),
		}
		// Behind a trusted proxy the peer is the proxy; name the client.
		if client.IsValid() && client.String() != remoteHost(r) {
			attrs = append(attrs, slog.String("client", client.String()))
		}
		s.log.LogAttrs(r.Context(), level, "http", attrs...)
	})
}

// Request ids are a random per-process prefix and a counter: unique enough
// to correlate logs across replicas, and free of a random read per request.
var (
	requestPrefix = func() string {
		var b [4]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:]) + "-"
	}()
	requestCounter atomic.Uint64
)

// validRequestID accepts a proxy's or client's id only when it is short and
// plain, since it goes into every log line of the request.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	return requestPrefix + strconv.FormatUint(requestCounter.Add(1), 36)
}

// recoverPanics turns a handler panic into a 500 with cargo's error body, so
// one bad request never takes the server down.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic in handler", "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, crated.Errorf(crated.EINTERNAL, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaderValues are securityHeaderList as header map entries, made
// once: every response shares the value slices. Their capacity is their
// length, so a handler that adds to one gets a copy (append), and nothing
// in net/http or here writes into a header value in place.
var securityHeaderValues = func() []struct {
	name  string
	value []string
} {
	out := make([]struct {
		name  string
		value []string
	}, len(securityHeaderList))
	for i, kv := range securityHeaderList {
		out[i].name, out[i].value = kv[0], []string{kv[1]}[:1:1]
	}
	return out
}()

// securityHeaders sets headers that are right for every response.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range securityHeaderValues {
			h[kv.name] = kv.value
		}
		next.ServeHTTP(w, r)
	})
}

// remoteHost is the host part of the connection's address.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
