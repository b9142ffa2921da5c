package gitindex_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/index/git"
	"github.com/crated/crated/internal/testenv"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

const testConfigJSON = `{"dl":"http://127.0.0.1:1/api/v1/crates/{crate}/{version}/download","api":"http://127.0.0.1:1"}`

func openStore(t *testing.T) crated.Store { return testenv.SQLiteStore(t) }

func user(t *testing.T, st crated.Store) int64 { return testenv.StoreUser(t, st, "alice") }

// publish stores one version with a realistic index line.
func publish(t *testing.T, st crated.Store, owner int64, name, vers string) *crated.Version {
	return testenv.StorePublish(t, st, owner, name, vers)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openIndex opens an index in a new directory; edit may change the config.
func openIndex(t *testing.T, st crated.Store, edit ...func(*gitindex.Config)) (*gitindex.Index, gitindex.Config) {
	t.Helper()
	cfg := gitindex.Config{
		Dir:          filepath.Join(t.TempDir(), "index"),
		ConfigJSON:   []byte(testConfigJSON),
		AuthorName:   "ktra-driver",
		AuthorEmail:  "undefined@example.com",
		PushAttempts: 1,
		Backoff:      1,
	}
	for _, e := range edit {
		e(&cfg)
	}
	ix, err := gitindex.Open(context.Background(), cfg, st, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	return ix, cfg
}

func mustSync(t *testing.T, ix *gitindex.Index, canons ...string) {
	t.Helper()
	if err := ix.Sync(context.Background(), canons); err != nil {
		t.Fatalf("Sync(%q): %v", canons, err)
	}
}

// snapshot is what a branch of a repository holds.
type snapshot struct {
	commit    plumbing.Hash
	parents   []plumbing.Hash
	author    object.Signature
	committer object.Signature
	message   string
	files     map[string]string
}

// readBranch reads a branch's head commit and its files from the
// repository at dir.
func readBranch(t *testing.T, dir, branch string) *snapshot {
	t.Helper()
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	return branchOf(t, repo, plumbing.NewBranchReferenceName(branch))
}

func branchOf(t *testing.T, repo *gogit.Repository, name plumbing.ReferenceName) *snapshot {
	t.Helper()
	ref, err := repo.Reference(name, true)
	if err != nil {
		t.Fatalf("reference %s: %v", name, err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	s := &snapshot{commit: c.Hash, parents: c.ParentHashes, author: c.Author, committer: c.Committer, message: c.Message, files: map[string]string{}}
	err = tree.Files().ForEach(func(f *object.File) error {
		body, err := f.Contents()
		s.files[f.Name] = body
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func paths(files map[string]string) []string {
	var out []string
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
