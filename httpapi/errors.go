package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/crated/crated"
)

// codes is the one table from the error vocabulary to HTTP statuses.
var codes = map[string]int{
	crated.EINVALID:      http.StatusBadRequest,
	crated.EUNAUTHORIZED: http.StatusUnauthorized,
	crated.EFORBIDDEN:    http.StatusForbidden,
	crated.ENOTFOUND:     http.StatusNotFound,
	crated.ECONFLICT:     http.StatusConflict,
	crated.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	crated.ERATELIMIT:    http.StatusTooManyRequests,
	crated.EINTERNAL:     http.StatusInternalServerError,
	crated.EUNAVAILABLE:  http.StatusServiceUnavailable,
	crated.EBADGATEWAY:   http.StatusBadGateway,
	crated.ENOTIMPL:      http.StatusNotImplemented,
}

// Status returns the HTTP status for err.
func Status(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	if s, ok := codes[crated.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// message is what the user sees: the error's own message for expected
// errors, a generic text for internal ones (which are logged instead).
func message(err error) string {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return "request body is too large"
	}
	return crated.ErrorMessage(err)
}

type errorBody struct {
	Errors []errorDetail `json:"errors"`
}

type errorDetail struct {
	Detail string `json:"detail"`
}

// writeError renders err as cargo's error body with a real error status, and
// logs by severity: server faults at Error, client mistakes at Debug.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	log := s.log
	status := Status(err)
	switch {
	case crated.RetryAfter(err) > 0:
		// Load shed on purpose (a full password-hash queue, a rate
		// limit): worth seeing, but not an error of the server, and a
		// flood must not fill the error log.
		log.WarnContext(r.Context(), "request shed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	case status >= 500:
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	default:
		log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if d := crated.RetryAfter(err); d > 0 {
		// Whole seconds, rounded up: "Retry-After: 0" would invite an
		// immediate retry.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Cargo login_url="`+s.cfg.BaseURL+`/me"`)
	}
	writeJSON(w, status, errorBody{Errors: []errorDetail{{Detail: message(err)}}})
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"detail":"internal error"}]}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte{'\n'})
}
