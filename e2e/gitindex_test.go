package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gitindex "github.com/crated/crated/index/git"
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
// a yank after a Sync.
func TestGitIndexWithCargo(t *testing.T) {
	ctx := context.Background()
	srv := testenv.StartCrated(t)
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

	// The git index, built as the app would: over the same store, with the
	// sparse index's config.json, mounted at /git/index.
	level := slog.LevelWarn
	if os.Getenv("CRATED_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	ix, err := gitindex.Open(ctx, gitindex.Config{
		Dir:        filepath.Join(t.TempDir(), "index"),
		ConfigJSON: []byte(fmt.Sprintf(`{"dl":%q,"api":%q}`, srv.URL+"/api/v1/crates/{crate}/{version}/download", srv.URL)),
	}, srv.Store, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/git/index/", http.StripPrefix("/git/index", ix.Handler()))
	gitSrv := httptest.NewServer(mux)
	t.Cleanup(gitSrv.Close)
	indexURL := gitSrv.URL + "/git/index"

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
	if err := ix.Sync(ctx, []string{"gidx_hue"}); err != nil {
		t.Fatal(err)
	}
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
	if err := ix.Sync(ctx, []string{"gidx_hue"}); err != nil {
		t.Fatal(err)
	}
	for _, cl := range clients {
		cl.cargo.MustRun(cl.consumer, "generate-lockfile")
		if lock := readLock(t, cl.consumer); !strings.Contains(lock, "name = \"gidx-hue\"\nversion = \"0.1.0\"") {
			t.Errorf("%s: after the yank the lock file should hold gidx-hue 0.1.0:\n%s", cl.name, lock)
		}
	}
}

func readLock(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
