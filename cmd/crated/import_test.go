package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/registryimport/importtest"
)

// TestImportUsageWritesNothing: a command line that cannot work is refused
// before any database or data directory is created.
func TestImportUsageWritesNothing(t *testing.T) {
	dir := t.TempDir()
	conf := configFile(t, dir, "")
	src := t.TempDir()
	indexDir, cratesDir := importtest.Write(t, src, importtest.Fixture(), importtest.Flat)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--index", indexDir, "--crates", cratesDir}, "--owner"},
		{[]string{"--crates", cratesDir, "--owner", "alice"}, "required"},
		{[]string{"--index", filepath.Join(src, "nope"), "--crates", cratesDir, "--owner", "alice"}, "not a directory"},
		{[]string{"--index", indexDir, "--crates", cratesDir, "--owner", "alice", "extra"}, "unexpected argument"},
		// No registry yet, so no owner: say which one was looked for.
		{[]string{"--index", indexDir, "--crates", cratesDir, "--owner", "alice"}, "no registry database"},
	} {
		_, _, err := runCmd(t, "", append([]string{"import", "-c", conf}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("import %v: err = %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("a refused import left files in the data directory: %v", entries)
	}
}

// TestImportKtraServeAndBuild moves a Ktra-layout registry into crated
// with the command, checks that crated serves every source index file byte
// for byte, that stock cargo builds a consumer from the imported crates, and
// that a second import changes nothing.
func TestImportKtraServeAndBuild(t *testing.T) {
	dir := t.TempDir()
	conf := configFile(t, dir, "")
	mustRunCmd(t, "", "migrate", "-c", conf)
	mustRunCmd(t, "", "user", "add", "-c", conf, "alice")
	vs := importtest.Fixture()
	indexDir, cratesDir := importtest.Write(t, t.TempDir(), vs, importtest.Ktra)
	args := []string{"import", "-c", conf, "--index", indexDir, "--crates", cratesDir, "--owner", "alice"}
	out := mustRunCmd(t, "", args...)
	if !strings.Contains(out, "imported: 9 versions of 7 crates") || !strings.Contains(out, "identical (already in crated): 0") {
		t.Fatalf("import output:\n%s", out)
	}

	c := testenv.StartCrated(t, func(cfg *config.Config) {
		cfg.DB.DBDirPath = filepath.Join(dir, "db")
		cfg.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
	})
	for p, want := range importtest.IndexFiles(vs) {
		resp, err := http.Get(c.URL + "/index/" + p)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Errorf("/index/%s: %d\n%s\nwant the source file\n%s", p, resp.StatusCode, got, want)
		}
	}

	cargo := testenv.NewCargo(t, c.IndexURL(), "")
	consumer := testenv.Package(t, `[package]
name = "consumer"
version = "0.1.0"
edition = "2021"

[dependencies]
foo-bar = { version = "=1.1.0-rc.1", registry = "crated" }
my-lib-2 = { version = "=2.0.0-alpha-1", registry = "crated" }
abc = { version = "1", registry = "crated" }
serde_like = { package = "Serde_Like", version = "1", registry = "crated" }
`, map[string]string{"src/main.rs": `fn main() {
    println!("{}", foo_bar::answer() + my_lib_2::answer() + abc::answer() + serde_like::answer());
}
`})
	if out := cargo.MustRun(consumer, "run", "-q"); strings.TrimSpace(out) != "168" {
		t.Errorf("consumer printed %q, want 168", out)
	}
	lock, _ := os.ReadFile(filepath.Join(consumer, "Cargo.lock"))
	if !strings.Contains(string(lock), "name = \"Serde_Like\"\nversion = \"1.0.0\"") {
		t.Errorf("cargo picked a yanked Serde_Like:\n%s", lock)
	}

	c.Stop()
	out = mustRunCmd(t, "", args...)
	if !strings.Contains(out, "imported: 0 versions") || !strings.Contains(out, "identical (already in crated): 9") {
		t.Errorf("second import output:\n%s", out)
	}
}

// TestImportReportsProblems: a tampered and a missing .crate are named in
// the summary and in the --report file, their versions are skipped, and the
// command still succeeds for the rest.
func TestImportReportsProblems(t *testing.T) {
	dir := t.TempDir()
	conf := configFile(t, dir, "")
	mustRunCmd(t, "", "migrate", "-c", conf)
	mustRunCmd(t, "", "user", "add", "-c", conf, "alice")
	vs := importtest.Fixture()
	indexDir, cratesDir := importtest.Write(t, t.TempDir(), vs, importtest.Static)
	tampered := filepath.Join(cratesDir, importtest.CratePath(importtest.Static, "baz", "0.1.0"))
	if err := os.WriteFile(tampered, []byte("not the crate the index describes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cratesDir, importtest.CratePath(importtest.Static, "ab", "1.0.0"))); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "report.txt")
	out := mustRunCmd(t, "", "import", "-c", conf, "--index", indexDir, "--crates", cratesDir, "--owner", "alice", "--report", report)
	for _, want := range []string{
		"imported: 7 versions",
		"skipped, crate file missing: 1",
		"skipped, crate file does not match cksum: 1",
		"baz@0.1.0 (" + tampered + ")",
		"ab@1.0.0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 ||
		!strings.Contains(string(b), "baz@0.1.0") || !strings.Contains(string(b), "ab@1.0.0") {
		t.Errorf("report file:\n%s\nwant one line for baz@0.1.0 and one for ab@1.0.0", b)
	}
}

// TestImportGitIndex: with [index_config], the import says how the git
// index catches up, and after `crated index rebuild` the git index holds
// every source index file byte for byte.
func TestImportGitIndex(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "crated.toml")
	conf := fmt.Sprintf("[db_config]\ndb_dir_path = %q\n[crate_files_config]\ndl_dir_path = %q\n[index_config]\nlocal_path = %q\n",
		filepath.Join(dir, "db"), filepath.Join(dir, "crates"), filepath.Join(dir, "index"))
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRunCmd(t, "", "migrate", "-c", file)
	mustRunCmd(t, "", "user", "add", "-c", file, "alice")
	vs := importtest.Fixture()
	indexDir, cratesDir := importtest.Write(t, t.TempDir(), vs, importtest.Flat)
	out := mustRunCmd(t, "", "import", "-c", file, "--index", indexDir, "--crates", cratesDir, "--owner", "alice")
	if !strings.Contains(out, "crated index rebuild") {
		t.Errorf("the import does not say how the git index catches up:\n%s", out)
	}
	if _, errOut, err := runCmd(t, "", "index", "rebuild", "-c", file); err != nil {
		t.Fatalf("index rebuild: %v\n%s", err, errOut)
	}
	repo, err := gogit.PlainOpen(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference("refs/heads/main", true)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range importtest.IndexFiles(vs) {
		f, err := commit.File(p)
		if err != nil {
			t.Errorf("%s not in the git index: %v", p, err)
			continue
		}
		if got, _ := f.Contents(); got != string(want) {
			t.Errorf("git index %s:\n%s\nwant the source file\n%s", p, got, want)
		}
	}
}
