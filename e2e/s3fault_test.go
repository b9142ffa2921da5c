package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// An object store that stalls or fails makes publishes and downloads answer
// 503 within crate_files_config.s3_timeout, whatever the operation, instead
// of waiting on the store for minutes.
func TestS3StoreFaults(t *testing.T) {
	endpoint, access, secret, bucket := testenv.S3Bucket(t)
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// A proxy in front of the real store that can stall or fail. It keeps
	// the Host header, which the request signatures cover.
	const (
		pass = iota
		stall
		fail
	)
	var mode atomic.Int32
	stop := make(chan struct{})
	proxy := httputil.NewSingleHostReverseProxy(target)
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case stall:
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		case fail:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			if r.Method != http.MethodHead {
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>internal error</Message></Error>`)
			}
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(func() {
		close(stop)
		store.Close()
	})

	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.CrateFiles.S3Bucket, c.CrateFiles.S3Endpoint = bucket, store.URL
		c.CrateFiles.S3AccessKey, c.CrateFiles.S3SecretKey = access, secret
		c.CrateFiles.S3Timeout = time.Second
		c.CrateFiles.S3MaxRetries = 0
	})
	alice := srv.AddUser("alice")
	publish := func(vers string) int {
		code, _, _ := do(t, "PUT", srv.URL+"/api/v1/crates/new", alice,
			testenv.Frame(testenv.Metadata("faulty", vers), testenv.Tarball(t, testenv.CrateFiles("faulty", vers)...)))
		return code
	}
	download := func(vers string) (int, []byte) {
		code, body, _ := do(t, "GET", srv.URL+"/api/v1/crates/faulty/"+vers+"/download", "", nil)
		return code, body
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if code := publish(v); code != http.StatusOK {
			t.Fatalf("publish %s with a healthy store: %d", v, code)
		}
	}
	// 1.0.0 is downloaded while the store is healthy, so crated keeps it
	// in its memory cache of small crates; 1.1.0 never is, so its download
	// during the fault must reach the store.
	if code, _ := download("1.0.0"); code != http.StatusOK {
		t.Fatalf("download with a healthy store: %d", code)
	}

	for _, m := range []struct {
		name string
		mode int32
	}{{"stalled", stall}, {"failing", fail}} {
		mode.Store(m.mode)
		for op, call := range map[string]func() (int, []byte){
			"download": func() (int, []byte) { return download("1.1.0") },
			"publish":  func() (int, []byte) { return publish("2.0.0"), nil },
		} {
			code, body := call()
			if code != http.StatusServiceUnavailable {
				t.Errorf("%s with a %s store: status %d, want 503", op, m.name, code)
			}
			if body != nil && !json.Valid(body) {
				t.Errorf("%s with a %s store: body is not cargo's JSON error: %q", op, m.name, body)
			}
		}
		// A crate already in memory is still served: a store outage does
		// not stop the builds that use it.
		if code, _ := download("1.0.0"); code != http.StatusOK {
			t.Errorf("download of a cached crate with a %s store: %d, want 200", m.name, code)
		}
	}
}
