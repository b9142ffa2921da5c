package s3

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// errTimeout is the cause of a context that a store's deadline ended.
var errTimeout = errors.New("the object store did not answer in time")

// watchdog ends a context when the object store keeps it waiting for
// longer than a timeout. The clock runs only while the store is waited on:
// a transfer may last as long as it keeps moving, and time spent by the
// other side (a client reading a download slowly, a publisher sending its
// crate) is not the store's.
type watchdog struct {
	timeout time.Duration
	cancel  context.CancelCauseFunc
	mu      sync.Mutex
	timer   *time.Timer
}

// newWatchdog returns a context derived from ctx and its watchdog, whose
// clock is running: the store is waited on from now.
func newWatchdog(ctx context.Context, timeout time.Duration) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{timeout: timeout, cancel: cancel}
	w.timer = time.AfterFunc(timeout, func() { cancel(errTimeout) })
	return ctx, w
}

// wait restarts the clock: the store is waited on again, for another
// timeout at most.
func (w *watchdog) wait() {
	w.mu.Lock()
	w.timer.Reset(w.timeout)
	w.mu.Unlock()
}

// pause stops the clock: what happens now is not the store's doing.
func (w *watchdog) pause() {
	w.mu.Lock()
	w.timer.Stop()
	w.mu.Unlock()
}

// stop stops the clock for good and releases the context.
func (w *watchdog) stop() {
	w.pause()
	w.cancel(context.Canceled)
}

// uploadBody is the body of a PUT. The store is waited on between reads of
// the body (while it takes what was read) and after the last one (for its
// answer); not while the content is read, which may come from a client.
type uploadBody struct {
	r io.Reader
	w *watchdog
}

func (b *uploadBody) Read(p []byte) (int, error) {
	b.w.pause()
	defer b.w.wait()
	return b.r.Read(p)
}

// seekableUploadBody keeps the body's Seek, which lets the client retry a
// failed PUT.
type seekableUploadBody struct {
	uploadBody
	s io.Seeker
}

func (b *seekableUploadBody) Seek(offset int64, whence int) (int64, error) {
	return b.s.Seek(offset, whence)
}

func newUploadBody(r io.Reader, w *watchdog) io.Reader {
	b := uploadBody{r: r, w: w}
	if s, ok := r.(io.Seeker); ok {
		return &seekableUploadBody{b, s}
	}
	return &b
}
