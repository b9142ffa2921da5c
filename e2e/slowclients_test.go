package e2e

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// Stalled-body load test (hardening finding 1). With read_timeout set, 300
// clients that declare a login body and send one byte, and 20 authenticated
// publishes that send 8 MiB of a declared 9 MiB crate and stall, are all cut
// off by the server; while they stall, the heap they cost stays small (the
// publish body is spooled to disk beyond 256 KiB) and the index still
// answers.
//
// Without read_timeout applied, no connection is ever closed (the test
// fails after its generous wait); reading the publish frame straight from
// the connection held 8 MiB or more of heap per stalled publish, which the
// heap bound catches.
func TestStalledBodiesAreCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const (
		logins      = 300
		publishes   = 20
		sent        = 8 << 20 // bytes of the crate each stalled publish sends
		declared    = 9 << 20 // the crate length it announces
		heapGrowth  = 48 << 20
		closedBound = 90 * time.Second // generous: the timeout is 2 s
	)
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.Server.ReadTimeout = 2 * time.Second
		// One address opens every connection: the limiters would refuse
		// most of them before they stall, which is not what is tested.
		c.Server.LoginRateLimit = 0
		c.Server.TokenRateLimit = 0
		c.Server.PublishRateLimit = 0
	})
	token := srv.AddUser("alice")
	good := testenv.Frame(testenv.Metadata("steady", "1.0.0"), testenv.Tarball(t, testenv.CrateFiles("steady", "1.0.0")...))
	if st, b, _ := do(t, "PUT", srv.URL+"/api/v1/crates/new", token, good); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	host := strings.TrimPrefix(srv.URL, "http://")

	baseline := liveHeap()

	// Every connection ends up in closed: nil when the server closed it,
	// an error when it was still open after closedBound.
	var wg sync.WaitGroup
	closed := make(chan error, logins+publishes)
	waitClosed := func(c net.Conn, what string) {
		c.SetReadDeadline(time.Now().Add(closedBound))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			closed <- fmt.Errorf("%s: still open after %s", what, closedBound)
			return
		}
		closed <- nil // EOF or reset: the server closed it
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	for i := 0; i < logins; i++ {
		c := dial()
		fmt.Fprintf(c, "POST /ktra/api/v1/login/alice HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", host)
		wg.Add(1)
		go func() { defer wg.Done(); waitClosed(c, "stalled login") }()
	}

	meta := testenv.Metadata("stalled", "1.0.0")
	head := make([]byte, 0, 8+len(meta))
	head = binary.LittleEndian.AppendUint32(head, uint32(len(meta)))
	head = append(head, meta...)
	head = binary.LittleEndian.AppendUint32(head, declared)
	payload := make([]byte, sent) // shared by every client: no client-side heap per connection
	var sends sync.WaitGroup
	var whole atomic.Int32 // publishes that got all 8 MiB out
	for i := 0; i < publishes; i++ {
		c := dial()
		sends.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := bufio.NewWriter(c)
			fmt.Fprintf(w, "PUT /api/v1/crates/new HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n", host, token, len(head)+declared)
			w.Write(head)
			w.Flush()
			// Blocks while the server reads; fails once it cuts us off.
			if n, _ := c.Write(payload); n == len(payload) {
				whole.Add(1)
			}
			sends.Done()
			waitClosed(c, "stalled publish")
		}()
	}
	sends.Wait()

	// Every stalled publish has sent its 8 MiB (or was already cut off):
	// this is when a server that buffers bodies holds the most.
	grown := int64(liveHeap()) - int64(baseline)
	t.Logf("live heap grew by %d MiB with %d stalled logins and %d stalled publishes, %d of which sent all 8 MiB (VmRSS %d MiB)", grown>>20, logins, publishes, whole.Load(), vmRSS(t)>>20)
	if grown > heapGrowth {
		t.Errorf("live heap grew by %d MiB while %d publishes stalled, want at most %d MiB: publish bodies are held in memory", grown>>20, publishes, heapGrowth>>20)
	}

	// Meanwhile the index answers.
	for _, p := range []string{"/index/config.json", "/index/st/ea/steady"} {
		if st, b, _ := do(t, "GET", srv.URL+p, "", nil); st != 200 {
			t.Errorf("GET %s while clients stall: %d %s", p, st, b)
		}
	}

	wg.Wait()
	close(closed)
	open := 0
	for err := range closed {
		if err != nil {
			if open < 3 {
				t.Error(err)
			}
			open++
		}
	}
	if open > 0 {
		t.Errorf("%d of %d stalled connections were not closed by the server", open, logins+publishes)
	}
}

// liveHeap is the heap still reachable after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
