package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/blobtest"
	"github.com/crated/crated/blob/s3"
)

// server returns the S3 server to test against, from the environment; it
// skips the test when there is none, and fails it under CI=true.
func server(t *testing.T) (endpoint, access, secret string) {
	t.Helper()
	endpoint = os.Getenv("CRATED_TEST_S3_ENDPOINT")
	access = os.Getenv("CRATED_TEST_S3_ACCESS_KEY")
	secret = os.Getenv("CRATED_TEST_S3_SECRET_KEY")
	if endpoint == "" || access == "" || secret == "" {
		const msg = "no S3 server: set CRATED_TEST_S3_ENDPOINT, CRATED_TEST_S3_ACCESS_KEY and " +
			"CRATED_TEST_S3_SECRET_KEY, e.g. with eval \"$(bash .ci/tools/versitygw.sh start)\""
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: S3 tests must run)")
		}
		t.Skip(msg)
	}
	return endpoint, access, secret
}

// newBucket creates a bucket with a random name for one test and removes it,
// with everything in it, when the test ends. It returns the configuration of
// a store in it.
func newBucket(t *testing.T) s3.Config {
	t.Helper()
	endpoint, access, secret := server(t)
	admin := adminClient(t, endpoint, access, secret)
	var b [6]byte
	rand.Read(b[:])
	bucket := "crated-test-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if err := admin.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		for obj := range admin.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Errorf("listing bucket %s for cleanup: %v", bucket, obj.Err)
				return
			}
			if err := admin.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if err := admin.RemoveBucket(ctx, bucket); err != nil {
			t.Errorf("removing bucket %s: %v", bucket, err)
		}
	})
	return s3.Config{Endpoint: endpoint, Bucket: bucket, AccessKey: access, SecretKey: secret}
}

func adminClient(t *testing.T, endpoint, access, secret string) *minio.Client {
	t.Helper()
	host, secure := strings.CutPrefix(endpoint, "https://")
	host = strings.TrimPrefix(host, "http://")
	c, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(access, secret, ""),
		Secure:       secure,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newStore(t *testing.T, cfg s3.Config) *s3.Store {
	t.Helper()
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	server(t) // skip once, not in every subtest
	blobtest.Run(t, func(t *testing.T) crated.BlobStore {
		return newStore(t, newBucket(t))
	})
}

func TestStoreWithPrefix(t *testing.T) {
	server(t)
	blobtest.Run(t, func(t *testing.T) crated.BlobStore {
		cfg := newBucket(t)
		cfg.Prefix = "registry-a"
		return newStore(t, cfg)
	})
}

// Objects are named Prefix + "crates/sha256/" + key, and stores with other
// prefixes in the same bucket do not see them.
func TestObjectNames(t *testing.T) {
	cfg := newBucket(t)
	ctx := context.Background()
	content := []byte("named object")
	key := blobtest.Key(content)
	prefixes := []struct {
		prefix string
		name   string
	}{
		{"", "crates/sha256/" + key},
		{"team-a", "team-a/crates/sha256/" + key},
		{"/team-b/", "team-b/crates/sha256/" + key},
		{"x/y/", "x/y/crates/sha256/" + key},
	}
	endpoint, access, secret := server(t)
	admin := adminClient(t, endpoint, access, secret)
	for _, p := range prefixes {
		c := cfg
		c.Prefix = p.prefix
		s := newStore(t, c)
		// Every earlier store has the blob; this one has not, yet.
		if _, err := s.Stat(ctx, key); crated.ErrorCode(err) != crated.ENOTFOUND {
			t.Fatalf("prefix %q: Stat before Put = %v, want %s (prefixes must not share)", p.prefix, err, crated.ENOTFOUND)
		}
		if err := s.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
			t.Fatalf("prefix %q: Put: %v", p.prefix, err)
		}
		if _, err := admin.StatObject(ctx, cfg.Bucket, p.name, minio.StatObjectOptions{}); err != nil {
			t.Errorf("prefix %q: object %s: %v", p.prefix, p.name, err)
		}
		// Each store walks its own "crates/sha256/" only, so it sees
		// its own copy and none of the others'.
		n := 0
		if err := s.Walk(ctx, func(string) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("prefix %q: Walk saw %d keys, want 1", p.prefix, n)
		}
	}
}

func TestRedirectURL(t *testing.T) {
	cfg := newBucket(t)
	ctx := context.Background()
	content := blobtestContent()
	key := blobtest.Key(content)

	off := newStore(t, cfg)
	if err := off.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
		t.Fatal(err)
	}
	if u, err := off.RedirectURL(ctx, key, "foo-1.0.0.crate"); err != nil || u != "" {
		t.Errorf("RedirectURL with redirects off = %q, %v; want \"\", nil", u, err)
	}

	cfg.RedirectDownloads = true
	cfg.PresignTTL = time.Minute
	on := newStore(t, cfg)
	if _, err := on.RedirectURL(ctx, "../"+key[3:], "x.crate"); crated.ErrorCode(err) != crated.EINVALID {
		t.Errorf("RedirectURL with an invalid key: error = %v, want code %s", err, crated.EINVALID)
	}
	tests := []struct {
		filename string
		wantCD   string // the Content-Disposition the server must send
	}{
		{"foo-1.0.0.crate", "attachment; filename=foo-1.0.0.crate"},
		{"bar-0.2.0+build.5.crate", "attachment; filename=bar-0.2.0+build.5.crate"},
	}
	for _, tt := range tests {
		t.Run(tt.filename, func(t *testing.T) {
			u, err := on.RedirectURL(ctx, key, tt.filename)
			if err != nil {
				t.Fatalf("RedirectURL: %v", err)
			}
			if strings.Contains(u, cfg.SecretKey) {
				t.Fatal("the presigned URL contains the secret key")
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatalf("GET presigned URL: %v", err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET presigned URL: %s: %s", resp.Status, got)
			}
			if !bytes.Equal(got, content) {
				t.Errorf("presigned URL served %d bytes that differ from the %d stored", len(got), len(content))
			}
			if cd := resp.Header.Get("Content-Disposition"); cd != tt.wantCD {
				t.Errorf("Content-Disposition %q, want %q", cd, tt.wantCD)
			}
		})
	}
	// The URL is signed: tampering with the object name is refused.
	u, err := on.RedirectURL(ctx, key, "foo-1.0.0.crate")
	if err != nil {
		t.Fatal(err)
	}
	other := blobtest.Key([]byte("other"))
	resp, err := http.Get(strings.Replace(u, key, other, 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET of a tampered presigned URL: %s, want 403", resp.Status)
	}
}

func blobtestContent() []byte {
	return bytes.Repeat([]byte("crate file for a redirect\n"), 4000)
}

// New fails at start, naming the problem, when the bucket or the
// credentials are wrong or the server cannot be reached.
func TestStartErrors(t *testing.T) {
	cfg := newBucket(t)
	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	notS3 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html><body>hello</body></html>"))
	}))
	defer notS3.Close()

	tests := []struct {
		name     string
		edit     func(c *s3.Config)
		wantCode string
		wantText string // part of the message
	}{
		{"missing bucket", func(c *s3.Config) { c.Bucket = "crated-test-no-such-bucket" }, crated.EINVALID, `bucket "crated-test-no-such-bucket" does not exist`},
		{"unknown access key", func(c *s3.Config) { c.AccessKey = "nosuchkey" }, crated.EINVALID, "access key"},
		{"wrong secret key", func(c *s3.Config) { c.SecretKey = "wrong-secret" }, crated.EINVALID, "secret key"},
		{"nothing listening", func(c *s3.Config) { c.Endpoint = "http://" + closedPort }, crated.EUNAVAILABLE, "cannot reach the S3 server at http://" + closedPort},
		{"not an S3 server", func(c *s3.Config) { c.Endpoint = notS3.URL }, crated.EINVALID, "does not answer like an S3 server"},
		{"https to an http server", func(c *s3.Config) { c.Endpoint = strings.Replace(c.Endpoint, "http://", "https://", 1) }, crated.EINVALID, "does not speak https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			tt.edit(&c)
			s, err := s3.New(context.Background(), c)
			if err == nil {
				t.Fatalf("New succeeded: %v", s)
			}
			if crated.ErrorCode(err) != tt.wantCode {
				t.Errorf("error code %s, want %s (%v)", crated.ErrorCode(err), tt.wantCode, err)
			}
			msg := crated.ErrorMessage(err)
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("message %q does not say %q", msg, tt.wantText)
			}
			if strings.Contains(err.Error(), c.SecretKey) {
				t.Errorf("error %q contains the secret key", err)
			}
		})
	}
}

// Settings that cannot work are refused before anything is sent.
func TestConfigErrors(t *testing.T) {
	yes := true
	base := s3.Config{Endpoint: "127.0.0.1:1", Bucket: "bucket", AccessKey: "k", SecretKey: "s", PathStyle: &yes}
	tests := []struct {
		name     string
		edit     func(c *s3.Config)
		wantText string
	}{
		{"no bucket", func(c *s3.Config) { c.Bucket = "" }, "bucket is not set"},
		{"bad bucket name", func(c *s3.Config) { c.Bucket = "Bad_Bucket" }, "not valid"},
		{"access key without secret", func(c *s3.Config) { c.SecretKey = "" }, "set together"},
		{"secret without access key", func(c *s3.Config) { c.AccessKey = "" }, "set together"},
		{"ftp scheme", func(c *s3.Config) { c.Endpoint = "ftp://example.com" }, "not http or https"},
		{"path", func(c *s3.Config) { c.Endpoint = "https://example.com/bucket" }, "must not have a path"},
		{"path without scheme", func(c *s3.Config) { c.Endpoint = "example.com/bucket" }, "without path"},
		{"credentials in URL", func(c *s3.Config) { c.Endpoint = "https://user:hunter2@example.com" }, "must not contain credentials"},
		{"no host", func(c *s3.Config) { c.Endpoint = "https://" }, "has no host"},
		{"TTL too long", func(c *s3.Config) { c.PresignTTL = 8 * 24 * time.Hour }, "out of range"},
		{"TTL too short", func(c *s3.Config) { c.PresignTTL = time.Millisecond }, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			_, err := s3.New(context.Background(), c)
			if crated.ErrorCode(err) != crated.EINVALID {
				t.Fatalf("error = %v, want code %s", err, crated.EINVALID)
			}
			if msg := crated.ErrorMessage(err); !strings.Contains(msg, tt.wantText) {
				t.Errorf("message %q does not say %q", msg, tt.wantText)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats a password from the endpoint", err)
			}
		})
	}
}

// A bucket that disappears under a running store makes it unavailable, not
// "not found": Ping and every read report EUNAVAILABLE.
func TestBucketGone(t *testing.T) {
	endpoint, access, secret := server(t)
	admin := adminClient(t, endpoint, access, secret)
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	bucket := "crated-test-" + hex.EncodeToString(b[:])
	if err := admin.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, s3.Config{Endpoint: endpoint, Bucket: bucket, AccessKey: access, SecretKey: secret})
	if err := admin.RemoveBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	key := blobtest.Key([]byte("x"))
	if err := s.Ping(ctx); crated.ErrorCode(err) != crated.EUNAVAILABLE {
		t.Errorf("Ping: error = %v, want code %s", err, crated.EUNAVAILABLE)
	}
	if _, err := s.Stat(ctx, key); crated.ErrorCode(err) != crated.EUNAVAILABLE {
		t.Errorf("Stat: error = %v, want code %s", err, crated.EUNAVAILABLE)
	}
	if err := s.Put(ctx, key, bytes.NewReader([]byte("x")), 1); crated.ErrorCode(err) != crated.EUNAVAILABLE {
		t.Errorf("Put: error = %v, want code %s", err, crated.EUNAVAILABLE)
	}
	if err := s.Walk(ctx, func(string) error { return nil }); crated.ErrorCode(err) != crated.EUNAVAILABLE {
		t.Errorf("Walk: error = %v, want code %s", err, crated.EUNAVAILABLE)
	}
}
