package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/crated/crated"
	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// cluster is the shared state of a scale-out deployment: one PostgreSQL
// database and one bucket. Every replica is a separate app.Main with its own
// HTTP server, index cache and connection pools, as separate processes
// would be.
type cluster struct {
	dbURL                            string
	endpoint, access, secret, bucket string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	cl := &cluster{dbURL: testenv.PostgresURL(t)}
	cl.endpoint, cl.access, cl.secret, cl.bucket = testenv.S3Bucket(t)
	return cl
}

// config points cfg at the cluster's database and bucket.
func (cl *cluster) config(cfg *config.Config) {
	cfg.DB.PostgresURL = cl.dbURL
	cfg.CrateFiles.S3Endpoint = cl.endpoint
	cfg.CrateFiles.S3AccessKey = cl.access
	cfg.CrateFiles.S3SecretKey = cl.secret
	cfg.CrateFiles.S3Bucket = cl.bucket
}

// replica starts one more crated on the cluster.
func (cl *cluster) replica(t *testing.T, edit ...func(*config.Config)) *testenv.Crated {
	t.Helper()
	return testenv.StartCrated(t, append([]func(*config.Config){cl.config}, edit...)...)
}

// notifyWait bounds the polls that wait for a change made through one
// replica to show in another replica's index cache. The change travels as a
// PostgreSQL notification that the other replica receives on its own
// goroutine, after the writing replica has already answered: there is no
// moment the test could wait for instead, so it polls. Without working
// invalidation the change would never show (cached files have no expiry),
// so the bound only keeps a broken build from hanging; it is not a claim
// about speed, and it is generous because CI machines are shared and -race
// slows everything down.
const notifyWait = 5 * time.Second

// eventually polls check until it returns "" or notifyWait has passed; then
// it fails the test with check's last complaint.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	deadline := time.Now().Add(notifyWait)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", notifyWait, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawPublish publishes a minimal crate with a raw frame, as cargo would.
// Safe to call from several goroutines: it reports instead of failing.
func rawPublish(base, token string, frame []byte) (int, string, error) {
	req, err := http.NewRequest("PUT", base+"/api/v1/crates/new", bytes.NewReader(frame))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func frameOf(t *testing.T, name, vers string) []byte {
	return testenv.Frame(testenv.Metadata(name, vers), testenv.Tarball(t, testenv.CrateFiles(name, vers)...))
}

func mustPublish(t *testing.T, srv *testenv.Crated, token, name, vers string) {
	t.Helper()
	code, body, err := rawPublish(srv.URL, token, frameOf(t, name, vers))
	if err != nil || code != 200 {
		t.Fatalf("publish %s %s through %s: %d %s %v", name, vers, srv.URL, code, body, err)
	}
}

// waitListening makes sure that b receives a's change notifications: b
// caches "no such crate" for a probe crate, a publishes it, and b must then
// serve it. Replicas start LISTENing in the background, so a test that
// relies on notifications first waits for one to arrive.
func waitListening(t *testing.T, a, b *testenv.Crated, token string) {
	t.Helper()
	if code, _ := indexFile(t, b, "pr/ob/probe"); code != 404 {
		t.Fatalf("probe crate before publish: %d", code)
	}
	mustPublish(t, a, token, "probe", "0.1.0")
	eventually(t, func() string {
		if code, _ := indexFile(t, b, "pr/ob/probe"); code != 200 {
			return fmt.Sprintf("%s never served the probe crate published through %s: %d", b.URL, a.URL, code)
		}
		return ""
	})
}

const alphaConsumerToml = `[package]
name = "alpha-consumer"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
alpha = { version = "0.1", registry = "crated" }
`

const alphaConsumerMain = "fn main() { println!(\"alpha={}\", alpha::hello()); }\n"

// TestReplicas runs two replicas A and B on one PostgreSQL database and one
// bucket: what is written through one is served by the other, concurrent
// writes through both resolve by the database's constraints, crate files
// live only in the bucket, and either replica carries on alone.
func TestReplicas(t *testing.T) {
	cl := newCluster(t)
	a := cl.replica(t)
	b := cl.replica(t)
	alice := a.AddUser("alice")
	bob := a.AddUser("bob")
	waitListening(t, a, b, alice)

	ca := testenv.NewCargo(t, a.IndexURL(), "")
	cb := testenv.NewCargo(t, b.IndexURL(), "")
	consumer := testenv.Package(t, alphaConsumerToml, map[string]string{"src/main.rs": alphaConsumerMain})
	alphaDir := testenv.Package(t, alphaToml, nil)

	t.Run("publish through A, build through B", func(t *testing.T) {
		// B caches "no such crate" for alpha first: only the
		// invalidation that A's publish sends lets B serve it.
		if code, _ := indexFile(t, b, "al/ph/alpha"); code != 404 {
			t.Fatalf("alpha on B before publish: %d", code)
		}
		publish(t, ca, alphaDir, alice)
		// No wait: cargo finished publishing, so B must serve alpha now.
		out := cb.MustRun(consumer, "run", "-q")
		if strings.TrimSpace(out) != "alpha=1" {
			t.Errorf("consumer through B: %q", out)
		}
	})

	t.Run("yank through A shows in B's index", func(t *testing.T) {
		alpha2 := testenv.Package(t, strings.Replace(alphaToml, "0.1.0", "0.2.0", 1), nil)
		publish(t, ca, alpha2, alice, "--no-verify")
		eventually(t, func() string {
			if _, body := indexFile(t, b, "al/ph/alpha"); !strings.Contains(body, `"vers":"0.2.0"`) {
				return "B's index of alpha lacks 0.2.0: " + body
			}
			return ""
		})
		ca.MustRun(alphaDir, "yank", "--registry", "crated", "--token", alice, "alpha@0.2.0")
		eventually(t, func() string {
			_, body := indexFile(t, b, "al/ph/alpha")
			for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
				if strings.Contains(line, `"vers":"0.2.0"`) && strings.Contains(line, `"yanked":true`) {
					return ""
				}
			}
			return "B's index of alpha does not show 0.2.0 yanked: " + body
		})
		// Unyank through B, seen by A.
		cb.MustRun(alphaDir, "yank", "--undo", "--registry", "crated", "--token", alice, "alpha@0.2.0")
		eventually(t, func() string {
			if _, body := indexFile(t, a, "al/ph/alpha"); strings.Contains(body, `"yanked":true`) {
				return "A's index of alpha still shows a yank: " + body
			}
			return ""
		})
	})

	t.Run("owners and search through B", func(t *testing.T) {
		ca.MustRun(alphaDir, "owner", "--registry", "crated", "--token", alice, "--add", "bob", "alpha")
		// The owners API reads the database directly: no wait.
		var owners struct {
			Users []struct{ Login string } `json:"users"`
		}
		if code := getJSON(t, b.URL+"/api/v1/crates/alpha/owners", &owners); code != 200 {
			t.Fatalf("owners on B: %d", code)
		}
		var logins []string
		for _, u := range owners.Users {
			logins = append(logins, u.Login)
		}
		if strings.Join(logins, ",") != "alice,bob" {
			t.Errorf("owners of alpha on B: %v, want alice,bob", logins)
		}
		out := cb.MustRun(alphaDir, "search", "--registry", "crated", "alpha")
		if !strings.HasPrefix(strings.TrimSpace(out), `alpha = "0.2.0"`) {
			t.Errorf("search on B: %s", out)
		}
		// bob, an owner since A said so, publishes through B.
		alpha3 := testenv.Package(t, strings.Replace(alphaToml, "0.1.0", "0.3.0", 1), nil)
		publish(t, cb, alpha3, bob, "--no-verify")
	})

	t.Run("concurrent publishes of distinct versions", func(t *testing.T) {
		// The crate exists first: racing creators of one new crate are
		// a different question (only one creates it).
		mustPublish(t, a, alice, "multi", "0.0.1")
		const n = 20
		results := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			srv := []*testenv.Crated{a, b}[i%2]
			frame := frameOf(t, "multi", fmt.Sprintf("1.0.%d", i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, body, err := rawPublish(srv.URL, alice, frame)
				if err != nil || code != 200 {
					results[i] = fmt.Sprintf("publish 1.0.%d through %s: %d %s %v", i, srv.URL, code, body, err)
				}
			}()
		}
		wg.Wait()
		for _, r := range results {
			if r != "" {
				t.Error(r)
			}
		}
		eventually(t, func() string {
			_, body := indexFile(t, b, "mu/lt/multi")
			for i := range n {
				if !strings.Contains(body, fmt.Sprintf(`"vers":"1.0.%d"`, i)) {
					return fmt.Sprintf("B's index of multi lacks 1.0.%d: %s", i, body)
				}
			}
			if got := strings.Count(body, "\n"); got != n+1 {
				return fmt.Sprintf("B's index of multi has %d lines, want %d", got, n+1)
			}
			return ""
		})
	})

	t.Run("concurrent publishes of one version", func(t *testing.T) {
		const n = 20
		frame := frameOf(t, "same", "1.0.0")
		codes := make([]int, n)
		bodies := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			srv := []*testenv.Crated{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], bodies[i], errs[i] = rawPublish(srv.URL, alice, frame)
			}()
		}
		wg.Wait()
		ok := 0
		for i := range n {
			switch {
			case errs[i] != nil:
				t.Errorf("publish %d: %v", i, errs[i])
			case codes[i] == 200:
				ok++
			case codes[i] == 409:
				var e struct {
					Errors []struct{ Detail string } `json:"errors"`
				}
				if err := json.Unmarshal([]byte(bodies[i]), &e); err != nil || len(e.Errors) != 1 || !strings.Contains(e.Errors[0].Detail, "same") {
					t.Errorf("409 body is not cargo's error naming the crate: %s", bodies[i])
				}
			default:
				t.Errorf("publish %d: %d %s, want 200 or 409", i, codes[i], bodies[i])
			}
		}
		if ok != 1 {
			t.Errorf("%d publishes of same 1.0.0 succeeded, want exactly 1", ok)
		}
		if _, body := indexFile(t, a, "sa/me/same"); strings.Count(body, "\n") != 1 {
			t.Errorf("index of same: %q, want one line", body)
		}
	})

	t.Run("crate files only in the bucket", func(t *testing.T) {
		client := testenv.S3Client(t)
		objects := map[string]bool{}
		for obj := range client.ListObjectsIter(t.Context(), cl.bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			objects[obj.Key] = true
		}
		ctx := context.Background()
		want := 0
		for _, name := range []string{"alpha", "multi", "same", "probe"} {
			c, err := a.Store.CrateByName(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			vs, err := a.Store.Versions(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				want++
				if !objects["crates/sha256/"+v.Cksum] {
					t.Errorf("%s %s: no object crates/sha256/%s in the bucket", name, v.Vers, v.Cksum)
				}
			}
		}
		if len(objects) != want {
			t.Errorf("bucket holds %d objects, want one per version: %d", len(objects), want)
		}
		for _, srv := range []*testenv.Crated{a, b} {
			filepath.WalkDir(srv.Dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if strings.HasSuffix(path, ".crate") || d.Name() == "sha256" {
					t.Errorf("crate file on local disk: %s", path)
				}
				return nil
			})
		}
	})

	t.Run("downloads redirect to presigned URLs", func(t *testing.T) {
		c := cl.replica(t, func(cfg *config.Config) { cfg.CrateFiles.S3RedirectDownloads = true })
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(c.URL + "/api/v1/crates/alpha/0.1.0/download")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, cl.endpoint+"/") || !strings.Contains(loc, "X-Amz-Signature=") {
			t.Fatalf("download on a redirecting replica: %d Location %q", resp.StatusCode, loc)
		}
		resp, err = http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		v := version(t, c, "alpha", "0.1.0")
		if sum := sha256.Sum256(body); resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != v.Cksum {
			t.Fatalf("presigned URL: %d, %d bytes not hashing to the checksum", resp.StatusCode, len(body))
		}
		// cargo follows the redirect.
		cc := testenv.NewCargo(t, c.IndexURL(), "")
		if out := cc.MustRun(consumer, "run", "-q"); strings.TrimSpace(out) != "alpha=1" {
			t.Errorf("consumer through the redirecting replica: %q", out)
		}
	})

	t.Run("login state is shared", func(t *testing.T) {
		// An OpenID login that starts on one replica and ends on another
		// is driven through Dex elsewhere; here: the state lives in the
		// database, not in the replica.
		ctx := context.Background()
		st := &crated.LoginState{Key: "replica-test-state", Nonce: "n", PKCEVerifier: "v", Kind: "me", ExpiresAt: time.Now().Add(time.Hour)}
		if err := a.Store.PutLoginState(ctx, st); err != nil {
			t.Fatal(err)
		}
		got, err := b.Store.TakeLoginState(ctx, st.Key, time.Now())
		if err != nil || got.Nonce != "n" || got.PKCEVerifier != "v" {
			t.Fatalf("B took %+v, %v", got, err)
		}
		if _, err := a.Store.TakeLoginState(ctx, st.Key, time.Now()); !crated.IsCode(err, crated.ENOTFOUND) {
			t.Errorf("the state was taken twice: %v", err)
		}
	})

	t.Run("one replica stopped, the other serves", func(t *testing.T) {
		b.Stop()
		if code, body := indexFile(t, a, "al/ph/alpha"); code != 200 || !strings.Contains(body, `"vers":"0.3.0"`) {
			t.Errorf("A's index after B stopped: %d %s", code, body)
		}
		code, body, _ := do(t, "GET", a.URL+"/api/v1/crates/multi/1.0.7/download", "", nil)
		if sum := sha256.Sum256(body); code != 200 || hex.EncodeToString(sum[:]) != version(t, a, "multi", "1.0.7").Cksum {
			t.Errorf("download through A after B stopped: %d", code)
		}
		mustPublish(t, a, alice, "multi", "2.0.0")
		fresh := testenv.NewCargo(t, a.IndexURL(), "")
		if out := fresh.MustRun(consumer, "run", "-q"); strings.TrimSpace(out) != "alpha=1" {
			t.Errorf("consumer through A after B stopped: %q", out)
		}
	})
}

// version reads one version through srv's store.
func version(t *testing.T, srv *testenv.Crated, name, vers string) *crated.Version {
	t.Helper()
	ctx := context.Background()
	c, err := srv.Store.CrateByName(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := srv.Store.Version(ctx, c.ID, vers)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReplicaReadiness: /readyz answers 503 once the replica's database is
// gone, and 200 "degraded" once its bucket is (the index and logins still
// work: the replica stays in the balancer), while /healthz (liveness) stays
// 200.
func TestReplicaReadiness(t *testing.T) {
	cl := newCluster(t)
	ready := func(t *testing.T, srv *testenv.Crated, want int, says ...string) {
		t.Helper()
		code, body, _ := do(t, "GET", srv.URL+"/readyz", "", nil)
		if code != want {
			t.Errorf("/readyz: %d %s, want %d", code, body, want)
		}
		for _, s := range says {
			if !strings.Contains(string(body), s) {
				t.Errorf("/readyz: %s, want it to say %s", body, s)
			}
		}
		if code, _, _ := do(t, "GET", srv.URL+"/healthz", "", nil); code != 200 {
			t.Errorf("/healthz: %d, want 200", code)
		}
	}

	t.Run("database dropped", func(t *testing.T) {
		own := testenv.PostgresURL(t)
		srv := cl.replica(t, func(cfg *config.Config) { cfg.DB.PostgresURL = own })
		ready(t, srv, 200)
		testenv.DropDatabase(t, own)
		ready(t, srv, 503)
	})

	t.Run("bucket removed", func(t *testing.T) {
		_, _, _, bucket := testenv.S3Bucket(t)
		srv := cl.replica(t, func(cfg *config.Config) { cfg.CrateFiles.S3Bucket = bucket })
		ready(t, srv, 200)
		if err := testenv.RemoveBucket(testenv.S3Client(t), bucket); err != nil {
			t.Fatal(err)
		}
		ready(t, srv, 200, `"status":"degraded"`, `"blob_store":"failed"`)
		if code, body, _ := do(t, "GET", srv.URL+"/index/config.json", "", nil); code != 200 {
			t.Errorf("index without a bucket: %d %s", code, body)
		}
	})
}

// TestReplicaStartErrors: a replica with a wrong database or bucket setting
// does not start, and says which setting is wrong without showing secrets.
func TestReplicaStartErrors(t *testing.T) {
	cl := newCluster(t)
	closed := closedAddr(t)
	const wrongSecret = "wrong-secret-do-not-print"
	cases := []struct {
		name string
		edit func(*config.Config)
		want []string
	}{
		{"postgres on a closed port", func(c *config.Config) {
			c.DB.PostgresURL = "postgres://crated:pg-password-do-not-print@" + closed + "/crated?sslmode=disable"
		}, []string{"db_config.postgres_url"}},
		{"wrong S3 secret key", func(c *config.Config) { c.CrateFiles.S3SecretKey = wrongSecret },
			[]string{"crate_files_config", "secret key"}},
		{"unknown S3 access key", func(c *config.Config) { c.CrateFiles.S3AccessKey = "nobody" },
			[]string{"crate_files_config", "access key"}},
		{"missing bucket", func(c *config.Config) { c.CrateFiles.S3Bucket = "crated-e2e-missing" },
			[]string{"crate_files_config", "s3 bucket", "crated-e2e-missing", "does not exist"}},
		{"S3 on a closed port", func(c *config.Config) { c.CrateFiles.S3Endpoint = "http://" + closed },
			[]string{"crate_files_config", "cannot reach"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config.Default()
			cfg.Server.Address = "127.0.0.1"
			cfg.Server.Port = 0
			cfg.Server.BaseURL = ""
			cfg.DB.DBDirPath = filepath.Join(dir, "db")
			cfg.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
			cl.config(cfg)
			tc.edit(cfg)
			m := app.NewMain()
			m.Config = cfg
			m.Logger = slog.New(slog.DiscardHandler)
			err := m.Open(context.Background())
			if err == nil {
				m.Close()
				t.Fatal("Main.Open succeeded")
			}
			msg := err.Error()
			t.Logf("Main.Open: %s", msg)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			for _, secret := range []string{wrongSecret, "pg-password-do-not-print", cl.secret} {
				if strings.Contains(msg, secret) {
					t.Errorf("error shows a secret: %q", msg)
				}
			}
		})
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
