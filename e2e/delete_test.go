package e2e

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
	gogit "github.com/go-git/go-git/v5"
)

func libToml(name, vers string) string {
	return `[package]
name = "` + name + `"
version = "` + vers + `"
edition = "2021"
description = "A crate of the delete test"
license = "MIT"
`
}

func userToml(req string) string {
	return `[package]
name = "user"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
leaky = { version = "` + req + `", registry = "crated" }
`
}

// TestDeleteKeepsOtherBuilds: after an operator deletes leaky 0.2.0 (the
// service method `crated crate delete` calls), stock cargo resolves and
// builds a project that leaky 0.1 satisfies, from a fresh cache, and a
// project that needs 0.2 fails to resolve rather than get other bytes.
func TestDeleteKeepsOtherBuilds(t *testing.T) {
	srv := testenv.StartCrated(t)
	alice := srv.AddUser("alice")
	c := testenv.NewCargo(t, srv.IndexURL(), "")
	publish(t, c, testenv.Package(t, libToml("leaky", "0.1.0"), nil), alice)
	publish(t, c, testenv.Package(t, libToml("leaky", "0.2.0"), nil), alice)
	main := map[string]string{"src/main.rs": "fn main() { println!(\"v={}\", leaky::hello()); }\n"}
	needs02 := testenv.Package(t, userToml("0.2"), main)
	c.MustRun(needs02, "build", "-q")

	svc := srv.Service
	d, err := svc.PlanDelete(context.Background(), "leaky", "0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(context.Background(), d, "operator test", "leaked key"); err != nil {
		t.Fatal(err)
	}

	fresh := testenv.NewCargo(t, srv.IndexURL(), "")
	if out := fresh.MustRun(testenv.Package(t, userToml("0.1"), main), "run", "-q"); !strings.Contains(out, "v=1") {
		t.Errorf("a build that needs leaky 0.1 after the delete of 0.2.0: %s", out)
	}
	out := fresh.MustFail(testenv.Package(t, userToml("0.2"), main), "generate-lockfile")
	if !strings.Contains(out, "leaky") {
		t.Errorf("cargo's failure for the deleted version does not name the crate:\n%s", out)
	}
}

// TestErrorMessagesSayWhatToDo: cargo shows the registry's detail, and the
// detail tells the user what to do: the name that exists, where to get a
// new token.
func TestErrorMessagesSayWhatToDo(t *testing.T) {
	srv := testenv.StartCrated(t)
	alice := srv.AddUser("alice")
	c := testenv.NewCargo(t, srv.IndexURL(), "")
	publish(t, c, testenv.Package(t, libToml("foo-bar", "0.1.0"), nil), alice)

	out := c.MustFail(testenv.Package(t, libToml("Foo_bar", "0.2.0"), nil),
		"publish", "--registry", "crated", "--token", alice, "--allow-dirty", "--no-verify")
	for _, want := range []string{"a crate named `foo-bar` already exists", "differ only in case or `-`/`_` are the same crate"} {
		if !strings.Contains(out, want) {
			t.Errorf("cargo publish of Foo_bar when foo-bar exists: output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "previously named") {
		t.Errorf("the message still reads like a rename:\n%s", out)
	}

	out = c.MustFail(testenv.Package(t, libToml("foo-bar", "0.3.0"), nil),
		"publish", "--registry", "crated", "--token", "not-a-token", "--allow-dirty", "--no-verify")
	if want := "get a new one at " + srv.URL + "/me"; !strings.Contains(out, want) {
		t.Errorf("cargo publish with an invalid token: output lacks %q:\n%s", want, out)
	}

	// Another spelling of an existing crate: the owner and yank API find
	// it (names are one crate whatever the spelling), and a download by
	// another spelling says which name exists.
	if out := c.MustRun(t.TempDir(), "owner", "--list", "--registry", "crated", "--token", alice, "Foo_Bar"); !strings.Contains(out, "alice") {
		t.Errorf("cargo owner --list Foo_Bar when foo-bar exists:\n%s", out)
	}
	var body struct {
		Errors []struct{ Detail string } `json:"errors"`
	}
	if code := getJSON(t, srv.URL+"/api/v1/crates/foo_bar/0.1.0/download", &body); code != 404 ||
		len(body.Errors) != 1 || !strings.Contains(body.Errors[0].Detail, "crate `foo-bar` does") {
		t.Errorf("download by another spelling: %d %+v, want 404 naming `foo-bar`", code, body)
	}
}

// TestDeleteAcrossReplicas: an operator's delete, run in its own process
// against PostgreSQL and S3 (here a third app.Main, as `crated crate
// delete` opens one), reaches a replica that has the index file cached:
// PostgreSQL notifies it. The object is removed from the bucket.
func TestDeleteAcrossReplicas(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.replica(t), cl.replica(t)
	alice := a.AddUser("alice")
	c := testenv.NewCargo(t, a.IndexURL(), "")
	publish(t, c, testenv.Package(t, libToml("leaky", "0.1.0"), nil), alice)
	publish(t, c, testenv.Package(t, libToml("leaky", "0.2.0"), nil), alice)
	if _, body := indexFile(t, b, "le/ak/leaky"); !strings.Contains(body, `"vers":"0.2.0"`) {
		t.Fatalf("replica B's index lacks 0.2.0 before the delete: %s", body)
	}

	op := app.NewMain()
	op.Config = config.Default()
	op.Config.DB.DBDirPath = t.TempDir()
	cl.config(op.Config)
	op.Logger = slog.New(slog.DiscardHandler)
	ctx := context.Background()
	if err := op.OpenExistingStores(ctx); err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	svc := op.NewService()
	d, err := svc.PlanDelete(ctx, "leaky", "0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, d, "operator test", ""); err != nil {
		t.Fatal(err)
	}
	if len(d.Blobs) != 1 || d.Blobs[0] != d.Versions[0].Cksum {
		t.Errorf("blobs deleted: %q, want the version's %s", d.Blobs, d.Versions[0].Cksum)
	}
	if _, err := op.Blobs.Stat(ctx, d.Versions[0].Cksum); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("the object is still in the bucket: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, body := indexFile(t, b, "le/ak/leaky")
		if !strings.Contains(body, `"vers":"0.2.0"`) {
			if !strings.Contains(body, `"vers":"0.1.0"`) {
				t.Errorf("replica B's index lost 0.1.0 too: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica B still serves leaky 0.2.0 a minute after the delete: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := getJSON(t, b.URL+"/api/v1/crates/leaky/0.2.0/download", nil); code != 404 {
		t.Errorf("replica B's download of the deleted version: %d, want 404", code)
	}
}

// TestDeleteFromGitIndex: the git index ([index_config]) drops a deleted
// version, then a deleted crate's file, in the local repository and the
// pushed remote.
func TestDeleteFromGitIndex(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "remote.git")
	if _, err := gogit.PlainInit(remote, true); err != nil {
		t.Fatal(err)
	}
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.Index = &config.IndexConfig{LocalPath: filepath.Join(t.TempDir(), "index"), Branch: "main", RemoteURL: remote,
			Name: "crated", Email: "crated@example.com"}
	})
	alice := srv.AddUser("alice")
	c := testenv.NewCargo(t, srv.IndexURL(), "")
	publish(t, c, testenv.Package(t, libToml("leaky", "0.1.0"), nil), alice)
	publish(t, c, testenv.Package(t, libToml("leaky", "0.2.0"), nil), alice)
	waitGitFile(t, remote, "le/ak/leaky", `"vers":"0.1.0"`, `"vers":"0.2.0"`)

	del := func(vers string) {
		t.Helper()
		d, err := srv.Service.PlanDelete(context.Background(), "leaky", vers)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Service.Delete(context.Background(), d, "operator test", ""); err != nil {
			t.Fatal(err)
		}
	}
	del("0.2.0")
	waitFor(t, "the git index to drop leaky 0.2.0", func() bool {
		f := gitFile(remote, "main", "le/ak/leaky")
		return strings.Contains(f, `"vers":"0.1.0"`) && !strings.Contains(f, `"vers":"0.2.0"`)
	})
	del("")
	waitFor(t, "the git index to drop crate leaky", func() bool { return gitFile(remote, "main", "le/ak/leaky") == "" })
}

// waitFor polls cond for up to a minute: the git index and other replicas
// follow a change in the background.
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
