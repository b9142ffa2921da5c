// Package bench holds crated's benchmarks. The Go benchmarks here are quick
// local checks of the hot paths against an in-process crated (real SQLite,
// real files, real HTTP on loopback):
//
//	go test -run '^$' -bench . -benchtime 3s ./bench/
//
// They are for comparing a change with its parent on one machine. The
// numbers that count against crated's targets come from bench/run.sh, which
// runs the built binary next to nginx as a baseline (docs/performance.md).
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/crated/crated/bench/synth"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// fixture is a running crated holding crates 0..n-1 of synth, each with
// versions 0.1.0 to 0.1.(v-1), published through the real HTTP API.
type fixture struct {
	srv    *testenv.Crated
	token  string
	client *http.Client
	names  []string
}

func newFixture(tb testing.TB, crates, versions int) *fixture {
	tb.Helper()
	f := &fixture{
		// Benchmarks publish far faster than any team: no publish limit.
		srv:    testenv.StartCrated(tb, func(c *config.Config) { c.Server.PublishRateLimit = 0 }),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}},
	}
	f.token = f.srv.AddUser("bench")
	for j := 0; j < versions; j++ {
		for i := 0; i < crates; i++ {
			name := synth.Name(i)
			if j == 0 {
				f.names = append(f.names, name)
			}
			c := synth.New(name, synth.Version(j), synth.Small, "")
			if status, body := f.do(tb, http.MethodPut, "/api/v1/crates/new", synth.Frame(c.Metadata(), c.Tarball())); status != http.StatusOK {
				tb.Fatalf("publish %s %s: %d %s", name, c.Vers, status, body)
			}
		}
	}
	return f
}

// do sends one request and reads the whole answer.
func (f *fixture) do(tb testing.TB, method, path string, body []byte) (int, []byte) {
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Header.Set("Authorization", f.token)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, b
}

// get fetches path and fails unless it answers 200; it returns the body
// size. Safe for concurrent use.
func (f *fixture) get(tb testing.TB, path string) int64 {
	resp, err := f.client.Get(f.srv.URL + path)
	if err != nil {
		tb.Error(err)
		return 0
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Errorf("GET %s: %s", path, resp.Status)
	}
	return n
}

func reportRate(b *testing.B, unit string) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, unit)
	}
}

// TestFixture keeps the benchmarks' harness honest where CI runs tests but
// not benchmarks: what they publish is accepted, and the index files and
// downloads they read answer 200 with the published bytes.
func TestFixture(t *testing.T) {
	f := newFixture(t, 3, 2)
	status, body := f.do(t, http.MethodGet, "/index/"+synth.IndexPath(f.names[1]), nil)
	if status != http.StatusOK || bytes.Count(body, []byte("\n")) != 2 {
		t.Fatalf("index file: %d\n%s", status, body)
	}
	c := synth.New(f.names[2], "0.1.1", synth.Small, "")
	status, body = f.do(t, http.MethodGet, "/api/v1/crates/"+f.names[2]+"/0.1.1/download", nil)
	if status != http.StatusOK || !bytes.Equal(body, c.Tarball()) {
		t.Fatalf("download: %d, %d bytes, want the published %d", status, len(body), len(c.Tarball()))
	}
	big := synth.New("big-one", "1.0.0", synth.Large, f.names[0])
	if status, body := f.do(t, http.MethodPut, "/api/v1/crates/new", synth.Frame(big.Metadata(), big.Tarball())); status != http.StatusOK {
		t.Fatalf("publish of a real-sized crate: %d %s", status, body)
	}
}

// BenchmarkIndexRead reads sparse-index files of 10 versions each over
// keep-alive connections from GOMAXPROCS*4 goroutines:
//
//   - hot: the same file every time, from the cache;
//   - random: any of 500 crates, all cached after the first reads;
//   - miss: the crate's cache entry is dropped before each read, so every
//     read renders the file from SQLite, as after a publish or on a cold
//     cache with more crates than fit.
func BenchmarkIndexRead(b *testing.B) {
	f := newFixture(b, 500, 10)
	paths := make([]string, len(f.names))
	for i, n := range f.names {
		paths[i] = "/index/" + synth.IndexPath(n)
	}
	b.Run("hot", func(b *testing.B) {
		b.SetBytes(f.get(b, paths[250]))
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f.get(b, paths[250])
			}
		})
		reportRate(b, "req/s")
	})
	b.Run("random", func(b *testing.B) {
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(rand.Uint64(), 1))
			for pb.Next() {
				f.get(b, paths[r.IntN(len(paths))])
			}
		})
		reportRate(b, "req/s")
	})
	b.Run("miss", func(b *testing.B) {
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(rand.Uint64(), 2))
			for pb.Next() {
				i := r.IntN(len(paths))
				f.srv.Index.Invalidate(cargo.CanonicalName(f.names[i]))
				f.get(b, paths[i])
			}
		})
		reportRate(b, "req/s")
	})
}

// BenchmarkDownload reads one .crate of ~20 KB, the size of a typical real
// crate, from GOMAXPROCS*4 goroutines.
func BenchmarkDownload(b *testing.B) {
	f := newFixture(b, 1, 1)
	c := synth.New("download-me", "1.0.0", synth.Large, "")
	if status, body := f.do(b, http.MethodPut, "/api/v1/crates/new", synth.Frame(c.Metadata(), c.Tarball())); status != http.StatusOK {
		b.Fatalf("publish: %d %s", status, body)
	}
	b.SetBytes(int64(len(c.Tarball())))
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.get(b, "/api/v1/crates/download-me/1.0.0/download")
		}
	})
	reportRate(b, "req/s")
}

// BenchmarkPublish publishes real-sized crates (~20 KB .crate, see
// bench/synth) through the HTTP API: the whole path of a cargo publish,
// frame parsing, archive checks, blob write with fsync and the SQLite
// transaction. new: each publish creates a crate; version: each adds a
// version to one of 100 crates. The bodies are built before the timer
// starts; 8 publishes are in flight at once, as from several CI jobs.
func BenchmarkPublish(b *testing.B) {
	for _, mode := range []string{"new", "version"} {
		b.Run(mode, func(b *testing.B) {
			f := newFixture(b, 0, 0)
			frames := make([][]byte, b.N)
			for i := range frames {
				name, vers := fmt.Sprintf("pub-%s-%d", mode, i), "1.0.0"
				if mode == "version" {
					name, vers = fmt.Sprintf("pub-version-%d", i%100), synth.Version(i/100)
				}
				c := synth.New(name, vers, synth.Large, "")
				frames[i] = synth.Frame(c.Metadata(), c.Tarball())
			}
			if mode == "version" {
				// Every crate exists, with version 0.0.1, before the timer starts.
				for i := range min(100, len(frames)) {
					c := synth.New(fmt.Sprintf("pub-version-%d", i), "0.0.1", synth.Small, "")
					if status, body := f.do(b, http.MethodPut, "/api/v1/crates/new", synth.Frame(c.Metadata(), c.Tarball())); status != http.StatusOK {
						b.Fatalf("publish: %d %s", status, body)
					}
				}
			}
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut, f.srv.URL+"/api/v1/crates/new", bytes.NewReader(frames[i]))
					req.Header.Set("Authorization", f.token)
					resp, err := f.client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("publish %d: %s %s", i, resp.Status, body)
						return
					}
				}
			})
			reportRate(b, "publishes/s")
		})
	}
}
