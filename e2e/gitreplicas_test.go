package e2e

import (
	"fmt"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// TestGitIndexThroughRoundRobin puts a balancer without session affinity
// in front of two replicas on one PostgreSQL database, as docs/deploy.md
// allows, and sends every request to the other replica than the last: a
// clone reads the references from one and fetches the pack from the
// other. Both replicas make the same commit from the same store, so git
// (full, --depth=1 as Renovate clones, protocol versions 0 and 2, later
// fetches) and cargo (libgit2 and the git program) all work through it.
func TestGitIndexThroughRoundRobin(t *testing.T) {
	needGitCLI(t)
	cl := newCluster(t)

	var backends [2]atomic.Pointer[url.URL]
	var turn atomic.Uint64
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backends[turn.Add(1)%2].Load())
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(proxy.Close)

	// One configuration for both, as in a real deployment: the base URL
	// is the balancer's (config.json holds it) and the commits' identity
	// is the same.
	// crated takes its base URL from the configuration only with a fixed
	// port.
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	replica := func(i int) *testenv.Crated {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		backends[i].Store(&url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))})
		return cl.replica(t, func(c *config.Config) {
			c.Server.Port = port
			c.Server.BaseURL = proxy.URL
			c.Index = &config.IndexConfig{LocalPath: dirs[i], Branch: "main", Name: "crated", Email: "crated@example.com"}
		})
	}
	a, b := replica(0), replica(1)
	alice := a.AddUser("alice")
	// Their URL is the balancer's: probe each replica at its own address.
	direct := func(srv *testenv.Crated, i int) *testenv.Crated {
		d := *srv
		d.URL = backends[i].Load().String()
		return &d
	}
	waitListening(t, direct(a, 0), direct(b, 1), alice)

	// Crates go in through A's sparse index; both replicas' git indexes
	// follow.
	sparseCargo := testenv.NewCargo(t, a.IndexURL(), "")
	pub := func(dir string) {
		t.Helper()
		sparseCargo.MustRun(dir, "publish", "--registry", "crated", "--token", alice, "--allow-dirty", "--no-verify")
	}
	hue := func(vers, value string) string {
		return testenv.Package(t, fmt.Sprintf(gitIdxHueToml, vers), map[string]string{"src/lib.rs": "pub fn value() -> u32 { " + value + " }\n"})
	}
	pub(hue("0.1.0", "1"))
	pub(testenv.Package(t, gitIdxTintToml, map[string]string{"src/lib.rs": "pub fn value() -> u32 { gidx_hue::value() + 10 }\n"}))
	for _, d := range dirs {
		waitGitFile(t, d, "gi/dx/gidx-tint", `"vers":"0.1.0"`)
	}
	sameHead(t, dirs)

	index := proxy.URL + "/git/index"
	work := t.TempDir()
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Environ(), "HOME="+work, "XDG_CONFIG_HOME="+work, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	clones := map[string][]string{
		"full, v2":      {"-c", "protocol.version=2", "clone", "-q"},
		"depth 1, v2":   {"-c", "protocol.version=2", "clone", "-q", "--depth=1"},
		"full, v0":      {"-c", "protocol.version=0", "clone", "-q"},
		"depth 1, v0":   {"-c", "protocol.version=0", "clone", "-q", "--depth=1"},
		"depth 1, bare": {"clone", "-q", "--bare", "--depth=1"},
	}
	for name, args := range clones {
		git(work, append(args, index, name)...)
	}

	consumer := testenv.Package(t, gitIdxConsumerToml, map[string]string{"src/main.rs": gitIdxConsumerMain})
	libgit2 := testenv.NewCargo(t, index, "")
	cli := testenv.NewCargo(t, index, "")
	cli.Env = append(cli.Env, "CARGO_NET_GIT_FETCH_WITH_CLI=true", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	cargos := map[string]*testenv.Cargo{"libgit2": libgit2, "git CLI": cli}
	for name, c := range cargos {
		if out := c.MustRun(consumer, "run", "-q"); !strings.Contains(out, "tint=11") {
			t.Errorf("cargo (%s) through the balancer: %q", name, out)
		}
	}

	// A new version: every clone fetches it, cargo updates.
	sparseCargo.MustRun(hue("0.1.1", "2"), "publish", "--registry", "crated", "--token", alice, "--allow-dirty", "--no-verify")
	for _, d := range dirs {
		waitGitFile(t, d, "gi/dx/gidx-hue", `"vers":"0.1.1"`)
	}
	head := sameHead(t, dirs)
	for name := range clones {
		dir := filepath.Join(work, name)
		if strings.Contains(name, "bare") {
			git(dir, "fetch", "-q", "--depth=1", "origin", "+refs/heads/main:refs/heads/main")
			if got := git(dir, "rev-parse", "main"); got != head {
				t.Errorf("%s: fetched %s, replicas at %s", name, got, head)
			}
			continue
		}
		git(dir, "fetch", "-q", "origin")
		if got := git(dir, "rev-parse", "origin/main"); got != head {
			t.Errorf("%s: fetched %s, replicas at %s", name, got, head)
		}
		git(dir, "reset", "-q", "--hard", "origin/main")
		git(dir, "fsck", "--strict")
	}
	for name, c := range cargos {
		c.MustRun(consumer, "update")
		if out := c.MustRun(consumer, "run", "-q"); !strings.Contains(out, "tint=12") {
			t.Errorf("cargo (%s) after update through the balancer: %q", name, out)
		}
	}
}

// sameHead checks that every repository's branch main is at one commit,
// and returns it.
func sameHead(t *testing.T, dirs []string) string {
	t.Helper()
	var heads []string
	for _, d := range dirs {
		repo, err := gogit.PlainOpen(d)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, ref.Hash().String())
	}
	for _, h := range heads[1:] {
		if h != heads[0] {
			for _, d := range dirs {
				out, _ := exec.Command("git", "-C", d, "cat-file", "-p", "main").CombinedOutput()
				ls, _ := exec.Command("git", "-C", d, "ls-tree", "-r", "main").CombinedOutput()
				t.Logf("%s:\n%s\n%s", d, out, ls)
			}
			t.Fatalf("the replicas' git indexes are at different commits from the same store: %q", heads)
		}
	}
	return heads[0]
}

func needGitCLI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if testenv.InCI() {
			t.Fatal("git is not installed, but CI=true requires it")
		}
		t.Skip("git is not installed")
	}
}
