package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/registry"
	"github.com/crated/crated/sqlite"
)

// TestConcurrentFirstPublishes publishes several versions of a crate that
// does not exist yet, all at once: every one must land, whichever of them
// creates the crate.
func TestConcurrentFirstPublishes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, _ := fs.New(filepath.Join(dir, "crates"))
	svc := registry.New(st, blobs, registry.Config{})
	alice, _, err := svc.CreateUser(ctx, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	bob, _, _ := svc.CreateUser(ctx, "bob", "")

	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vers := fmt.Sprintf("0.%d.0", i)
			frame := testenv.Frame(testenv.Metadata("fresh", vers), testenv.Tarball(t, testenv.CrateFiles("fresh", vers)...))
			_, errs[i] = svc.Publish(ctx, alice, bytes.NewReader(frame))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("version 0.%d.0: %v", i, err)
		}
	}
	c, err := st.CrateByName(ctx, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	if vs, _ := st.Versions(ctx, c.ID); len(vs) != 10 {
		t.Errorf("%d versions landed, want 10", len(vs))
	}

	// Someone else racing to create the same name still loses.
	frame := testenv.Frame(testenv.Metadata("fresh", "9.0.0"), testenv.Tarball(t, testenv.CrateFiles("fresh", "9.0.0")...))
	if _, err := svc.Publish(ctx, bob, bytes.NewReader(frame)); !crated.IsCode(err, crated.EFORBIDDEN) {
		t.Errorf("bob publishing into alice's crate: %v", err)
	}
}
