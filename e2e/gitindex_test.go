package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// Two crates with dashes in their names (index paths gi/dx/...), one
// depending on the other, and a consumer of the second.
const gitIdxHueToml = `[package]
name = "gidx-hue"
version = "%s"
edition = "2021"
description = "A base colour"
license = "MIT"
`

const gitIdxTintToml = `[package]
name = "gidx-tint"
version = "0.1.0"
edition = "2021"
description = "A tint of the base colour"
license = "MIT"

[dependencies]
gidx-hue = { version = "0.1", registry = "crated" }
`

const gitIdxConsumerToml = `[package]
name = "gidx-consumer"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
gidx-tint = { version = "0.1", registry = "crated" }
`

const gitIdxConsumerMain = `fn main() { println!("tint={}", gidx_tint::value()); }
`

// TestGitIndexWithCargo serves crated's store as a git index over smart
// HTTP and has stock cargo read it, through libgit2 and through the git
// program, as teams coming from Ktra do: build, then see a new version and
// a yank, all written and pushed by crated in the background.
func TestGitIndexWithCargo(t *testing.T) {
	// crated with Ktra's [index_config]: the git index is kept in
	// local_path, served at /git/index and pushed to remote_url.
	remote := filepath.Join(t.TempDir(), "remote.git")
	if _, err := gogit.PlainInit(remote, true); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "index")
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.Index = &config.IndexConfig{LocalPath: local, Branch: "main", RemoteURL: remote, Name: "ktra-driver", Email: "undefined@example.com"}
	})
	alice := srv.AddUser("alice")
	sparseCargo := testenv.NewCargo(t, srv.IndexURL(), "")
	pub := func(dir string) {
		t.Helper()
		sparseCargo.MustRun(dir, "publish", "--registry", "crated", "--token", alice, "--allow-dirty")
	}
	hue := func(vers, value string) string {
		return testenv.Package(t, fmt.Sprintf(gitIdxHueToml, vers), map[string]string{"src/lib.rs": "pub fn value() -> u32 { " + value + " }\n"})
	}
	pub(hue("0.1.0", "1"))
	tint := testenv.Package(t, gitIdxTintToml, map[string]string{"src/lib.rs": "pub fn value() -> u32 { gidx_hue::value() + 10 }\n"})
	pub(tint)
	// The git index follows the store in the background; both the local
	// repository and the pushed remote catch up.
	waitGitFile(t, local, "gi/dx/gidx-tint", `"vers":"0.1.0"`)
	waitGitFile(t, remote, "gi/dx/gidx-tint", `"vers":"0.1.0"`)
	indexURL := srv.URL + "/git/index"

	type client struct {
		name     string
		cargo    *testenv.Cargo
		consumer string
	}
	clients := []client{{name: "libgit2", cargo: testenv.NewCargo(t, indexURL, "")}}
	if _, err := exec.LookPath("git"); err == nil {
		c := testenv.NewCargo(t, indexURL, "")
		c.Env = append(c.Env, "CARGO_NET_GIT_FETCH_WITH_CLI=true", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
		clients = append(clients, client{name: "git CLI", cargo: c})
	} else if testenv.InCI() {
		t.Fatal("git is not installed, but CI=true requires it")
	} else {
		t.Log("git is not installed: only cargo's built-in libgit2 is tested")
	}

	for i := range clients {
		cl := &clients[i]
		cl.consumer = testenv.Package(t, gitIdxConsumerToml, map[string]string{"src/main.rs": gitIdxConsumerMain})
		if out := cl.cargo.MustRun(cl.consumer, "run", "-q"); !strings.Contains(out, "tint=11") {
			t.Errorf("%s: consumer output %q", cl.name, out)
		}
		lock := readLock(t, cl.consumer)
		if !strings.Contains(lock, `source = "registry+`+indexURL+`"`) {
			t.Errorf("%s: the lock file does not name the git index:\n%s", cl.name, lock)
		}
	}

	// A new version published through crated reaches cargo after a Sync.
	pub(hue("0.1.1", "2"))
	waitGitFile(t, local, "gi/dx/gidx-hue", `"vers":"0.1.1"`)
	for _, cl := range clients {
		cl.cargo.MustRun(cl.consumer, "update")
		if lock := readLock(t, cl.consumer); !strings.Contains(lock, "name = \"gidx-hue\"\nversion = \"0.1.1\"") {
			t.Errorf("%s: cargo update did not pick gidx-hue 0.1.1:\n%s", cl.name, lock)
		}
		if out := cl.cargo.MustRun(cl.consumer, "run", "-q"); !strings.Contains(out, "tint=12") {
			t.Errorf("%s: consumer output after update %q", cl.name, out)
		}
	}

	// A yank too: a fresh resolution avoids the yanked version.
	sparseCargo.MustRun(tint, "yank", "--registry", "crated", "--token", alice, "gidx-hue@0.1.1")
	waitGitFile(t, local, "gi/dx/gidx-hue", `"vers":"0.1.1","deps":[],"cksum"`, `"yanked":true`)
	for _, cl := range clients {
		cl.cargo.MustRun(cl.consumer, "generate-lockfile")
		if lock := readLock(t, cl.consumer); !strings.Contains(lock, "name = \"gidx-hue\"\nversion = \"0.1.0\"") {
			t.Errorf("%s: after the yank the lock file should hold gidx-hue 0.1.0:\n%s", cl.name, lock)
		}
	}
}

// waitGitFile waits until the branch head of the repository at dir holds
// path with every one of wants in it. The git index is written in the
// background after each change, so a bounded wait is right here; the bound
// only stops a broken build from hanging and says nothing about speed.
func waitGitFile(t *testing.T, dir, path string, wants ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		if last = gitFile(dir, "main", path); last != "" {
			ok := true
			for _, w := range wants {
				ok = ok && strings.Contains(last, w)
			}
			if ok {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s in %s never held %q; last content:\n%s", path, dir, wants, last)
}

// gitFile reads path from the tip of branch, "" when it is not there.
func gitFile(dir, branch, path string) string {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return ""
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return ""
	}
	commit, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return ""
	}
	f, err := commit.File(path)
	if err != nil {
		return ""
	}
	body, err := f.Contents()
	if err != nil {
		return ""
	}
	return body
}

func readLock(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
