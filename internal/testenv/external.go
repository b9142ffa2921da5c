package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Environment variables that name the external servers; scripts/test.sh and
// .ci/run set them through .ci/tools/postgres.sh and .ci/tools/versitygw.sh.
const (
	PostgresURLEnv = "CRATED_TEST_POSTGRES_URL"
	S3EndpointEnv  = "CRATED_TEST_S3_ENDPOINT"
	S3AccessKeyEnv = "CRATED_TEST_S3_ACCESS_KEY"
	S3SecretKeyEnv = "CRATED_TEST_S3_SECRET_KEY"
)

// cleanupTimeout bounds the statements of a cleanup, which must not hang a
// test run when a server went away.
const cleanupTimeout = time.Minute

// PostgresServer returns the URL of the test server's maintenance database
// (a role that may create databases), or skips the test (fails under CI)
// when CRATED_TEST_POSTGRES_URL is not set.
func PostgresServer(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresURLEnv)
	if u == "" {
		Need(t, "PostgreSQL ("+PostgresURLEnv+`; eval "$(bash .ci/tools/postgres.sh start)")`)
	}
	return u
}

// PostgresURL creates a fresh, empty database crated_e2e_<random> on the
// test server and returns its URL. The database is dropped WITH (FORCE) when
// the test ends, so connections that a failed test left open do not keep it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := PostgresServer(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", PostgresURLEnv)
	}
	name := "crated_e2e_" + randomHex(8)
	if err := postgresExec(base, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := postgresExec(base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// DropDatabase drops the database of dbURL (made by PostgresURL) at once,
// ending its connections: the way tests take PostgreSQL away from a running
// replica.
func DropDatabase(t testing.TB, dbURL string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !strings.HasPrefix(name, "crated_e2e_") {
		t.Fatalf("DropDatabase: %q was not made by PostgresURL", name)
	}
	if err := postgresExec(PostgresServer(t), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Fatalf("DROP DATABASE %s: %v", name, err)
	}
}

// postgresExec runs one statement on its own connection: CREATE and DROP
// DATABASE cannot run inside a transaction or a pool's session state.
func postgresExec(serverURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	c, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql)
	return err
}

// S3Server returns the test S3 server's endpoint (http://host:port) and root
// credentials, or skips the test (fails under CI) when they are not set.
func S3Server(t testing.TB) (endpoint, access, secret string) {
	t.Helper()
	endpoint, access, secret = os.Getenv(S3EndpointEnv), os.Getenv(S3AccessKeyEnv), os.Getenv(S3SecretKeyEnv)
	if endpoint == "" || access == "" || secret == "" {
		Need(t, "an S3 server ("+S3EndpointEnv+", "+S3AccessKeyEnv+", "+S3SecretKeyEnv+
			`; eval "$(bash .ci/tools/versitygw.sh start)")`)
	}
	return endpoint, access, secret
}

// S3Client returns a client of the test S3 server with its root
// credentials, for tests that look into buckets.
func S3Client(t testing.TB) *minio.Client {
	t.Helper()
	endpoint, access, secret := S3Server(t)
	host, secure := strings.CutPrefix(endpoint, "https://")
	host = strings.TrimPrefix(host, "http://")
	c, err := minio.New(host, &minio.Options{
		Creds:  credentials.NewStaticV4(access, secret, ""),
		Secure: secure,
	})
	if err != nil {
		t.Fatalf("S3 client for %s: %v", endpoint, err)
	}
	return c
}

// S3Bucket creates a fresh bucket crated-e2e-<random> on the test S3 server
// and returns where it is. When the test ends its objects are removed, then
// the bucket (a test may have removed it already).
func S3Bucket(t testing.TB) (endpoint, access, secret, bucket string) {
	t.Helper()
	endpoint, access, secret = S3Server(t)
	client := S3Client(t)
	bucket = "crated-e2e-" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		if err := RemoveBucket(client, bucket); err != nil {
			t.Errorf("removing bucket %s: %v", bucket, err)
		}
	})
	return endpoint, access, secret, bucket
}

// RemoveBucket removes every object of bucket, then the bucket. A bucket
// that does not exist is not an error.
func RemoveBucket(client *minio.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if ok, err := client.BucketExists(ctx, bucket); err != nil || !ok {
		return err
	}
	for obj := range client.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		if err := client.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			return err
		}
	}
	return client.RemoveBucket(ctx, bucket)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
