package gitindex_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/index/git"
)

// bigIndex returns an index whose pack (about 300 KB) is far larger than
// what sockets with small buffers hold, and its head commit. Its bulk is a
// config.json with random content, which does not compress.
func bigIndex(t *testing.T, sendTimeout time.Duration) (*gitindex.Index, string) {
	t.Helper()
	st := openStore(t)
	publish(t, st, user(t, st), "alpha", "0.1.0")
	noise := make([]byte, 256<<10)
	rand.Read(noise)
	configJSON := fmt.Sprintf(`{"dl":"http://127.0.0.1:1/dl","api":"http://127.0.0.1:1","noise":%q}`, hex.EncodeToString(noise))
	ix, cfg := openIndex(t, st, func(c *gitindex.Config) {
		c.ConfigJSON = []byte(configJSON)
		c.SendTimeout = sendTimeout
	})
	mustSync(t, ix)
	return ix, readBranch(t, cfg.Dir, "main").commit.String()
}

// smallBuffers makes the server's sockets buffer little, so that a pack
// fills what the kernel holds and the server's writes block on a client
// that does not read.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// stalledAgent marks the requests of stalledFetch.
const stalledAgent = "stalled-client"

// serveSmall serves ix as the app does, over sockets with small buffers.
// done receives one value each time a request of stalledFetch is over.
func serveSmall(t *testing.T, ix *gitindex.Index) (base string, done chan struct{}) {
	t.Helper()
	done = make(chan struct{}, 64)
	h := http.StripPrefix("/git/index", ix.Handler())
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.UserAgent() == stalledAgent {
			done <- struct{}{}
		}
	}))
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/git/index", done
}

// stalledFetch asks for the whole pack of head and never reads the answer.
// The connection is closed when the test ends.
func stalledFetch(t *testing.T, base, head string) {
	t.Helper()
	host, _, _ := strings.Cut(strings.TrimPrefix(base, "http://"), "/")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.(*net.TCPConn).SetReadBuffer(4096)
	body := pkt("want "+head+" multi_ack_detailed ofs-delta\n") + "0000" + pkt("done\n")
	_, err = fmt.Fprintf(c, "POST /git/index/git-upload-pack HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"+
		"Content-Type: application/x-git-upload-pack-request\r\nContent-Length: %d\r\n\r\n%s",
		host, stalledAgent, len(body), body)
	if err != nil {
		t.Fatal(err)
	}
}

// Clients that ask for a pack and never read it do not keep others from
// fetching: a pack slot covers building a pack, not sending it.
func TestStalledClientsDoNotBlockClone(t *testing.T) {
	needGit(t)
	// The stalled clients are not cut off during the test: the clone
	// must succeed while they still hold their connections.
	ix, head := bigIndex(t, time.Hour)
	base, done := serveSmall(t, ix)
	const stalled = 8 // twice the pack slots
	for range stalled {
		stalledFetch(t, base, head)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	work := t.TempDir()
	cmd := exec.CommandContext(ctx, needGit(t), "clone", "-q", base, filepath.Join(work, "clone"))
	cmd.WaitDelay = 5 * time.Second // git's helper processes outlive a killed git
	cmd.Env = append(cmd.Environ(), "HOME="+work, "XDG_CONFIG_HOME="+work, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone with %d stalled clients: %v (context: %v)\n%s", stalled, err, ctx.Err(), out)
	}
	// The test means something only if the stalled clients are still
	// stuck in their answers.
	select {
	case <-done:
		t.Fatal("a stalled client's answer completed: the pack is too small to test with")
	default:
	}
}

// A client that stops reading is cut off after SendTimeout, which ends its
// request and frees its pack.
func TestStalledClientCutOff(t *testing.T) {
	ix, head := bigIndex(t, 100*time.Millisecond)
	base, done := serveSmall(t, ix)
	stalledFetch(t, base, head)
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the request of a client that never reads is still being served")
	}
}
