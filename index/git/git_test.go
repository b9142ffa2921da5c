package gitindex_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/index/git"
	"github.com/crated/crated/index/sparse"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// wantFiles checks that the snapshot holds exactly config.json and the
// sparse index's rendering of each named crate, at cargo's paths.
func wantFiles(t *testing.T, st crated.Store, s *snapshot, configJSON string, names ...string) {
	t.Helper()
	sp := sparse.New(st, 0)
	want := map[string]string{"config.json": configJSON}
	for _, n := range names {
		f, err := sp.Crate(context.Background(), cargo.CanonicalName(n))
		if err != nil {
			t.Fatalf("sparse rendering of %s: %v", n, err)
		}
		want[cargo.IndexPath(n)] = string(f.Body)
	}
	if got, exp := paths(s.files), paths(want); !slices.Equal(got, exp) {
		t.Fatalf("tree holds %q, want %q", got, exp)
	}
	for p, body := range want {
		if s.files[p] != body {
			t.Errorf("%s:\n%s\nwant (as the sparse index serves it):\n%s", p, s.files[p], body)
		}
	}
}

func TestFullRebuild(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	names := []string{"a", "ab", "abc", "Foo-Bar", "serde", "serde_json"}
	for _, n := range names {
		publish(t, st, uid, n, "0.1.0")
	}
	publish(t, st, uid, "serde", "1.0.0+build.5")
	y := publish(t, st, uid, "serde", "1.0.1")
	if err := st.SetYanked(context.Background(), y.ID, true, uid); err != nil {
		t.Fatal(err)
	}

	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	s := readBranch(t, cfg.Dir, "main")
	wantFiles(t, st, s, testConfigJSON, names...)
	for _, p := range []string{"1/a", "2/ab", "3/a/abc", "fo/o-/foo-bar", "se/rd/serde", "se/rd/serde_json"} {
		if _, ok := s.files[p]; !ok {
			t.Errorf("no file at %s", p)
		}
	}
	serde := strings.Split(strings.TrimSuffix(s.files["se/rd/serde"], "\n"), "\n")
	if len(serde) != 3 || !strings.Contains(serde[2], `"vers":"1.0.1"`) || !strings.Contains(serde[2], `"yanked":true`) || strings.Contains(serde[1], `"yanked":true`) {
		t.Errorf("serde file: one line per version in publish order, the yanked one marked:\n%s", s.files["se/rd/serde"])
	}
	if len(s.parents) != 0 || s.author.Name != "ktra-driver" || s.author.Email != "undefined@example.com" {
		t.Errorf("first commit: parents %v, author %v", s.parents, s.author)
	}

	// HEAD names the branch: cargo fetches HEAD.
	repo, err := gogit.PlainOpen(cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil || head.Target() != "refs/heads/main" {
		t.Errorf("HEAD is %v (%v), want a symbolic ref to refs/heads/main", head, err)
	}
	if cfgs, _ := repo.Config(); !cfgs.Core.IsBare {
		t.Errorf("the repository created in %s is not bare", cfg.Dir)
	}

	// A second full rebuild changes nothing and commits nothing.
	mustSync(t, ix, "")
	if again := readBranch(t, cfg.Dir, "main"); again.commit != s.commit {
		t.Errorf("a rebuild of an unchanged store made commit %s", again.commit)
	}
}

func TestIncrementalSync(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	publish(t, st, uid, "beta", "0.1.0")
	ix, cfg := openIndex(t, st, func(c *gitindex.Config) { c.Branch = "index" })
	mustSync(t, ix)
	first := readBranch(t, cfg.Dir, "index")

	steps := []struct {
		name   string
		change func(t *testing.T)
		sync   []string
		commit bool
		check  func(t *testing.T, s *snapshot)
	}{{
		name:   "publish",
		change: func(t *testing.T) { publish(t, st, uid, "alpha", "0.2.0") },
		sync:   []string{"alpha"},
		commit: true,
		check: func(t *testing.T, s *snapshot) {
			if !strings.Contains(s.files["al/ph/alpha"], `"vers":"0.2.0"`) {
				t.Errorf("alpha after publish:\n%s", s.files["al/ph/alpha"])
			}
			if s.message != "Index of 2 crates" {
				t.Errorf("message %q", s.message)
			}
		},
	}, {
		name: "yank",
		change: func(t *testing.T) {
			c, _ := st.CrateByName(ctx, "alpha")
			v, err := st.Version(ctx, c.ID, "0.1.0")
			if err != nil {
				t.Fatal(err)
			}
			if err := st.SetYanked(ctx, v.ID, true, uid); err != nil {
				t.Fatal(err)
			}
		},
		sync:   []string{"alpha", "alpha"},
		commit: true,
		check: func(t *testing.T, s *snapshot) {
			lines := strings.Split(s.files["al/ph/alpha"], "\n")
			if !strings.Contains(lines[0], `"yanked":true`) || !strings.Contains(lines[1], `"yanked":false`) {
				t.Errorf("alpha after yank:\n%s", s.files["al/ph/alpha"])
			}
		},
	}, {
		name:   "nothing changed",
		sync:   []string{"alpha", "beta"},
		commit: false,
	}, {
		name:   "unknown crate",
		sync:   []string{"nope"},
		commit: false,
	}, {
		name: "new crate and another, one commit",
		change: func(t *testing.T) {
			publish(t, st, uid, "Gamma-Ray", "1.0.0")
			publish(t, st, uid, "beta", "0.2.0")
		},
		sync:   []string{"Gamma-Ray", "beta"}, // a spelling is canonicalized
		commit: true,
		check: func(t *testing.T, s *snapshot) {
			if s.message != "Index of 3 crates" {
				t.Errorf("message %q", s.message)
			}
		},
	}}
	prev := first
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if step.change != nil {
				step.change(t)
			}
			mustSync(t, ix, step.sync...)
			s := readBranch(t, cfg.Dir, "index")
			if !step.commit {
				if s.commit != prev.commit {
					t.Fatalf("commit %s made although nothing changed", s.commit)
				}
				return
			}
			// Every commit is a root commit, a function of the store
			// alone (see TestCommitIsAFunctionOfTheStore).
			if s.commit == prev.commit || len(s.parents) != 0 {
				t.Fatalf("want a new root commit after %s, got %s with parents %v", prev.commit, s.commit, s.parents)
			}
			// Whatever was synced, the tree equals a rebuild's.
			crates, _, _ := st.SearchCrates(ctx, crated.SearchQuery{})
			var names []string
			for _, c := range crates {
				names = append(names, c.Name)
			}
			wantFiles(t, st, s, testConfigJSON, names...)
			if step.check != nil {
				step.check(t, s)
			}
			prev = s
		})
	}
}

// A crate the store no longer has loses its file, and the directories it
// leaves empty go too; a full rebuild drops files nobody knows.
func TestGoneCrates(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	for _, n := range []string{"keep", "gone", "gone-too"} {
		publish(t, st, uid, n, "1.0.0")
	}
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	if s := readBranch(t, cfg.Dir, "main"); len(s.files) != 4 {
		t.Fatalf("files %q", paths(s.files))
	}

	// The same repository over a store that lacks two crates, as after
	// restoring an older database.
	other := openStore(t)
	ouid := user(t, other)
	publish(t, other, ouid, "keep", "1.0.0")
	reopened, err := gitindex.Open(context.Background(), cfg, other, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	// The first sync of a reopened index renders every crate, whatever
	// it is asked for: the dates of the crates on disk are not known.
	mustSync(t, reopened, "gone")
	s := readBranch(t, cfg.Dir, "main")
	wantFiles(t, other, s, testConfigJSON, "keep")
	if s.message != "Index of 1 crate" {
		t.Errorf("message %q", s.message)
	}
	mustSync(t, reopened)
	if again := readBranch(t, cfg.Dir, "main"); again.commit != s.commit {
		t.Errorf("a rebuild of the same store moved the branch from %s to %s", s.commit, again.commit)
	}
}

// A new config.json (the base URL moved) is committed by the next sync.
func TestConfigJSONChange(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)

	cfg.ConfigJSON = []byte(`{"dl":"https://crates.example.com/api/v1/crates","api":"https://crates.example.com"}`)
	moved, err := gitindex.Open(context.Background(), cfg, st, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, moved, "alpha")
	s := readBranch(t, cfg.Dir, "main")
	if s.files["config.json"] != string(cfg.ConfigJSON) {
		t.Errorf("config.json %s", s.files["config.json"])
	}
}

func TestOpenErrors(t *testing.T) {
	st := openStore(t)
	tests := []struct {
		name string
		edit func(*gitindex.Config)
		want string
	}{
		{"no dir", func(c *gitindex.Config) { c.Dir = "" }, "path is empty"},
		{"bad branch", func(c *gitindex.Config) { c.Branch = "a..b" }, "not a valid branch"},
		{"bad config.json", func(c *gitindex.Config) { c.ConfigJSON = []byte(`{"dl":`) }, "not valid JSON"},
		{"no config.json", func(c *gitindex.Config) { c.ConfigJSON = nil }, "not valid JSON"},
		{"bad scheme", func(c *gitindex.Config) { c.RemoteURL = "ftp://example.com/index" }, "not supported"},
		{"directory with other files", func(c *gitindex.Config) {
			if err := os.WriteFile(filepath.Join(c.Dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "neither empty nor a git repository"},
		{"missing ssh key", func(c *gitindex.Config) {
			c.RemoteURL = "git@example.com:team/index.git"
			c.SSHPrivateKeyPath = "/nonexistent/id_ed25519"
			c.SSHKeyPassphrase = "hunter2-secret"
		}, "cannot use the SSH private key /nonexistent/id_ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := gitindex.Config{Dir: t.TempDir(), ConfigJSON: []byte(testConfigJSON)}
			tt.edit(&cfg)
			_, err := gitindex.Open(context.Background(), cfg, st, quietLog())
			if !crated.IsCode(err, crated.EINVALID) || !strings.Contains(crated.ErrorMessage(err), tt.want) {
				t.Fatalf("err = %v, want EINVALID with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2-secret") {
				t.Errorf("error shows the passphrase: %v", err)
			}
		})
	}
}

// Ktra kept a clone with a work tree in local_path; crated uses its .git
// directory (and replaces its history with its own root commit).
func TestOpenKtraClone(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	dir := t.TempDir()
	old, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := gitindex.Open(context.Background(), gitindex.Config{Dir: dir, ConfigJSON: []byte(testConfigJSON)}, st, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, ix)
	s := branchOf(t, old, "refs/heads/main")
	wantFiles(t, st, s, testConfigJSON, "alpha")
	if s.author.Name != "crated" {
		t.Errorf("default author %v", s.author)
	}
}

// countingLocker is a real lock that counts its uses.
type countingLocker struct {
	lock            sync.Mutex
	mu              sync.Mutex
	locks, unlocked int
}

func (l *countingLocker) Lock(ctx context.Context) (func(), error) {
	l.lock.Lock()
	l.mu.Lock()
	l.locks++
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.unlocked++
		l.mu.Unlock()
		l.lock.Unlock()
	}, nil
}

// Concurrent Syncs are serialized, each under the Locker, and the result is
// the store's state.
func TestConcurrentSyncs(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	lock := &countingLocker{}
	ix, cfg := openIndex(t, st, func(c *gitindex.Config) { c.Locker = lock })
	var wg sync.WaitGroup
	names := []string{"one", "two", "three", "four", "five", "six"}
	for _, n := range names {
		publish(t, st, uid, n, "1.0.0")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ix.Sync(context.Background(), []string{n}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	wantFiles(t, st, readBranch(t, cfg.Dir, "main"), testConfigJSON, names...)
	if lock.locks != len(names) || lock.unlocked != len(names) {
		t.Errorf("locker: %d locks, %d unlocks, want %d each", lock.locks, lock.unlocked, len(names))
	}
}

// Run starts with a full rebuild and then follows Changed.
func TestRun(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ix, cfg := openIndex(t, st, func(c *gitindex.Config) { c.Coalesce = time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()

	waitFor := func(what string, ok func(s *snapshot) bool) {
		t.Helper()
		eventually(t, what, func() bool { return hasBranch(cfg.Dir, "main") && ok(readBranch(t, cfg.Dir, "main")) })
	}
	waitFor("the initial rebuild", func(s *snapshot) bool { return s.files["al/ph/alpha"] != "" })
	publish(t, st, uid, "alpha", "0.2.0")
	publish(t, st, uid, "beta", "0.1.0")
	ix.Changed("alpha")
	ix.Changed("beta")
	waitFor("the changes", func(s *snapshot) bool {
		return strings.Contains(s.files["al/ph/alpha"], "0.2.0") && s.files["be/ta/beta"] != ""
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v after cancel", err)
	}
}

func TestConfigJSONIsVerbatim(t *testing.T) {
	st := openStore(t)
	doc := "{\n  \"dl\": \"http://x/dl\",\n  \"api\": \"http://x\",\n  \"auth-required\": false\n}\n"
	ix, cfg := openIndex(t, st, func(c *gitindex.Config) { c.ConfigJSON = []byte(doc) })
	mustSync(t, ix)
	s := readBranch(t, cfg.Dir, "main")
	if s.files["config.json"] != doc {
		t.Errorf("config.json = %q", s.files["config.json"])
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(s.files["config.json"]), &v); err != nil || v["dl"] != "http://x/dl" {
		t.Errorf("config.json does not parse: %v", err)
	}
}

// The first commit holds every crate even when Sync names only one: an
// index is never partial.
func TestFirstSyncIsFull(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	publish(t, st, uid, "beta", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix, "alpha")
	wantFiles(t, st, readBranch(t, cfg.Dir, "main"), testConfigJSON, "alpha", "beta")
}

// A head commit whose objects were lost (a crash, a hand edit) starts a new
// history holding the whole store.
func TestDamagedHeadStartsOver(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	ix, cfg := openIndex(t, st)
	mustSync(t, ix)
	old := readBranch(t, cfg.Dir, "main")
	hex := old.commit.String()
	if err := os.Remove(filepath.Join(cfg.Dir, "objects", hex[:2], hex[2:])); err != nil {
		t.Fatal(err)
	}

	publish(t, st, uid, "beta", "0.1.0")
	reopened, err := gitindex.Open(context.Background(), cfg, st, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, reopened, "beta")
	s := readBranch(t, cfg.Dir, "main")
	if len(s.parents) != 0 || s.commit == old.commit {
		t.Errorf("want a new root commit, got %s with parents %v", s.commit, s.parents)
	}
	wantFiles(t, st, s, testConfigJSON, "alpha", "beta")
}

// Replicas see the store's changes in different batches and at different
// times, yet must serve the same commit: a client may read the references
// from one and fetch the objects from another. The commit is a root commit
// whose tree, identity, date and message come from the store alone.
func TestCommitIsAFunctionOfTheStore(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	one, cfg1 := openIndex(t, st)
	two, cfg2 := openIndex(t, st)
	mustSync(t, one)
	mustSync(t, two)

	// one syncs after every change, two only at the end, in one batch.
	publish(t, st, uid, "beta", "0.1.0")
	mustSync(t, one, "beta")
	newest := publish(t, st, uid, "alpha", "0.2.0")
	mustSync(t, one, "alpha")
	c, _ := st.CrateByName(ctx, "beta")
	v, err := st.Version(ctx, c.ID, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetYanked(ctx, v.ID, true, uid); err != nil {
		t.Fatal(err)
	}
	mustSync(t, one, "beta")
	mustSync(t, two, "beta", "alpha")

	a, b := readBranch(t, cfg1.Dir, "main"), readBranch(t, cfg2.Dir, "main")
	if a.commit != b.commit {
		t.Fatalf("two indexes of one store are at %s and %s", a.commit, b.commit)
	}
	if len(a.parents) != 0 || a.author != a.committer || !a.author.When.Equal(newest.PublishedAt.Truncate(time.Second)) {
		t.Errorf("commit: parents %v, author %v, want a root commit dated %v", a.parents, a.author, newest.PublishedAt)
	}
	// A third index, opened on one's directory after a restart, stays.
	three, err := gitindex.Open(ctx, cfg1, st, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, three, "alpha")
	if s := readBranch(t, cfg1.Dir, "main"); s.commit != a.commit {
		t.Errorf("a restart moved the branch from %s to %s", a.commit, s.commit)
	}
}

// A store without versions still gives a commit (config.json alone) with a
// date git accepts: the epoch, not Go's zero time.
func TestEmptyStoreCommit(t *testing.T) {
	ix, cfg := openIndex(t, openStore(t))
	mustSync(t, ix)
	s := readBranch(t, cfg.Dir, "main")
	if s.author.When.Unix() != 0 || len(s.files) != 1 {
		t.Errorf("empty index: dated %v, files %q", s.author.When, paths(s.files))
	}
	if _, err := exec.LookPath("git"); err == nil {
		runGit(t, cfg.Dir, "fsck", "--strict")
	}
}
