package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A response that keeps writing outlives write_timeout under
// ProgressDeadline (a large git clone), and is cut without it.
func TestProgressDeadline(t *testing.T) {
	const chunks = 6
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < chunks; i++ {
			io.WriteString(w, strings.Repeat("x", 1000)+"\n")
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond)
		}
	})
	get := func(h http.Handler) int {
		srv := httptest.NewUnstartedServer(h)
		srv.Config.WriteTimeout = time.Second // the answer takes 1.8 s
		srv.Start()
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Count(string(b), "\n")
	}
	if n := get(ProgressDeadline(slow, time.Second)); n != chunks {
		t.Errorf("with ProgressDeadline: %d of %d chunks arrived", n, chunks)
	}
	if n := get(slow); n == chunks {
		t.Errorf("without ProgressDeadline the whole answer arrived: the test cannot tell")
	}
}
