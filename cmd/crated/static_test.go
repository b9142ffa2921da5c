package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/sqlite"
)

// staticConfig writes a configuration for the registry of src with its
// static tree in static.
func staticConfig(t *testing.T, src *testenv.Crated, url, static string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "crated.toml")
	conf := fmt.Sprintf("[server_config]\nbase_url = %q\nstatic_dir = %q\n[db_config]\ndb_dir_path = %q\n[crate_files_config]\ndl_dir_path = %q\n",
		url, static, filepath.Join(src.Dir, "db"), filepath.Join(src.Dir, "crates"))
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestStaticRebuildCommand: `crated static rebuild` prints nothing for a
// consistent tree, and each difference otherwise, after repairing it;
// --dry-run repairs nothing.
func TestStaticRebuildCommand(t *testing.T) {
	static := filepath.Join(t.TempDir(), "static")
	src := testenv.StartCrated(t, func(c *config.Config) { c.Server.StaticDir = static })
	token := src.AddUser("alice")
	publishFrame(t, src.URL, token, "alpha", "0.1.0")
	url := src.URL
	src.Stop()
	file := staticConfig(t, src, url, static)

	if out := mustRunCmd(t, "", "static", "rebuild", "-c", file); out != "" {
		t.Errorf("rebuild of a consistent tree printed %q, want nothing", out)
	}
	os.Remove(filepath.Join(static, "api/v1/crates/alpha/0.1.0/download"))
	os.WriteFile(filepath.Join(static, "index/al/ph/alpha"), []byte("stale\n"), 0o644)
	os.MkdirAll(filepath.Join(static, "index/gh/os"), 0o755)
	os.WriteFile(filepath.Join(static, "index/gh/os/ghost"), []byte("{}\n"), 0o644)
	want := "added api/v1/crates/alpha/0.1.0/download\nchanged index/al/ph/alpha\nremoved index/gh/os/ghost\n"
	if out := mustRunCmd(t, "", "static", "rebuild", "--dry-run", "-c", file); out != want {
		t.Errorf("rebuild --dry-run printed %q, want %q", out, want)
	}
	if out := mustRunCmd(t, "", "static", "rebuild", "--verify", "-c", file); out != want {
		t.Errorf("rebuild printed %q, want %q", out, want)
	}
	if out := mustRunCmd(t, "", "static", "rebuild", "--verify", "-c", file); out != "" {
		t.Errorf("second rebuild printed %q, want nothing", out)
	}
	if _, _, err := runCmd(t, "", "static", "rebuild", "-c", configFile(t, t.TempDir(), "")); err == nil || !strings.Contains(err.Error(), "static_dir") {
		t.Errorf("rebuild without static_dir: %v", err)
	}
}

// TestDownloadsIngestCommand: the downloads of a log are added once, however
// often it is ingested.
func TestDownloadsIngestCommand(t *testing.T) {
	static := filepath.Join(t.TempDir(), "static")
	src := testenv.StartCrated(t)
	token := src.AddUser("alice")
	publishFrame(t, src.URL, token, "alpha", "0.1.0")
	url := src.URL
	src.Stop()
	file := staticConfig(t, src, url, static)

	log := filepath.Join(t.TempDir(), "downloads.log")
	lines := "2026-12-07T04:20:53+00:00 200 GET /api/v1/crates/alpha/0.1.0/download 778\n" +
		"2026-12-07T04:20:54+00:00 304 GET /api/v1/crates/alpha/0.1.0/download 0\n" +
		"2026-12-07T04:20:55+00:00 200 GET /api/v1/crates/alpha/0.1.0/download 778\n" +
		"2026-12-07T04:20:56+00:00 200 GET /api/v1/crates/alpha/9.9.9/download 778\n"
	if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"4 new lines, 2 downloads counted", "0 new lines, 0 downloads counted"} {
		out, errOut, err := runCmd(t, "", "downloads", "ingest", log, "-c", file)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("ingest #%d: %q %q %v, want %q", i+1, out, errOut, err, want)
		}
		if i == 0 && !strings.Contains(errOut, "alpha@9.9.9") {
			t.Errorf("unknown version not reported: %q", errOut)
		}
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(src.Dir, "db", "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.CrateByName(context.Background(), "alpha")
	if err != nil || c.Downloads != 2 {
		t.Errorf("alpha has %d downloads (%v), want 2", c.Downloads, err)
	}
}
