package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

func upstreamCksum(t *testing.T, srv *testenv.Crated, path string) string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/index/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var line struct{ Cksum string }
	if err := json.NewDecoder(resp.Body).Decode(&line); err != nil {
		t.Fatal(err)
	}
	return line.Cksum
}

// TestMirrorPrefetch: `crated mirror prefetch` caches every crates.io
// package of a Cargo.lock; then, with the upstream gone, a fresh cargo
// builds the locked project through the mirror.
func TestMirrorPrefetch(t *testing.T) {
	up := testenv.StartCrated(t)
	token := up.AddUser("upstream")
	publishFrame(t, up.URL, token, "leftpad", "1.2.0")
	publishFrame(t, up.URL, token, "rightpad", "0.3.0")

	dir := t.TempDir()
	conf := configFile(t, dir, "")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[mirror_config]\nupstream_index = %q\nindex_ttl = \"0s\"\n", "sparse+"+up.URL+"/index/")
	f.Close()

	project := testenv.Package(t, `[package]
name = "consumer"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
leftpad = "1"
rightpad = "0.3"
`, map[string]string{"src/main.rs": "fn main() { leftpad::f(); rightpad::f(); println!(\"ok\"); }\n"})
	lock := fmt.Sprintf(`version = 4

[[package]]
name = "consumer"
version = "0.1.0"
dependencies = ["leftpad", "rightpad"]

[[package]]
name = "leftpad"
version = "1.2.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "%s"

[[package]]
name = "rightpad"
version = "0.3.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "%s"
`, upstreamCksum(t, up, "le/ft/leftpad"), upstreamCksum(t, up, "ri/gh/rightpad"))
	lockFile := filepath.Join(project, "Cargo.lock")
	if err := os.WriteFile(lockFile, []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}

	// A second lockfile: a package from git is skipped, a duplicate counted once.
	other := filepath.Join(dir, "other.lock")
	if err := os.WriteFile(other, []byte(lock[strings.Index(lock, "[[package]]\nname = \"leftpad\""):]+`
[[package]]
name = "from-git"
version = "0.1.0"
source = "git+https://example.com/x.git#0123456789abcdef"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRunCmd(t, "", "mirror", "prefetch", "-c", conf, lockFile, other)
	if !strings.Contains(out, "2 packages: 2 fetched, 0 already cached, 0 failed; 1 skipped") {
		t.Fatalf("first prefetch: %s", out)
	}
	out = mustRunCmd(t, "", "mirror", "prefetch", "-c", conf, lockFile)
	if !strings.Contains(out, "2 packages: 0 fetched, 2 already cached") {
		t.Fatalf("second prefetch: %s", out)
	}

	upURL := up.URL
	up.Stop()
	srv := testenv.StartCrated(t, func(cfg *config.Config) {
		cfg.DB.DBDirPath = filepath.Join(dir, "db")
		cfg.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
		cfg.CrateFiles.CacheDirPath = filepath.Join(dir, "cache")
		cfg.Mirror = &config.MirrorConfig{
			UpstreamIndex: "sparse+" + upURL + "/index/", IndexTTL: 0, ServeStaleOnError: true,
			UpstreamTimeout: 2 * time.Second, UpstreamConcurrency: 2,
		}
	})
	c := testenv.NewCargo(t, "sparse+"+srv.URL+"/mirror/index/", "\n[source.crates-io]\nreplace-with = \"crated\"\n")
	// --locked: the prefetched versions, not a new resolution.
	out = c.MustRun(project, "run", "--locked")
	if !strings.Contains(out, "ok") {
		t.Fatalf("build with the upstream gone: %s", out)
	}

	// A package the upstream never had fails the command, by name.
	bad := strings.Replace(lock, `version = "0.3.0"`, `version = "9.9.9"`, 1)
	if err := os.WriteFile(lockFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, errOut, err := runCmd(t, "", "mirror", "prefetch", "-c", conf, lockFile)
	if err == nil || !strings.Contains(errOut, "rightpad 9.9.9") {
		t.Errorf("prefetch of an unknown version: %v\n%s", err, errOut)
	}
}
