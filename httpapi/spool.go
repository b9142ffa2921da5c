package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/crated/crated"
)

// spoolMemory is how much of a publish body is kept in memory; the rest
// goes to a temporary file. Most crates are smaller, and a client that
// sends a large body slowly (or stalls) costs disk until read_timeout cuts
// it off, not memory: 30 stalled 10 MiB uploads held 480 MiB of heap when
// the frame was read straight from the connection.
const spoolMemory = 256 << 10

// spooled is a publish body received in full, in memory or in an unlinked
// temporary file. Len reports the bytes left so that cargo.ReadFrame
// allocates each part once, at its final size.
type spooled struct {
	r         io.Reader
	mem       *bytes.Buffer // the body, when it is in memory
	f         *os.File
	remaining int64
}

func (s *spooled) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.remaining -= int64(n)
	return n, err
}

// Take returns the next n bytes of a body held in memory without copying
// them (cargo.ReadFrame takes the tarball this way), or nil for a body in a
// file or shorter than n. The bytes stay valid: the buffer is never reused.
func (s *spooled) Take(n int) []byte {
	if s.mem == nil || s.mem.Len() < n {
		return nil
	}
	b := s.mem.Next(n)
	s.remaining -= int64(len(b))
	return b
}

func (s *spooled) Len() int { return int(s.remaining) }

func (s *spooled) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	os.Remove(s.f.Name()) // already unlinked where the system allows it
	return err
}

// spool reads the whole body before the publish looks at it: up to
// spoolMemory into memory, beyond into a temporary file in dir ("" is the
// system's). size is the body's declared length (negative when unknown):
// the buffer is made that large at once, up to spoolMemory, rather than
// doubled six times on the way to a typical crate. Beyond spoolMemory,
// memory grows only as bytes arrive.
func spool(body io.Reader, dir string, size int64) (*spooled, error) {
	buf := new(bytes.Buffer)
	if size > 0 {
		// bytes.Buffer.ReadFrom wants bytes.MinRead free to read the EOF.
		buf.Grow(int(min(size, spoolMemory)) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(body, spoolMemory))
	if err != nil {
		return nil, bodyError(err)
	}
	if n < spoolMemory {
		return &spooled{r: buf, mem: buf, remaining: n}, nil
	}
	f, err := os.CreateTemp(dir, "crated-publish-*")
	if err != nil {
		return nil, crated.Errorf(crated.EINTERNAL, "spooling the publish body: %v", err)
	}
	// Unlinked at once: a crash leaves nothing behind.
	os.Remove(f.Name())
	s := &spooled{r: f, f: f}
	if _, err := f.Write(buf.Bytes()); err != nil {
		s.Close()
		return nil, crated.Errorf(crated.EINTERNAL, "spooling the publish body: %v", err)
	}
	rest, err := io.Copy(onlyWriter{f}, body)
	if err != nil {
		s.Close()
		var werr writeError
		if errors.As(err, &werr) {
			return nil, crated.Errorf(crated.EINTERNAL, "spooling the publish body: %v", werr.err)
		}
		return nil, bodyError(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		s.Close()
		return nil, crated.Errorf(crated.EINTERNAL, "spooling the publish body: %v", err)
	}
	s.remaining = n + rest
	return s, nil
}

// onlyWriter hides the file's ReadFrom, so that io.Copy's errors can be told
// apart: a failed write is ours, a failed read the client's.
type onlyWriter struct{ f *os.File }

type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }

func (w onlyWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		return n, writeError{err}
	}
	return n, nil
}

// bodyError maps a failure to read a request body, which is the client's
// doing (it stalled, went away, sent too much), to an error status, so that
// it is not logged as a server fault.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err // 413
	case errors.Is(err, os.ErrDeadlineExceeded):
		return crated.Errorf(crated.EINVALID, "the request body did not arrive in time (server_config.read_timeout)")
	}
	return crated.Errorf(crated.EINVALID, "reading the request body: %v", err)
}

// smallBodyTimeout bounds the time to receive the small JSON and form
// bodies of the login API: a few KiB that any client sends at once.
const smallBodyTimeout = 30 * time.Second

// limitBodyTime shortens the read deadline of a small body to
// smallBodyTimeout when read_timeout allows more, so that a client that
// declares a body and stalls is cut off soon.
func (s *Server) limitBodyTime(w http.ResponseWriter) {
	if s.cfg.ReadTimeout > 0 && s.cfg.ReadTimeout <= smallBodyTimeout {
		return
	}
	// An error means the connection cannot take a deadline (a test's
	// recorder); read_timeout still applies.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(smallBodyTimeout))
}
