package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// vmRSS is the resident memory of this process (server and clients alike),
// from /proc/self/status.
func vmRSS(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status (%v): the memory bound is checked on Linux", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// TestLoginFlood: 150 anonymous password logins at once. Each check is an
// argon2id hash over 19 MiB; unbounded, they took the process from 45 MiB to
// 1.9 GB for 100 attempts. With the hashes bounded, resident memory grows by
// a small multiple of password_hash_concurrency × 19 MiB, the attempts that
// find no slot in time get 503 with Retry-After, and the index keeps
// answering meanwhile.
func TestLoginFlood(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) {
		// Fixed rather than one per CPU, so that the bound below does
		// not depend on the machine.
		c.Server.PasswordHashConcurrency = 2
		c.Server.PasswordHashWait = 100 * time.Millisecond
	})
	alice := srv.AddUser("alice")
	mustPublish(t, srv, alice, "flood", "1.0.0")

	const attempts = 150
	// The growth allowed: two hashes in flight are 38 MiB, the garbage
	// collector may let the heap reach twice the live memory, and the
	// 150 connections need buffers. Unbounded hashing needs 150 × 19 MiB.
	const bound = 400 << 20
	runtime.GC()
	debug.FreeOSMemory()
	base := vmRSS(t)

	var peak atomic.Int64
	peak.Store(base)
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if rss := vmRSS(t); rss > peak.Load() {
					peak.Store(rss)
				}
			}
		}
	})

	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: attempts}}
	defer client.CloseIdleConnections()
	type result struct {
		status     int
		retryAfter string
		err        error
	}
	results := make([]result, attempts)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() {
			<-start
			// Anonymous guesses: mostly names nobody has, some for alice.
			name := fmt.Sprintf("nobody%d", i)
			if i%10 == 0 {
				name = "alice"
			}
			resp, err := client.Post(srv.URL+"/ktra/api/v1/login/"+name, "application/json",
				bytes.NewReader([]byte(`{"password":"not the password"}`)))
			if err != nil {
				results[i].err = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i] = result{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
		})
	}
	close(start)

	// Reads meanwhile: the index of a crate and its config.
	for _, path := range []string{"/index/config.json", "/index/fl/oo/flood"} {
		code, body := indexFile(t, srv, strings.TrimPrefix(path, "/index/"))
		if code != http.StatusOK {
			t.Errorf("GET %s during the flood: %d %s", path, code, body)
		}
	}
	wg.Wait()
	close(stop)
	sampler.Wait()

	busy := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("attempt %d: %v", i, r.err)
		case r.status == http.StatusForbidden:
		case r.status == http.StatusServiceUnavailable || r.status == http.StatusTooManyRequests:
			busy++
			if r.retryAfter == "" {
				t.Errorf("attempt %d: %d without Retry-After", i, r.status)
			}
		default:
			t.Errorf("attempt %d: status %d, want 403, 429 or 503", i, r.status)
		}
	}
	if busy == 0 {
		t.Errorf("none of %d simultaneous logins was turned away with 429/503", attempts)
	}
	growth := peak.Load() - base
	t.Logf("resident memory: %d MiB before, peak %d MiB (+%d MiB); %d of %d attempts turned away",
		base>>20, peak.Load()>>20, growth>>20, busy, attempts)
	if growth > bound {
		t.Errorf("resident memory grew by %d MiB during %d logins, want at most %d MiB", growth>>20, attempts, bound>>20)
	}
}
