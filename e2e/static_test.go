package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// staticServer starts crated publishing its static files under its data
// directory.
func staticServer(t *testing.T, edit ...func(*config.Config)) (*testenv.Crated, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "static")
	srv := testenv.StartCrated(t, append([]func(*config.Config){func(c *config.Config) { c.Server.StaticDir = dir }}, edit...)...)
	return srv, dir
}

// sameAsServed fails unless the static file at path holds exactly what
// crated answers for the same path, with a token when one is given.
func sameAsServed(t *testing.T, srv *testenv.Crated, dir, path, token string) {
	t.Helper()
	file, err := os.ReadFile(filepath.Join(dir, path))
	if err != nil {
		t.Errorf("static file: %v", err)
		return
	}
	r, _ := http.NewRequest("GET", srv.URL+"/"+path, nil)
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	served, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(file, served) {
		t.Errorf("%s: static file %q, crated serves %d %q", path, file, resp.StatusCode, served)
	}
}

// TestStaticFilesBeforeAnswer: when a publish or a yank is answered, the
// static tree already holds crated's bytes.
func TestStaticFilesBeforeAnswer(t *testing.T) {
	srv, dir := staticServer(t)
	token := srv.AddUser("alice")
	if st, b, _ := publishAPI(t, srv, token, "static_one", "1.0.0"); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	for _, p := range []string{"index/config.json", "index/st/at/static_one", "api/v1/crates/static_one/1.0.0/download"} {
		sameAsServed(t, srv, dir, p, "")
	}
	if st, b, _ := req(t, "DELETE", srv.URL+"/api/v1/crates/static_one/1.0.0/yank", nil, "Authorization", token); st != 200 {
		t.Fatalf("yank: %d %s", st, b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "index/st/at/static_one")); !bytes.Contains(b, []byte(`"yanked":true`)) {
		t.Errorf("index file after the yank was answered: %s", b)
	}
	sameAsServed(t, srv, dir, "index/st/at/static_one", "")
}

// TestStaticRepairedAtStart: a crash between the database commit and the
// files, simulated by a commit through a service without the publisher
// (what a server killed between the two leaves), is repaired when crated
// next starts, before it serves.
func TestStaticRepairedAtStart(t *testing.T) {
	srv, dir := staticServer(t)
	token := srv.AddUser("alice")
	if st, b, _ := publishAPI(t, srv, token, "crashy", "1.0.0"); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	// A second process on the same store, as an admin command is: its
	// commit reaches no publisher.
	m := app.NewMain()
	cfg := *srv.Main.Config
	m.Config = &cfg
	m.Config.Server.BaseURL = srv.URL
	if err := m.OpenExistingStores(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := m.NewService()
	u, err := m.Store.UserByLogin(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	frame := testenv.Frame(testenv.Metadata("crashy", "2.0.0"), testenv.Tarball(t, testenv.CrateFiles("crashy", "2.0.0")...))
	if _, err := svc.Publish(context.Background(), u, bytes.NewReader(frame)); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := os.Stat(filepath.Join(dir, "api/v1/crates/crashy/2.0.0/download")); err == nil {
		t.Fatal("the commit without the publisher wrote static files: the test simulates no crash")
	}
	os.WriteFile(filepath.Join(dir, "index/cr/as/.static-42"), []byte("half a file"), 0o644)

	srv.Restart()
	for _, p := range []string{"index/cr/as/crashy", "api/v1/crates/crashy/2.0.0/download", "api/v1/crates/crashy/1.0.0/download"} {
		sameAsServed(t, srv, dir, p, "")
	}
	if _, err := os.Stat(filepath.Join(dir, "index/cr/as/.static-42")); err == nil {
		t.Error("a temporary file left by the crash is still there")
	}
}

// TestStaticReplicasAgree: two replicas on one database, each with a tree
// of its own, hold the same bytes: the writing one before it answers, the
// other once PostgreSQL tells it of the change.
func TestStaticReplicasAgree(t *testing.T) {
	cl := newCluster(t)
	dirs := []string{filepath.Join(t.TempDir(), "static"), filepath.Join(t.TempDir(), "static")}
	base := "https://crates.example.com" // one config.json for both
	var replicas []*testenv.Crated
	for _, d := range dirs {
		replicas = append(replicas, cl.replica(t, func(c *config.Config) {
			c.Server.StaticDir = d
			c.Server.Port = freePort(t) // port 0 would make base_url the replica's own
			c.Server.BaseURL = base
		}))
	}
	token := replicas[0].AddUser("alice")
	for _, step := range []func() (int, []byte, http.Header){
		func() (int, []byte, http.Header) {
			frame := testenv.Frame(testenv.Metadata("twin", "1.0.0"), testenv.Tarball(t, testenv.CrateFiles("twin", "1.0.0")...))
			return req(t, "PUT", "http://"+replicas[0].Addr().String()+"/api/v1/crates/new", frame, "Authorization", token)
		},
		func() (int, []byte, http.Header) {
			return req(t, "DELETE", "http://"+replicas[1].Addr().String()+"/api/v1/crates/twin/1.0.0/yank", nil, "Authorization", token)
		},
	} {
		if st, b, _ := step(); st != 200 {
			t.Fatalf("%d %s", st, b)
		}
		eventually(t, func() string {
			for _, p := range []string{"index/config.json", "index/tw/in/twin", "api/v1/crates/twin/1.0.0/download"} {
				a, errA := os.ReadFile(filepath.Join(dirs[0], p))
				b, errB := os.ReadFile(filepath.Join(dirs[1], p))
				if errA != nil || errB != nil || !bytes.Equal(a, b) {
					return fmt.Sprintf("%s: %q (%v) and %q (%v)", p, a, errA, b, errB)
				}
			}
			return ""
		})
	}
	if b, _ := os.ReadFile(filepath.Join(dirs[0], "index/tw/in/twin")); !bytes.Contains(b, []byte(`"yanked":true`)) {
		t.Errorf("the yank through the other replica is not in the first one's tree: %s", b)
	}
}

// TestStaticFullChange: a change of everything (what a replica's change
// listener reports when notifications may have been missed: its first
// LISTEN, a reconnection) brings the tree up to date at once, not at the
// background loop's next tick.
func TestStaticFullChange(t *testing.T) {
	srv, dir := staticServer(t)
	token := srv.AddUser("alice")
	if st, b, _ := publishAPI(t, srv, token, "missed", "1.0.0"); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	// A change this replica was never told of, as from another replica
	// while its listener was down: the file is not there.
	path := filepath.Join(dir, "index/mi/ss/missed")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	srv.Service.Changed("")
	deadline := time.Now().Add(5 * time.Second) // the loop's tick is 10 s
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the index file is still missing 5 s after a change of everything")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sameAsServed(t, srv, dir, "index/mi/ss/missed", "")
}
