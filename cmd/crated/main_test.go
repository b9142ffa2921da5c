package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
	gogit "github.com/go-git/go-git/v5"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/sqlite"
)

// runCmd runs the command line args through run, as main does, and returns
// its standard output and standard error.
func runCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func mustRunCmd(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := runCmd(t, stdin, args...)
	if err != nil {
		t.Fatalf("crated %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// configFile writes a configuration file for a registry in dir, with every
// path inside dir, plus extra TOML in [db_config].
func configFile(t *testing.T, dir, dbExtra string) string {
	t.Helper()
	file := filepath.Join(dir, "crated.toml")
	conf := fmt.Sprintf("[server_config]\naddress = \"127.0.0.1\"\nport = 0\n\n[db_config]\ndb_dir_path = %q\n%s\n[crate_files_config]\ndl_dir_path = %q\ncache_dir_path = %q\n",
		filepath.Join(dir, "db"), dbExtra, filepath.Join(dir, "crates"), filepath.Join(dir, "cache"))
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TestAdminCommands runs the user and token subcommands against SQLite in a
// temp dir and checks their effect in the database.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	conf := configFile(t, dir, "")
	mustRunCmd(t, "", "migrate", "-c", conf) // the admin commands need an existing registry
	alice := strings.TrimSpace(mustRunCmd(t, "", "user", "add", "-c", conf, "alice"))
	bob := strings.TrimSpace(mustRunCmd(t, "", "user", "add", "-c", conf, "bob"))
	if alice == "" || bob == "" || alice == bob {
		t.Fatalf("tokens %q and %q", alice, bob)
	}
	list := mustRunCmd(t, "", "user", "list", "-c", conf)
	for _, want := range []string{"LOGIN", "alice", "bob", "password"} {
		if !strings.Contains(list, want) {
			t.Errorf("user list lacks %q:\n%s", want, list)
		}
	}
	mustRunCmd(t, "a-long-enough-password-42\n", "user", "passwd", "-c", conf, "alice")
	rotated := strings.TrimSpace(mustRunCmd(t, "", "token", "rotate", "-c", conf, "alice"))
	if rotated == "" || rotated == alice {
		t.Fatalf("rotated token %q", rotated)
	}

	errCases := []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "-c", conf, "alice"}, "alice"},
		{[]string{"user", "add", "-c", conf}, "usage"},
		{[]string{"user", "frobnicate", "-c", conf}, "unknown user subcommand"},
		{[]string{"user"}, "usage"},
		{[]string{"token", "rotate", "-c", conf, "nobody"}, "nobody"},
		{[]string{"token", "revoke"}, "usage"},
		{[]string{"nonsense"}, "unknown command"},
		{nil, "no command"},
	}
	for _, tc := range errCases {
		_, errOut, err := runCmd(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error()+errOut, tc.want) {
			t.Errorf("crated %s: %v, want an error saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if out := mustRunCmd(t, "", "version"); !strings.HasPrefix(out, "crated ") {
		t.Errorf("version: %q", out)
	}

	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "db", "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	u, err := st.UserByLogin(ctx, "alice")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("alice after passwd: %+v, %v", u, err)
	}
	if _, err := st.TokenByHash(ctx, tokenHash(alice)); !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("alice's first token after rotate: %v, want not found", err)
	}
	for name, tok := range map[string]string{"alice": rotated, "bob": bob} {
		got, err := st.TokenByHash(ctx, tokenHash(tok))
		if err != nil {
			t.Errorf("%s's token: %v", name, err)
			continue
		}
		if owner, _ := st.UserByID(ctx, got.UserID); owner == nil || owner.Login != name {
			t.Errorf("%s's token belongs to %+v", name, owner)
		}
	}
}

// TestMigrateCommand applies the migrations to an empty PostgreSQL database,
// twice: the second run finds nothing to do.
func TestMigrateCommand(t *testing.T) {
	url := testenv.PostgresURL(t)
	dir := t.TempDir()
	conf := configFile(t, dir, fmt.Sprintf("postgres_url = %q\n", url))
	for range 2 {
		if out := mustRunCmd(t, "", "migrate", "-c", conf); !strings.Contains(out, "migrations applied") {
			t.Errorf("migrate: %q", out)
		}
	}
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var migrations, tables int
	if err := c.QueryRow(t.Context(), `SELECT count(*) FROM migrations`).Scan(&migrations); err != nil || migrations == 0 {
		t.Errorf("migrations table: %d rows, %v", migrations, err)
	}
	if err := c.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = 'public' AND table_name IN ('crates', 'versions', 'users', 'tokens', 'audit_log')`).Scan(&tables); err != nil || tables != 5 {
		t.Errorf("%d of the 5 main tables exist, %v", tables, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "db", "crated.db")); err == nil {
		t.Errorf("migrate with postgres_url created a SQLite database")
	}
}

func publishFrame(t *testing.T, base, token, name, vers string) {
	t.Helper()
	frame := testenv.Frame(testenv.Metadata(name, vers), testenv.Tarball(t, testenv.CrateFiles(name, vers)...))
	req, _ := http.NewRequest("PUT", base+"/api/v1/crates/new", bytes.NewReader(frame))
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("publish %s %s: %d %s", name, vers, resp.StatusCode, b)
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestMigrateStoreCommand moves a registry made by a running crated (SQLite
// and files) to another store with `crated migrate-store`, then serves the
// target: the index files are byte for byte the same, downloads work, and
// the old token still publishes.
func TestMigrateStoreCommand(t *testing.T) {
	src := testenv.StartCrated(t)
	token := src.AddUser("alice")
	publishFrame(t, src.URL, token, "alpha", "0.1.0")
	publishFrame(t, src.URL, token, "alpha", "0.2.0")
	publishFrame(t, src.URL, token, "beta", "1.0.0")
	req, _ := http.NewRequest("DELETE", src.URL+"/api/v1/crates/alpha/0.1.0/yank", nil)
	req.Header.Set("Authorization", token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("yank: %v %v", resp, err)
	}
	paths := []string{"al/ph/alpha", "be/ta/beta"}
	want := map[string][]byte{}
	for _, p := range paths {
		_, want[p] = get(t, src.URL+"/index/"+p)
	}
	src.Stop()
	from := []string{"--from", "sqlite:" + filepath.Join(src.Dir, "db"), "--from-blobs", filepath.Join(src.Dir, "crates")}

	targets := []struct {
		name string
		// setup returns the target flags and the configuration that
		// serves the target.
		setup func(t *testing.T) ([]string, func(*config.Config))
	}{
		{"sqlite and files", func(t *testing.T) ([]string, func(*config.Config)) {
			dir := t.TempDir()
			return []string{"--to", "sqlite:" + filepath.Join(dir, "db", "crated.db"), "--to-blobs", filepath.Join(dir, "crates")},
				func(c *config.Config) {
					c.DB.DBDirPath = filepath.Join(dir, "db")
					c.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
				}
		}},
		{"postgres and s3", func(t *testing.T) ([]string, func(*config.Config)) {
			url := testenv.PostgresURL(t)
			endpoint, access, secret, bucket := testenv.S3Bucket(t)
			dir := t.TempDir()
			accessFile, secretFile := filepath.Join(dir, "access"), filepath.Join(dir, "secret")
			os.WriteFile(accessFile, []byte(access+"\n"), 0o600)
			os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
			return []string{"--to", "postgres:" + url, "--to-s3-bucket", bucket, "--to-s3-endpoint", endpoint,
					"--to-s3-access-key-file", accessFile, "--to-s3-secret-key-file", secretFile},
				func(c *config.Config) {
					c.DB.PostgresURL = url
					c.CrateFiles.S3Bucket, c.CrateFiles.S3Endpoint = bucket, endpoint
					c.CrateFiles.S3AccessKey, c.CrateFiles.S3SecretKey = access, secret
				}
		}},
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			to, serve := tc.setup(t)
			args := append(append([]string{"migrate-store"}, from...), to...)
			out, progress, err := runCmd(t, "", args...)
			if err != nil {
				t.Fatalf("migrate-store: %v\n%s%s", err, out, progress)
			}
			for _, w := range []string{"users:    1 created", "versions: 3 copied", "files:    3 copied", "verified"} {
				if !strings.Contains(out, w) {
					t.Errorf("migrate-store output lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(progress, "crates") {
				t.Errorf("no progress bar on stderr: %q", progress)
			}
			// Again: everything is there already.
			out = mustRunCmd(t, "", append(args, "--quiet")...)
			if !strings.Contains(out, "versions: 0 copied, 3 already there") || !strings.Contains(out, "files:    0 copied, 3 already there") {
				t.Errorf("second migrate-store:\n%s", out)
			}
			if out := mustRunCmd(t, "", append(args, "--verify-only", "--quiet")...); !strings.Contains(out, "verified") {
				t.Errorf("--verify-only: %s", out)
			}

			dst := testenv.StartCrated(t, serve)
			for _, p := range paths {
				code, body := get(t, dst.URL+"/index/"+p)
				if code != 200 || !bytes.Equal(body, want[p]) {
					t.Errorf("index %s on the target: %d\n%s\nwant\n%s", p, code, body, want[p])
				}
			}
			code, body := get(t, dst.URL+"/api/v1/crates/beta/1.0.0/download")
			if sum := sha256.Sum256(body); code != 200 || !strings.Contains(string(want["be/ta/beta"]), hex.EncodeToString(sum[:])) {
				t.Errorf("download from the target: %d, %d bytes", code, len(body))
			}
			publishFrame(t, dst.URL, token, "alpha", "0.3.0")
		})
	}
}

// TestMigrateStoreFlags: mistakes on the command line are refused before
// anything is opened or written.
func TestMigrateStoreFlags(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "a.db")
	cases := []struct {
		args []string
		want string
	}{
		{nil, "--from and --to are required"},
		{[]string{"--from", db}, "--from and --to are required"},
		{[]string{"--from", db, "--to", db}, "same store"},
		{[]string{"--from", db, "--to", "sqlite:" + filepath.Join(dir, "b.db"), "--to-blobs", dir}, "--from-blobs"},
		{[]string{"--from", db, "--to", "sqlite:" + filepath.Join(dir, "b.db"), "--from-blobs", dir}, "--to-blobs DIR or --to-s3-bucket"},
		{[]string{"--from", db, "--to", "sqlite:" + filepath.Join(dir, "b.db"), "--from-blobs", dir, "--to-blobs", dir, "--to-s3-bucket", "b"}, "not both"},
		{[]string{"--from", db, "--to", "sqlite:" + filepath.Join(dir, "b.db"), "--from-blobs", filepath.Join(dir, "nope"), "--to-blobs", dir}, "not a directory"},
		{[]string{"--from", db, "--to", "sqlite:" + filepath.Join(dir, "b.db")}, "does not exist"},
		{[]string{"--from", db, "--to", "sqlite:x", "extra"}, "unexpected argument"},
	}
	for _, tc := range cases {
		_, errOut, err := runCmd(t, "", append([]string{"migrate-store"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error()+errOut, tc.want) {
			t.Errorf("migrate-store %s: %v, want an error saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b.db")); err == nil {
		t.Errorf("a refused migrate-store created the target")
	}
}

// TestIndexRebuild rebuilds the git index of a registry from its store with
// `crated index rebuild` and pushes it to the remote.
func TestIndexRebuild(t *testing.T) {
	src := testenv.StartCrated(t)
	token := src.AddUser("alice")
	publishFrame(t, src.URL, token, "alpha", "0.1.0")
	src.Stop()

	remote := filepath.Join(t.TempDir(), "remote.git")
	if _, err := gogit.PlainInit(remote, true); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "crated.toml")
	conf := fmt.Sprintf("[db_config]\ndb_dir_path = %q\n[crate_files_config]\ndl_dir_path = %q\n[server_config]\nbase_url = \"https://crates.example\"\n[index_config]\nlocal_path = %q\nremote_url = %q\n",
		filepath.Join(src.Dir, "db"), filepath.Join(src.Dir, "crates"), filepath.Join(dir, "index"), remote)
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCmd(t, "", "index", "rebuild", "-c", file); err != nil {
		t.Fatalf("index rebuild: %v\n%s", err, errOut)
	}
	repo, err := gogit.PlainOpen(remote)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference("refs/heads/main", true)
	if err != nil {
		t.Fatalf("the remote has no main branch: %v", err)
	}
	commit, _ := repo.CommitObject(ref.Hash())
	for path, want := range map[string]string{"al/ph/alpha": `"vers":"0.1.0"`, "config.json": `"api":"https://crates.example"`} {
		f, err := commit.File(path)
		if err != nil {
			t.Fatalf("%s not in the pushed index: %v", path, err)
		}
		if body, _ := f.Contents(); !strings.Contains(body, want) {
			t.Errorf("%s: %s", path, body)
		}
	}
	if _, _, err := runCmd(t, "", "index", "rebuild", "-c", configFile(t, t.TempDir(), "")); err == nil || !strings.Contains(err.Error(), "index_config") {
		t.Errorf("rebuild without [index_config]: %v", err)
	}
}
