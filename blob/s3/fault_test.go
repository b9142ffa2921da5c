package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/blobtest"
	"github.com/crated/crated/blob/s3"
)

// fakeS3 is an object store with one bucket holding one object, that can
// be told to stall or to fail.
type fakeS3 struct {
	t        *testing.T
	mode     atomic.Int32
	requests atomic.Int32 // requests since the last setMode
	ranges   atomic.Value // the Range header of the last request
	methods  chan string  // method of every object request
	content  []byte
	key      string
	stop     chan struct{} // closed when the test ends: stalls end
}

const (
	modeOK        = iota
	modeStall     // no answer at all
	modeFail      // 500 InternalError to every request
	modeStallBody // object GETs send their headers and half the body, then stall
)

const fakeBucket = "bucket"

func newFakeS3(t *testing.T) (*fakeS3, *httptest.Server) {
	f := &fakeS3{t: t, stop: make(chan struct{}), methods: make(chan string, 100)}
	f.content = bytes.Repeat([]byte("crate content "), 10000)
	f.key = blobtest.Key(f.content)
	f.ranges.Store("")
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.stop)
		srv.Close()
	})
	return f, srv
}

func (f *fakeS3) setMode(m int32) {
	f.mode.Store(m)
	f.requests.Store(0)
}

func (f *fakeS3) stall(r *http.Request) {
	select {
	case <-f.stop:
	case <-r.Context().Done():
	}
}

func (f *fakeS3) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.ranges.Store(r.Header.Get("Range"))
	bucket, object, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if object != "" {
		select {
		case f.methods <- r.Method:
		default:
		}
	}
	switch f.mode.Load() {
	case modeStall:
		f.stall(r)
		return
	case modeFail:
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		if r.Method != http.MethodHead {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>`)
		}
		return
	}
	if bucket != fakeBucket {
		http.NotFound(w, r)
		return
	}
	switch {
	case object == "" && r.URL.Query().Get("list-type") == "2":
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`)
	case object == "":
		w.WriteHeader(http.StatusOK) // the bucket exists
	case r.Method == http.MethodPut:
		io.Copy(io.Discard, r.Body)
		w.Header().Set("ETag", `"0123456789abcdef"`)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case !strings.HasSuffix(object, f.key):
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`)
	default:
		f.serveObject(w, r)
	}
}

func (f *fakeS3) serveObject(w http.ResponseWriter, r *http.Request) {
	body := f.content
	h := w.Header()
	h.Set("Last-Modified", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Format(http.TimeFormat))
	h.Set("ETag", `"0123456789abcdef"`)
	h.Set("Content-Type", "application/gzip")
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" {
		from, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || from >= len(body) {
			f.t.Errorf("fake S3: unexpected range %q", rg)
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		h.Set("Content-Range", "bytes "+strconv.Itoa(from)+"-"+strconv.Itoa(len(body)-1)+"/"+strconv.Itoa(len(body)))
		body, status = body[from:], http.StatusPartialContent
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if f.mode.Load() == modeStallBody {
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		f.stall(r)
		return
	}
	w.Write(body)
}

// fakeStore opens a store on a fake S3 with a short timeout.
func fakeStore(t *testing.T, retries int) (*fakeS3, *s3.Store) {
	return fakeStoreTimeout(t, retries, 300*time.Millisecond)
}

func fakeStoreTimeout(t *testing.T, retries int, timeout time.Duration) (*fakeS3, *s3.Store) {
	t.Helper()
	f, srv := newFakeS3(t)
	s, err := s3.New(context.Background(), s3.Config{
		Endpoint:   srv.URL,
		Region:     "us-east-1",
		Bucket:     fakeBucket,
		AccessKey:  "access",
		SecretKey:  "secret",
		Timeout:    timeout,
		MaxRetries: &retries,
	})
	if err != nil {
		t.Fatalf("s3.New on the fake store: %v", err)
	}
	return f, s
}

// within runs op and fails the test if it has not returned after a minute:
// far longer than the store's timeout, but far shorter than minio-go's own
// waits (60 s per attempt, ten attempts).
func within(t *testing.T, op func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the operation still waits on the object store")
		return nil
	}
}

// Every operation on a store that stalls or fails ends, with EUNAVAILABLE.
func TestStoreFaultsAreUnavailable(t *testing.T) {
	content := []byte("published crate")
	key := blobtest.Key(content)
	for _, mode := range []struct {
		name string
		mode int32
	}{{"stall", modeStall}, {"fail", modeFail}} {
		t.Run(mode.name, func(t *testing.T) {
			f, s := fakeStore(t, 1)
			f.setMode(mode.mode)
			ctx := context.Background()
			ops := map[string]func() error{
				"Put":  func() error { return s.Put(ctx, key, bytes.NewReader(content), int64(len(content))) },
				"Open": func() error { _, err := s.Open(ctx, f.key); return err },
				"Stat": func() error { _, err := s.Stat(ctx, f.key); return err },
				"Delete": func() error {
					return s.Delete(ctx, f.key)
				},
				"Walk":        func() error { return s.Walk(ctx, func(string) error { return nil }) },
				"Ping":        func() error { return s.Ping(ctx) },
				"Put unknown": func() error { return s.Put(ctx, key, io.MultiReader(bytes.NewReader(content)), -1) },
			}
			for name, op := range ops {
				err := within(t, op)
				if code := crated.ErrorCode(err); code != crated.EUNAVAILABLE {
					t.Errorf("%s: %v (code %q), want EUNAVAILABLE", name, err, code)
				}
			}
		})
	}
}

// A failing request is tried again as many times as configured, no more.
func TestRetryBudget(t *testing.T) {
	for _, retries := range []int{0, 2} {
		// A timeout long enough for every retry and its backoff.
		f, s := fakeStoreTimeout(t, retries, time.Minute)
		f.setMode(modeFail)
		if _, err := s.Stat(context.Background(), f.key); crated.ErrorCode(err) != crated.EUNAVAILABLE {
			t.Errorf("Stat: %v, want EUNAVAILABLE", err)
		}
		if got := f.requests.Load(); got != int32(retries+1) {
			t.Errorf("%d retries: %d requests, want %d", retries, got, retries+1)
		}
	}
}

// Open sends one GET, which gives both the size and the content; a seek
// elsewhere reads on with a ranged GET.
func TestOpenIsOneGet(t *testing.T) {
	f, s := fakeStore(t, 1)
	f.setMode(modeOK)
	for len(f.methods) > 0 {
		<-f.methods // the start check's requests
	}
	b, err := s.Open(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != int64(len(f.content)) {
		t.Errorf("Size = %d, want %d", b.Size(), len(f.content))
	}
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, f.content) {
		t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
	}
	if n := f.requests.Load(); n != 1 || <-f.methods != http.MethodGet {
		t.Errorf("Open and a whole read sent %d requests, want one GET", n)
	}
	if _, err := b.Seek(1000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(b)
	if err != nil || !bytes.Equal(got, f.content[1000:]) {
		t.Fatalf("ReadAll after Seek: %d bytes, %v", len(got), err)
	}
	if rg := f.ranges.Load(); rg != "bytes=1000-" {
		t.Errorf("read after seek sent Range %q", rg)
	}
	if _, err := s.Open(context.Background(), blobtest.Key([]byte("absent"))); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("Open of a missing blob: %v, want ENOTFOUND", err)
	}
}

// A download whose store stops sending mid-way fails after the timeout;
// a reader that takes its time does not.
func TestDownloadIdleTimeout(t *testing.T) {
	f, s := fakeStore(t, 1)
	f.setMode(modeStallBody)
	b, err := s.Open(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = within(t, func() error { _, err := io.ReadAll(b); return err })
	if crated.ErrorCode(err) != crated.EUNAVAILABLE {
		t.Errorf("reading a stalled download: %v, want EUNAVAILABLE", err)
	}

	f.setMode(modeOK)
	b, err = s.Open(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	head := make([]byte, 100)
	if _, err := io.ReadFull(b, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // three timeouts, spent by the reader
	rest, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(append(head, rest...), f.content) {
		t.Errorf("slow reader: %d bytes, %v", len(head)+len(rest), err)
	}
}

// The caller's own cancellation is not a store failure.
func TestCallerCancelStaysCanceled(t *testing.T) {
	f, s := fakeStore(t, 1)
	f.setMode(modeStall)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Stat(ctx, f.key)
	if !errors.Is(err, context.Canceled) || crated.ErrorCode(err) == crated.EUNAVAILABLE {
		t.Errorf("Stat with a canceled context: %v", err)
	}
}
