package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// publishErr publishes a minimal crate; for goroutines, where t.Fatal is
// not allowed.
func publishErr(base, token, name, vers string, body []byte) error {
	req, _ := http.NewRequest("PUT", base+"/api/v1/crates/new", bytes.NewReader(body))
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("publish %s %s: %d", name, vers, resp.StatusCode)
	}
	return nil
}

// indexVersions returns the versions and checksums of a crate's index file.
func indexVersions(t *testing.T, base, path string) map[string]string {
	t.Helper()
	code, body := get(t, base+"/index/"+path)
	if code != 200 {
		t.Fatalf("index %s: %d", path, code)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		var e struct{ Vers, Cksum string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		out[e.Vers] = e.Cksum
	}
	return out
}

// TestBackupRestore backs up a serving registry while publishes go on,
// deletes the original, serves the copy as docs/deploy.md says (a file
// pointing at it), and builds a consumer from it with stock cargo. Every
// version in the copy's index has its file.
func TestBackupRestore(t *testing.T) {
	home, elsewhere := t.TempDir(), t.TempDir()
	conf := readmeConfig(t, home, filepath.Join(home, "data"))
	srv := startServer(t, home, "-c", "crated.toml")
	base := "http://" + srv.addr
	token := strings.TrimSpace(mustCrated(t, home, "", nil, "user", "add", "alice"))
	publishFrame(t, base, token, "alpha", "0.1.0")

	// Publishes during the backup.
	frames := make([][]byte, 30)
	for i := range frames {
		frames[i] = frame(t, "beta", fmt.Sprintf("0.1.%d", i))
	}
	errc := make(chan error, 1)
	go func() {
		for i, f := range frames {
			if err := publishErr(base, token, "beta", fmt.Sprintf("0.1.%d", i), f); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	backup := filepath.Join(elsewhere, "backup")
	out := mustCrated(t, elsewhere, "", nil, "backup", backup, "-c", conf)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "crate files") {
		t.Errorf("backup output: %s", out)
	}
	if r := runBin(t, elsewhere, "", nil, "backup", backup, "-c", conf); r.code == 0 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("backup into a non-empty directory: exit %d\n%s", r.code, r.stderr)
	}
	// --copy: the same files, copied and verified rather than linked.
	copied := filepath.Join(elsewhere, "copied")
	if out := mustCrated(t, elsewhere, "", nil, "backup", "--copy", copied, "-c", conf); !strings.Contains(out, "0 hard-linked") {
		t.Errorf("backup --copy: %s", out)
	}
	srv.stop(t)
	if err := os.RemoveAll(filepath.Join(home, "data")); err != nil {
		t.Fatal(err)
	}

	// Restore: point a configuration at the copy.
	restored := filepath.Join(elsewhere, "restored.toml")
	os.WriteFile(restored, []byte(fmt.Sprintf("[server_config]\naddress = \"127.0.0.1\"\nport = 0\n[db_config]\ndb_dir_path = %q\n[crate_files_config]\ndl_dir_path = %q\n",
		filepath.Join(backup, "db"), filepath.Join(backup, "crates"))), 0o644)
	srv = startServer(t, elsewhere, "-c", restored)
	base = "http://" + srv.addr
	betas := indexVersions(t, base, "be/ta/beta")
	for vers, cksum := range betas {
		code, body := get(t, base+"/api/v1/crates/beta/"+vers+"/download")
		if sum := sha256.Sum256(body); code != 200 || hex.EncodeToString(sum[:]) != cksum {
			t.Errorf("beta %s in the copy: %d, its file does not match the index", vers, code)
		}
	}
	t.Logf("the backup caught %d of %d concurrent publishes", len(betas), len(frames))

	c := testenv.NewCargo(t, "sparse+"+base+"/index/", "")
	consumer := testenv.Package(t, "[package]\nname = \"consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nalpha = { version = \"0.1\", registry = \"crated\" }\n",
		map[string]string{"src/main.rs": "fn main() { alpha::f(); }\n"})
	c.MustRun(consumer, "build")
	publishFrame(t, base, token, "gamma", "0.1.0") // alice's token still works
}

// TestBackupRefusals: the commands that need the embedded store say what to
// use instead, and nothing is written.
func TestBackupRefusals(t *testing.T) {
	dir := t.TempDir()
	pg := filepath.Join(dir, "pg.toml")
	os.WriteFile(pg, []byte("[db_config]\npostgres_url = \"postgres://crated@127.0.0.1:1/crated\"\n"), 0o600)
	if _, _, err := runCmd(t, "", "backup", filepath.Join(dir, "b"), "-c", pg); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup with PostgreSQL: %v", err)
	}
	s3 := filepath.Join(dir, "s3.toml")
	os.WriteFile(s3, []byte("[crate_files_config]\ns3_bucket = \"b\"\n"), 0o600)
	if _, _, err := runCmd(t, "", "gc", "-c", s3); err == nil || !strings.Contains(err.Error(), "bucket's tools") {
		t.Errorf("gc with S3: %v", err)
	}
	empty := configFile(t, t.TempDir(), "")
	for _, args := range [][]string{{"backup", filepath.Join(dir, "b"), "-c", empty}, {"gc", "-c", empty}} {
		if _, _, err := runCmd(t, "", args...); err == nil || !strings.Contains(err.Error(), "no registry database") {
			t.Errorf("%s on no registry: %v", args[0], err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Errorf("a refused backup created its directory")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(empty), "db")); err == nil {
		t.Errorf("a refused command created a database")
	}
}

// TestGC plants orphan blobs and temporary files, old and recent, beside a
// serving registry whose own files are old too: gc lists exactly the old
// planted ones, --delete removes exactly those, and every version still
// downloads.
func TestGC(t *testing.T) {
	dir := t.TempDir()
	conf := configFile(t, dir, "")
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.DB.DBDirPath = filepath.Join(dir, "db")
		c.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
	})
	token := srv.AddUser("alice")
	publishFrame(t, srv.URL, token, "alpha", "0.1.0")
	publishFrame(t, srv.URL, token, "alpha", "0.2.0")
	blobs, err := fs.New(filepath.Join(dir, "crates"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	versions := indexVersions(t, srv.URL, "al/ph/alpha")
	for _, cksum := range versions {
		os.Chtimes(blobs.Path(cksum), old, old) // referenced: kept however old
	}
	plant := func(content string, aged bool) string {
		sum := sha256.Sum256([]byte(content))
		key := hex.EncodeToString(sum[:])
		if err := blobs.Put(t.Context(), key, strings.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
		if aged {
			os.Chtimes(blobs.Path(key), old, old)
		}
		return blobs.Path(key)
	}
	oldOrphan := plant("an orphan of a failed publish", true)
	youngOrphan := plant("a publish in flight", false)
	shard := filepath.Dir(oldOrphan)
	staleTemp, freshTemp := filepath.Join(shard, ".put-1111"), filepath.Join(shard, ".put-2222")
	other := filepath.Join(dir, "crates", "sha256", "NOTES")
	for _, p := range []string{staleTemp, freshTemp, other} {
		os.WriteFile(p, []byte("partial"), 0o644)
	}
	os.Chtimes(staleTemp, old, old)
	os.Chtimes(other, old, old)
	all := []string{oldOrphan, youngOrphan, staleTemp, freshTemp, other}
	for _, cksum := range versions {
		all = append(all, blobs.Path(cksum))
	}

	out := mustRunCmd(t, "", "gc", "-c", conf)
	for _, p := range []string{oldOrphan, staleTemp} {
		if !strings.Contains(out, "would delete") || !strings.Contains(out, p) {
			t.Errorf("gc does not list %s:\n%s", p, out)
		}
	}
	for _, cksum := range versions {
		if strings.Contains(out, cksum) {
			t.Errorf("gc lists the referenced %s:\n%s", cksum, out)
		}
	}
	if strings.Contains(out, "NOTES") || !strings.Contains(out, "kept") {
		t.Errorf("gc output:\n%s", out)
	}
	for _, p := range all {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("gc without --delete removed %s", p)
		}
	}

	out = mustRunCmd(t, "", "gc", "--delete", "-c", conf)
	for _, p := range all {
		_, err := os.Stat(p)
		if gone := err != nil; gone != (p == oldOrphan || p == staleTemp) {
			t.Errorf("after gc --delete: %s gone=%v\n%s", p, gone, out)
		}
	}
	for vers := range versions {
		if code, _ := get(t, srv.URL+"/api/v1/crates/alpha/"+vers+"/download"); code != 200 {
			t.Errorf("alpha %s after gc: %d", vers, code)
		}
	}
	if out := mustRunCmd(t, "", "gc", "--delete", "--grace", "1m", "-c", conf); strings.Contains(out, "deleted unreferenced") {
		t.Errorf("a second gc deleted more:\n%s", out)
	}
}
