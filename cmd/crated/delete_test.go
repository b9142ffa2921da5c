package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/sqlite"
)

// TestCrateDelete deletes, with `crated crate delete` in its own process, a
// version and then a whole crate of a registry that a `crated serve` process
// on the same SQLite file is serving, with the deleted index file already in
// its cache. The running server stops listing the version in its sparse index
// (it cannot learn of it but from the store), its download is a 404 and its
// .crate file is gone, the web page no longer shows it; without --force
// nothing changes; the audit log records the operator.
func TestCrateDelete(t *testing.T) {
	home := t.TempDir()
	root := filepath.Join(home, "data")
	readmeConfig(t, home, root)
	srv := startServer(t, home, "-c", "crated.toml")
	base := "http://" + srv.addr
	token := strings.TrimSpace(mustCrated(t, home, "", nil, "user", "add", "alice"))
	publishFrame(t, base, token, "leaky", "1.0.0")
	publishFrame(t, base, token, "leaky", "1.1.0")
	publishFrame(t, base, token, "other", "1.0.0")

	indexHas := func(vers string) bool {
		code, body := get(t, base+"/index/le/ak/leaky")
		return code == http.StatusOK && strings.Contains(string(body), `"vers":"`+vers+`"`)
	}
	// The server caches the index file now.
	if !indexHas("1.1.0") {
		t.Fatal("the index lacks leaky 1.1.0 before the delete")
	}
	dl := base + "/api/v1/crates/leaky/1.1.0/download"
	code, crate := get(t, dl)
	if code != http.StatusOK {
		t.Fatalf("download before the delete: %d", code)
	}
	sum := sha256.Sum256(crate)
	blobs, err := fs.New(filepath.Join(root, "crates"))
	if err != nil {
		t.Fatal(err)
	}
	blobPath := blobs.Path(hex.EncodeToString(sum[:]))
	if _, err := os.Stat(blobPath); err != nil {
		t.Fatalf("the .crate file is not where expected: %v", err)
	}
	if _, page := get(t, base+"/crates/leaky"); !strings.Contains(string(page), "1.1.0") {
		t.Fatalf("the crate page lacks 1.1.0 before the delete")
	}

	// Without --force: shown, refused, nothing written.
	store := openStore(t, filepath.Join(root, "db", "crated.db"))
	before := len(audit(t, store))
	r := runBin(t, home, "", nil, "crate", "delete", "leaky", "1.1.0")
	if r.code == 0 || !strings.Contains(r.stdout, "version 1.1.0 of crate leaky") ||
		!strings.Contains(r.stderr, "crate delete leaky 1.1.0 --force") {
		t.Errorf("delete without --force: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if n := len(audit(t, store)); n != before {
		t.Errorf("a refused delete wrote %d audit entries", n-before)
	}
	if _, err := os.Stat(blobPath); err != nil || !indexHas("1.1.0") {
		t.Fatalf("a refused delete removed something: %v", err)
	}

	mustCrated(t, home, "", nil, "crate", "delete", "leaky", "1.1.0", "--force", "--reason", "leaked key")
	waitFor(t, "the running server to drop leaky 1.1.0 from its index", func() bool { return !indexHas("1.1.0") })
	if !indexHas("1.0.0") {
		t.Error("the delete of 1.1.0 took 1.0.0 out of the index")
	}
	if code, _ := get(t, dl); code != http.StatusNotFound {
		t.Errorf("download of the deleted version: %d, want 404", code)
	}
	if _, err := os.Stat(blobPath); !os.IsNotExist(err) {
		t.Errorf("the deleted version's .crate file is still there: %v", err)
	}
	if code, _ := get(t, base+"/crates/leaky/1.1.0"); code != http.StatusNotFound {
		t.Errorf("web page of the deleted version: %d, want 404", code)
	}
	if _, page := get(t, base+"/crates/leaky"); strings.Contains(string(page), "1.1.0") {
		t.Errorf("the crate page still shows 1.1.0")
	}
	e := audit(t, store)[0]
	if e.Action != "delete_version" || e.UserID != crated.OperatorID || e.Crate != "leaky" || e.Version != "1.1.0" ||
		!strings.Contains(e.Detail, "operator ") || !strings.Contains(e.Detail, "leaked key") {
		t.Errorf("audit entry %+v", *e)
	}

	// The whole crate, with its owners.
	r = runBin(t, home, "", nil, "crate", "delete", "leaky")
	if r.code == 0 || !strings.Contains(r.stdout, "the whole crate leaky: 1 versions (1.0.0) and its owners (alice)") {
		t.Errorf("crate delete without --force: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	mustCrated(t, home, "", nil, "crate", "delete", "leaky", "--force")
	waitFor(t, "the running server to drop crate leaky", func() bool {
		code, _ := get(t, base+"/index/le/ak/leaky")
		return code == http.StatusNotFound
	})
	for _, u := range []string{base + "/api/v1/crates/leaky/1.0.0/download", base + "/crates/leaky"} {
		if code, _ := get(t, u); code != http.StatusNotFound {
			t.Errorf("GET %s after the crate delete: %d, want 404", u, code)
		}
	}
	if e := audit(t, store)[0]; e.Action != "delete_crate" || e.Crate != "leaky" || e.UserID != crated.OperatorID {
		t.Errorf("audit entry %+v", *e)
	}
	if code, _ := get(t, base+"/api/v1/crates/other/1.0.0/download"); code != http.StatusOK {
		t.Errorf("another crate's download after the deletes: %d", code)
	}
	// The name is free again (see crateSpecs).
	publishFrame(t, base, token, "leaky", "1.1.0")
	waitFor(t, "the re-published leaky 1.1.0", func() bool { return indexHas("1.1.0") })

	if r := runBin(t, home, "", nil, "crate", "delete", "nothere", "--force"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("delete of an unknown crate: exit %d, stderr %s", r.code, r.stderr)
	}
}

// openStore opens the server's SQLite file from the test process.
func openStore(t *testing.T, path string) crated.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func audit(t *testing.T, s crated.Store) []*crated.AuditEntry {
	t.Helper()
	a, err := s.Audit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitFor polls cond for up to a minute: the server learns of another
// process's change by polling, and the machine may be slow.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
