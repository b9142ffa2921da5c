package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crated/crated/internal/testenv"
)

// BenchmarkIndexWarm compares serving one index file on a warm cache: the
// private index, the mirror, and the combined index for a private and a
// mirrored name. Requests go through the whole handler chain (middleware,
// metrics) in process, without the network, so the ratio is the mirror's
// own overhead.
func BenchmarkIndexWarm(b *testing.B) {
	up := testenv.StartCrated(b)
	upToken := up.AddUser("upstream")
	srv := testenv.StartCrated(b, mirrorOf(up))
	token := srv.AddUser("local")
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"} {
		benchPublish(b, up, upToken, "leftpad", v)
		benchPublish(b, srv, token, "rightpad", v)
	}
	h := srv.HTTP.Handler()
	for _, bc := range []struct{ name, path string }{
		{"private", "/index/ri/gh/rightpad"},
		{"mirror", "/mirror/index/le/ft/leftpad"},
		{"all-private", "/all/index/ri/gh/rightpad"},
		{"all-mirrored", "/all/index/le/ft/leftpad"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.path, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req) // warm
			if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
				b.Fatalf("GET %s: %d %s", bc.path, rec.Code, rec.Body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", bc.path, rec.Code)
				}
			}
		})
	}
}

func benchPublish(b *testing.B, srv *testenv.Crated, token, name, vers string) {
	frame := testenv.Frame(testenv.Metadata(name, vers), testenv.Tarball(b, testenv.CrateFiles(name, vers)...))
	if code, body, err := rawPublish(srv.URL, token, frame); err != nil || code != 200 {
		b.Fatalf("publish %s %s: %d %s %v", name, vers, code, body, err)
	}
}
