package gitindex_test

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/index/git"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// needGit returns the git program, or skips the test (fails it in CI).
func needGit(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is not installed, but CI=true requires it")
		}
		t.Skip("skipping: the git program is not installed")
	}
	return p
}

func bareRemote(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "remote.git")
	if _, err := gogit.PlainInit(dir, true); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPushToLocalRemote(t *testing.T) {
	tests := []struct {
		name string
		url  func(dir string) string
	}{
		{"path", func(dir string) string { return dir }},
		{"file URL", func(dir string) string { return "file://" + dir }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			uid := user(t, st)
			publish(t, st, uid, "alpha", "0.1.0")
			remote := bareRemote(t)
			ix, cfg := openIndex(t, st, func(c *gitindex.Config) { c.RemoteURL = tt.url(remote) })
			mustSync(t, ix)
			local, pushed := readBranch(t, cfg.Dir, "main"), readBranch(t, remote, "main")
			if pushed.commit != local.commit {
				t.Fatalf("remote at %s, local at %s", pushed.commit, local.commit)
			}
			wantFiles(t, st, pushed, testConfigJSON, "alpha")

			first := local.commit
			publish(t, st, uid, "alpha", "0.2.0")
			mustSync(t, ix, "alpha")
			if pushed, local := readBranch(t, remote, "main"), readBranch(t, cfg.Dir, "main"); pushed.commit != local.commit || pushed.commit == first {
				t.Errorf("after publish: remote %s, local %s", pushed.commit, local.commit)
			}
		})
	}
}

// A push that fails keeps the commit; a later Sync with nothing new to
// commit still pushes it.
func TestFailedPushIsRetried(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	remote := filepath.Join(t.TempDir(), "later.git")
	ix, cfg := openIndex(t, st, func(c *gitindex.Config) { c.RemoteURL = remote; c.PushAttempts = 2 })

	err := ix.Sync(context.Background(), nil)
	if !crated.IsCode(err, crated.EUNAVAILABLE) || !strings.Contains(crated.ErrorMessage(err), "commit is kept") {
		t.Fatalf("Sync with an absent remote: %v", err)
	}
	local := readBranch(t, cfg.Dir, "main")
	wantFiles(t, st, local, testConfigJSON, "alpha")

	if _, err := gogit.PlainInit(remote, true); err != nil {
		t.Fatal(err)
	}
	mustSync(t, ix, "alpha")
	if pushed := readBranch(t, remote, "main"); pushed.commit != local.commit {
		t.Errorf("the pending push did not happen: remote at %s, local at %s", pushed.commit, local.commit)
	}
}

// A restart pushes at its first Sync even when nothing changed, because the
// remote may have missed the last push before the restart.
func TestFirstSyncPushes(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)

	remote := bareRemote(t)
	cfg.RemoteURL = remote
	again, err := gitindex.Open(context.Background(), cfg, st, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, again, "alpha")
	if pushed, local := readBranch(t, remote, "main"), readBranch(t, cfg.Dir, "main"); pushed.commit != local.commit {
		t.Errorf("remote at %s, local at %s", pushed.commit, local.commit)
	}
}

// The remote may have been rewritten (or written by another replica): the
// push is forced.
func TestForcePush(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	remote := bareRemote(t)
	other, _ := openIndex(t, st, func(c *gitindex.Config) { c.RemoteURL = remote })
	mustSync(t, other)
	ix, cfg := openIndex(t, st, func(c *gitindex.Config) { c.RemoteURL = remote; c.AuthorName = "someone else" })
	mustSync(t, ix)
	if pushed, local := readBranch(t, remote, "main"), readBranch(t, cfg.Dir, "main"); pushed.commit != local.commit {
		t.Errorf("remote at %s, local at %s", pushed.commit, local.commit)
	}
}

// gitHTTPServer serves bare repositories under root with git http-backend,
// pushes included, behind HTTP basic auth.
func gitHTTPServer(t *testing.T, root, user, password string) *httptest.Server {
	gitBin := needGit(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h := &cgi.Handler{
			Path: gitBin,
			Args: []string{"http-backend"},
			Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + u},
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Pushing over HTTPS-style basic auth, through go-git's network client,
// to a stock git server.
func TestPushOverHTTP(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	remote := bareRemote(t)
	srv := gitHTTPServer(t, filepath.Dir(remote), "ci-bot", "s3cret-token")
	url := srv.URL + "/remote.git"

	t.Run("wrong password", func(t *testing.T) {
		ix, _ := openIndex(t, st, func(c *gitindex.Config) {
			c.RemoteURL, c.HTTPSUsername, c.HTTPSPassword = url, "ci-bot", "wrong-password-42"
		})
		err := ix.Sync(context.Background(), nil)
		if !crated.IsCode(err, crated.EUNAVAILABLE) {
			t.Fatalf("Sync with a wrong password: %v", err)
		}
		if strings.Contains(err.Error(), "wrong-password-42") {
			t.Errorf("the error shows the password: %v", err)
		}
	})
	t.Run("right password", func(t *testing.T) {
		ix, cfg := openIndex(t, st, func(c *gitindex.Config) {
			c.RemoteURL, c.HTTPSUsername, c.HTTPSPassword = url, "ci-bot", "s3cret-token"
		})
		mustSync(t, ix)
		publish(t, st, uid, "alpha", "0.2.0")
		mustSync(t, ix, "alpha")
		pushed, local := readBranch(t, remote, "main"), readBranch(t, cfg.Dir, "main")
		if pushed.commit != local.commit {
			t.Fatalf("remote at %s, local at %s", pushed.commit, local.commit)
		}
		wantFiles(t, st, pushed, testConfigJSON, "alpha")
	})
}

// Run keeps retrying a failed push without any new change to trigger it.
func TestRunRetriesPush(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	remote := filepath.Join(t.TempDir(), "later.git")
	ix, cfg := openIndex(t, st, func(c *gitindex.Config) {
		c.RemoteURL, c.Backoff = remote, time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	eventually(t, "the local commit", func() bool { return hasBranch(cfg.Dir, "main") })
	if _, err := gogit.PlainInit(remote, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retried push", func() bool { return hasBranch(remote, "main") })
	if pushed, local := readBranch(t, remote, "main"), readBranch(t, cfg.Dir, "main"); pushed.commit != local.commit {
		t.Errorf("remote at %s, local at %s", pushed.commit, local.commit)
	}
}

func hasBranch(dir, branch string) bool {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return false
	}
	_, err = repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	return err == nil
}

// eventually waits for a background step; the deadline only guards against
// a hang.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
