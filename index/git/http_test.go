package gitindex_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crated/crated/index/git"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// serve mounts the index's handler as the app does, at /git/index/ with the
// prefix stripped, and counts the bytes of upload-pack responses.
func serve(t *testing.T, ix *gitindex.Index) (url string, stats *serveStats) {
	t.Helper()
	stats = &serveStats{}
	mux := http.NewServeMux()
	h := http.StripPrefix("/git/index", ix.Handler())
	mux.Handle("/git/index/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Git-Protocol"), "version=2") {
			stats.v2.Add(1)
		}
		if strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			stats.posts.Add(1)
			w = &countingWriter{ResponseWriter: w, n: &stats.bytes}
		}
		h.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/git/index", stats
}

// serveStats counts upload-pack requests and the bytes answered.
type serveStats struct{ posts, bytes, v2 atomic.Int64 }

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// runGit runs the git program with a clean configuration.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(t, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

func gitCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(needGit(t), args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCloneWithGoGit(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	publish(t, st, uid, "beta", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	url, _ := serve(t, ix)

	dir := t.TempDir()
	clone, err := gogit.PlainClone(dir, true, &gogit.CloneOptions{URL: url})
	if err != nil {
		t.Fatalf("clone %s: %v", url, err)
	}
	if got, want := branchOf(t, clone, "refs/heads/main"), readBranch(t, cfg.Dir, "main"); got.commit != want.commit {
		t.Fatalf("cloned %s, index at %s", got.commit, want.commit)
	}
	wantFiles(t, st, branchOf(t, clone, "HEAD"), testConfigJSON, "alpha", "beta")

	// go-git's shallow clone: the whole index too.
	shallow, err := gogit.PlainClone(t.TempDir(), true, &gogit.CloneOptions{URL: url, Depth: 1})
	if err != nil {
		t.Fatalf("shallow clone %s: %v", url, err)
	}
	wantFiles(t, st, branchOf(t, shallow, "HEAD"), testConfigJSON, "alpha", "beta")

	// An incremental fetch offers what the clone has.
	publish(t, st, uid, "alpha", "0.2.0")
	mustSync(t, ix, "alpha")
	err = clone.Fetch(&gogit.FetchOptions{RefSpecs: []config.RefSpec{"+refs/heads/*:refs/heads/*"}})
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	got := branchOf(t, clone, "refs/heads/main")
	if want := readBranch(t, cfg.Dir, "main"); got.commit != want.commit {
		t.Fatalf("fetched %s, index at %s", got.commit, want.commit)
	}
	wantFiles(t, st, got, testConfigJSON, "alpha", "beta")
}

func TestCloneWithGitCLI(t *testing.T) {
	needGit(t)
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	url, _ := serve(t, ix)

	for _, proto := range []string{"0", "2"} {
		t.Run("protocol v"+proto, func(t *testing.T) {
			work := t.TempDir()
			runGit(t, work, "-c", "protocol.version="+proto, "clone", "-q", url, "clone")
			clone := filepath.Join(work, "clone")
			if got := runGit(t, clone, "show", "HEAD:config.json"); got != testConfigJSON {
				t.Errorf("config.json in the clone: %s", got)
			}
			if got := runGit(t, clone, "rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
				t.Errorf("the clone checked out %q, want main (from the symref)", got)
			}
			publish(t, st, uid, "alpha", "0.2."+proto)
			mustSync(t, ix, "alpha")
			runGit(t, clone, "-c", "protocol.version="+proto, "fetch", "-q", "origin")
			if got, want := runGit(t, clone, "rev-parse", "origin/main"), readBranch(t, cfg.Dir, "main").commit.String(); got != want {
				t.Errorf("fetched %s, index at %s", got, want)
			}
			if body := runGit(t, clone, "show", "origin/main:al/ph/alpha"); !strings.Contains(body, `"vers":"0.2.`+proto+`"`) {
				t.Errorf("alpha after fetch:\n%s", body)
			}
			runGit(t, clone, "fsck", "--strict")
			if out := runGit(t, work, "ls-remote", url); !strings.Contains(out, "HEAD") || !strings.Contains(out, "refs/heads/main") {
				t.Errorf("ls-remote:\n%s", out)
			}
		})
	}
	// The repository itself is well formed (tree order, modes, commits).
	runGit(t, cfg.Dir, "fsck", "--strict")

	// Pushing is refused.
	clone := filepath.Join(t.TempDir(), "c")
	runGit(t, filepath.Dir(clone), "clone", "-q", url, clone)
	runGit(t, clone, "-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "-q", "--allow-empty", "-m", "sneaky")
	if out, err := gitCmd(t, clone, "push", "origin", "HEAD:main"); err == nil || !strings.Contains(out, "403") {
		t.Errorf("push succeeded or failed for another reason: %v\n%s", err, out)
	}
}

// A client that has the index fetches only what changed: it offers its
// commit, which the server still has although no reference reaches it any
// more (every commit is a root commit). An index rebuilt from the same
// store in a new repository makes the very same commit, so a client of the
// old one is up to date with it.
func TestNegotiation(t *testing.T) {
	needGit(t)
	st := openStore(t)
	uid := user(t, st)
	ix, cfg := openIndex(t, st)
	for i := range 40 {
		publish(t, st, uid, fmt.Sprintf("crate-%d", i), "0.1.0")
	}
	mustSync(t, ix)
	url, stats := serve(t, ix)
	work := t.TempDir()
	runGit(t, work, "clone", "-q", "--bare", url, "clone.git")
	clone := filepath.Join(work, "clone.git")
	full := stats.bytes.Swap(0)

	publish(t, st, uid, "beta", "1.0.0")
	mustSync(t, ix, "beta")
	runGit(t, clone, "fetch", "-q", url, "+refs/heads/main:refs/heads/main")
	if got, want := runGit(t, clone, "rev-parse", "main"), readBranch(t, cfg.Dir, "main").commit.String(); got != want {
		t.Fatalf("fetched %s, index at %s", got, want)
	}
	inc := stats.bytes.Swap(0)
	t.Logf("clone: %d bytes; fetch of one new crate: %d bytes", full, inc)
	if inc*4 > full {
		t.Errorf("an incremental fetch of one crate sent %d bytes; the full clone was %d: the client's commit was not recognized", inc, full)
	}

	rebuilt, rcfg := openIndex(t, st)
	mustSync(t, rebuilt)
	if a, b := readBranch(t, cfg.Dir, "main").commit, readBranch(t, rcfg.Dir, "main").commit; a != b {
		t.Fatalf("the same store gave commit %s in one repository and %s in another", a, b)
	}
	rurl, _ := serve(t, rebuilt)
	runGit(t, clone, "fetch", "-q", rurl, "+refs/heads/main:refs/heads/main")
	runGit(t, clone, "fsck", "--strict")
}

// Before the first Sync the repository is empty, and says so properly.
func TestEmptyRepository(t *testing.T) {
	st := openStore(t)
	ix, _ := openIndex(t, st)
	url, _ := serve(t, ix)
	resp, err := http.Get(url + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "capabilities^{}") {
		t.Errorf("empty advertisement: %d %q", resp.StatusCode, body)
	}
	if _, err := gogit.PlainClone(t.TempDir(), true, &gogit.CloneOptions{URL: url}); err == nil {
		t.Errorf("cloning an empty index succeeded")
	}
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestProtocolRefusals(t *testing.T) {
	defer gitindex.SetWantWait(0)()
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	url, _ := serve(t, ix)
	head := readBranch(t, cfg.Dir, "main").commit.String()
	wantLine := pkt("want " + head + " multi_ack_detailed ofs-delta\n")
	want := wantLine + "0000"

	tests := []struct {
		name     string
		method   string
		path     string
		encoding string
		body     string
		status   int
		contains string
	}{
		{"advertisement", "GET", "/info/refs?service=git-upload-pack", "", "", 200, "multi_ack_detailed"},
		{"head request", "HEAD", "/info/refs?service=git-upload-pack", "", "", 200, ""},
		{"push advertisement", "GET", "/info/refs?service=git-receive-pack", "", "", 403, "read-only"},
		{"push", "POST", "/git-receive-pack", "", "0000", 403, "read-only"},
		{"dumb protocol", "GET", "/info/refs", "", "", 403, "smart HTTP"},
		{"object file", "GET", "/objects/info/packs", "", "", 404, ""},
		{"HEAD file", "GET", "/HEAD", "", "", 404, ""},
		{"upload-pack by GET", "GET", "/git-upload-pack", "", "", 405, ""},
		{"refs by POST", "POST", "/info/refs?service=git-upload-pack", "", "", 405, ""},
		{"garbage", "POST", "/git-upload-pack", "", "hello world", 400, "malformed"},
		{"no wants", "POST", "/git-upload-pack", "", "0000" + pkt("done\n"), 400, "wants nothing"},
		{"bad want", "POST", "/git-upload-pack", "", pkt("want xyz\n") + "0000", 400, "malformed"},
		// A shallow fetch's first request gets the shallow section alone,
		// empty (root commits); the last gets it before the NAK and the pack.
		{"shallow, first round", "POST", "/git-upload-pack", "", wantLine + pkt("deepen 1\n") + "0000", 200, "0000"},
		{"shallow fetch", "POST", "/git-upload-pack", "", pkt("want "+head+"\n") + pkt("deepen 1\n") + "0000" + pkt("done\n"), 200, "00000008NAK\nPACK"},
		{"deepen-not", "POST", "/git-upload-pack", "", wantLine + pkt("deepen-not refs/heads/main\n") + "0000", 200, "ERR deepen-not"},
		{"filter", "POST", "/git-upload-pack", "", wantLine + pkt("filter blob:none\n") + "0000", 200, "ERR filtered"},
		{"unknown encoding", "POST", "/git-upload-pack", "br", want, 400, "malformed"},
		{"too large", "POST", "/git-upload-pack", "", want + strings.Repeat(pkt("have "+head+"\n"), 9<<20/50), 413, "too large"},
		{"gzip bomb", "POST", "/git-upload-pack", "gzip", gz(want + strings.Repeat(pkt("have "+head+"\n"), 9<<20/50)), 413, "too large"},
		{"unknown want", "POST", "/git-upload-pack", "", pkt("want "+strings.Repeat("ab", 20)+"\n") + "0000" + pkt("done\n"), 200, "ERR upload-pack: not our ref abab"},
		{"negotiation round", "POST", "/git-upload-pack", "", want + pkt("have "+head+"\n") + pkt("have "+strings.Repeat("cd", 20)+"\n") + "0000", 200, "ACK " + head + " common\n0008NAK"},
		{"gzipped fetch", "POST", "/git-upload-pack", "gzip", gz(want + pkt("done\n")), 200, "NAK\nPACK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), tt.method, url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.contains) {
				t.Errorf("%s %s: %d %.200q, want %d with %q", tt.method, tt.path, resp.StatusCode, body, tt.status, tt.contains)
			}
		})
	}
}

// Clones run while Syncs commit and repack: every clone gets a whole,
// consistent commit.
func TestFetchDuringSyncs(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.0.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	url, _ := serve(t, ix)

	stop := make(chan struct{})
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				clone, err := gogit.PlainClone(t.TempDir(), true, &gogit.CloneOptions{URL: url})
				if err != nil {
					errs <- err
					return
				}
				ref, err := clone.Reference("refs/heads/main", true)
				if err == nil {
					var c *object.Commit
					if c, err = clone.CommitObject(ref.Hash()); err == nil {
						_, err = c.File("al/ph/alpha")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 1; i <= 12; i++ {
		publish(t, st, uid, "alpha", fmt.Sprintf("0.%d.0", i))
		mustSync(t, ix, "alpha")
	}
	close(stop)
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("clone during syncs: %v", err)
		}
	}
	// The next start packs the loose objects, before anyone reads.
	if _, err := gitindex.Open(t.Context(), cfg, st, quietLog()); err != nil {
		t.Fatal(err)
	}
	if packs, _ := filepath.Glob(filepath.Join(cfg.Dir, "objects", "pack", "*.pack")); len(packs) != 1 {
		t.Errorf("want the objects repacked into one pack, found %q", packs)
	}
	wantFiles(t, st, readBranch(t, cfg.Dir, "main"), testConfigJSON, "alpha")
}

// A start repacks and removes the loose files that nothing reaches: every
// commit is a root commit, so the earlier commits' files are garbage. Without
// this, each run's files stayed on disk for good. Files younger than the
// grace are spared (another process may be making a commit with them).
func TestStartRemovesGarbage(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	for _, vers := range []string{"0.2.0", "0.3.0", "0.4.0"} {
		publish(t, st, uid, "alpha", vers)
		mustSync(t, ix, "alpha")
	}
	loose := func() int {
		objs, _ := filepath.Glob(filepath.Join(cfg.Dir, "objects", "[0-9a-f][0-9a-f]", "*"))
		return len(objs)
	}
	// Within the grace: packed, and the unreachable files kept.
	if _, err := gitindex.Open(t.Context(), cfg, st, quietLog()); err != nil {
		t.Fatal(err)
	}
	if loose() == 0 {
		t.Fatal("no loose files left by the repack: nothing to check")
	}
	defer gitindex.SetPruneGrace(0)()
	if _, err := gitindex.Open(t.Context(), cfg, st, quietLog()); err != nil {
		t.Fatal(err)
	}
	if n := loose(); n != 0 {
		t.Errorf("%d loose files after a start past the grace, want none", n)
	}
	if packs, _ := filepath.Glob(filepath.Join(cfg.Dir, "objects", "pack", "*.pack")); len(packs) != 1 {
		t.Errorf("want one pack, found %q", packs)
	}
	wantFiles(t, st, readBranch(t, cfg.Dir, "main"), testConfigJSON, "alpha")
	// The index goes on after it.
	ix2, err := gitindex.Open(t.Context(), cfg, st, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	publish(t, st, uid, "alpha", "0.5.0")
	mustSync(t, ix2, "alpha")
	wantFiles(t, st, readBranch(t, cfg.Dir, "main"), testConfigJSON, "alpha")
}

// Renovate clones the index with --depth=1 and fetches it later; git 2.26
// and later speak protocol version 2 unless told otherwise. Every commit
// is a root commit, so a shallow clone holds the whole index.
func TestShallowCloneWithGitCLI(t *testing.T) {
	needGit(t)
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	url, stats := serve(t, ix)

	for i, proto := range []string{"0", "2"} {
		t.Run("protocol v"+proto, func(t *testing.T) {
			stats.v2.Store(0)
			work := t.TempDir()
			pv := "protocol.version=" + proto
			runGit(t, work, "-c", pv, "clone", "-q", "--depth=1", url, "clone")
			clone := filepath.Join(work, "clone")
			if got := runGit(t, clone, "show", "HEAD:config.json"); got != testConfigJSON {
				t.Errorf("config.json in the shallow clone: %s", got)
			}
			if (stats.v2.Load() > 0) != (proto == "2") {
				t.Errorf("%d requests asked for protocol version 2", stats.v2.Load())
			}

			vers := fmt.Sprintf("0.2.%d", i)
			publish(t, st, uid, "alpha", vers)
			mustSync(t, ix, "alpha")
			runGit(t, clone, "-c", pv, "fetch", "-q", "origin")
			if got, want := runGit(t, clone, "rev-parse", "origin/main"), readBranch(t, cfg.Dir, "main").commit.String(); got != want {
				t.Fatalf("fetched %s, index at %s", got, want)
			}
			runGit(t, clone, "reset", "-q", "--hard", "origin/main")
			if body, _ := os.ReadFile(filepath.Join(clone, "al", "ph", "alpha")); !strings.Contains(string(body), `"vers":"`+vers+`"`) {
				t.Errorf("alpha after fetch:\n%s", body)
			}

			publish(t, st, uid, "beta", vers)
			mustSync(t, ix, "beta")
			runGit(t, clone, "-c", pv, "fetch", "-q", "--depth=1", "origin")
			if got := runGit(t, clone, "show", "origin/main:be/ta/beta"); !strings.Contains(got, `"vers":"`+vers+`"`) {
				t.Errorf("beta after a shallow fetch:\n%s", got)
			}
			runGit(t, clone, "fsck", "--strict")

			runGit(t, work, "-c", pv, "clone", "-q", "--bare", "--shallow-since=2000-01-01", url, "since.git")
			out, err := gitCmd(t, work, "-c", pv, "clone", "-q", "--bare", "--shallow-exclude=main", url, "exclude.git")
			if err == nil || !strings.Contains(out, "xclude") {
				t.Errorf("clone --shallow-exclude: %v\n%s", err, out)
			}
		})
	}
}

// Replicas make the same commit, not at the same moment: a client may read
// the references from a replica that has synced a publish and ask one that
// has not yet for the pack. That one waits for its own commit rather than
// answering "not our ref".
func TestFetchWaitsForALaggingReplica(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ahead, acfg := openIndex(t, st)
	behind, _ := openIndex(t, st)
	mustSync(t, ahead)
	mustSync(t, behind)
	publish(t, st, uid, "beta", "0.1.0")
	mustSync(t, ahead, "beta")
	head := readBranch(t, acfg.Dir, "main").commit.String()
	url, _ := serve(t, behind)
	fetch := func() string {
		t.Helper()
		body := pkt("want "+head+" multi_ack_detailed ofs-delta\n") + "0000" + pkt("done\n")
		resp, err := http.Post(url+"/git-upload-pack", "application/x-git-upload-pack-request", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	restore := gitindex.SetWantWait(0)
	if got := fetch(); !strings.Contains(got, "not our ref") {
		t.Fatalf("without waiting, the lagging replica answered %.100q", got)
	}
	restore()
	go func() {
		time.Sleep(100 * time.Millisecond) // let the request start waiting
		behind.Sync(context.Background(), []string{"beta"})
	}()
	if got := fetch(); !strings.Contains(got, "NAK\nPACK") {
		t.Fatalf("the lagging replica answered %.100q, want the pack of its own commit", got)
	}
}

// A client whose commits the server does not know (another registry's
// index, or one from before a store was restored) offers them in vain: the
// server says NAK until the client is done, then sends the whole index.
// Both protocol versions.
func TestFetchWithUnknownHaves(t *testing.T) {
	needGit(t)
	mk := func(name string) (string, gitindex.Config) {
		st := openStore(t)
		uid := user(t, st)
		for i := range 30 {
			publish(t, st, uid, fmt.Sprintf("%s-%d", name, i), "0.1.0")
		}
		ix, cfg := openIndex(t, st)
		mustSync(t, ix)
		url, _ := serve(t, ix)
		return url, cfg
	}
	oldURL, _ := mk("old")
	newURL, newCfg := mk("new")
	for _, proto := range []string{"0", "2"} {
		t.Run("protocol v"+proto, func(t *testing.T) {
			work := t.TempDir()
			runGit(t, work, "clone", "-q", "--bare", oldURL, "clone.git")
			clone := filepath.Join(work, "clone.git")
			runGit(t, clone, "-c", "protocol.version="+proto, "fetch", "-q", newURL, "+refs/heads/main:refs/heads/main")
			if got, want := runGit(t, clone, "rev-parse", "main"), readBranch(t, newCfg.Dir, "main").commit.String(); got != want {
				t.Fatalf("fetched %s, index at %s", got, want)
			}
			runGit(t, clone, "fsck", "--strict")
		})
	}
}

// In version 0 the shallow section (empty: root commits) comes first in
// every answer to a request with a depth, and alone in the answer to its
// first request, as git's server answers; "shallow" lines without a depth
// get none. A stray or missing flush would desynchronize git.
func TestShallowSectionV0(t *testing.T) {
	st := openStore(t)
	publish(t, st, user(t, st), "alpha", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	url, _ := serve(t, ix)
	head := readBranch(t, cfg.Dir, "main").commit.String()
	wantLine := pkt("want " + head + " multi_ack_detailed ofs-delta\n")
	for _, tt := range []struct{ name, body, prefix string }{
		{"first round of a depth", wantLine + pkt("deepen 1\n") + "0000", "0000"},
		{"depth, done", wantLine + pkt("deepen 1\n") + "0000" + pkt("done\n"), "00000008NAK\nPACK"},
		{"depth, a round", wantLine + pkt("deepen 1\n") + "0000" + pkt("have "+head+"\n") + "0000", "0000" + pkt("ACK "+head+" common\n") + "0008NAK\n"},
		{"shallow lines only", wantLine + pkt("shallow "+head+"\n") + "0000" + pkt("done\n"), "0008NAK\nPACK"},
	} {
		resp, err := http.Post(url+"/git-upload-pack", "application/x-git-upload-pack-request", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), tt.prefix) || tt.prefix == "0000" && string(b) != "0000" {
			t.Errorf("%s: %.80q, want it to start with %q", tt.name, b, tt.prefix)
		}
	}
}
