package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// TestStaticS3: with s3_static_prefix the bucket holds the tree under the
// prefix, with crated's bytes and headers, before a publish or a yank is
// answered; an object lost in a crash is put back at the next start.
func TestStaticS3(t *testing.T) {
	endpoint, access, secret, bucket := testenv.S3Bucket(t)
	client := testenv.S3Client(t)
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.CrateFiles.S3Endpoint = endpoint
		c.CrateFiles.S3AccessKey = access
		c.CrateFiles.S3SecretKey = secret
		c.CrateFiles.S3Bucket = bucket
		c.CrateFiles.S3Prefix = "reg"
		c.CrateFiles.S3StaticPrefix = "static"
	})
	ctx := context.Background()
	object := func(p string) ([]byte, minio.ObjectInfo) {
		t.Helper()
		obj, err := client.GetObject(ctx, bucket, "reg/static/"+p, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		b, err := io.ReadAll(obj)
		if err != nil {
			t.Errorf("object %s: %v", p, err)
			return nil, minio.ObjectInfo{}
		}
		info, _ := obj.Stat()
		return b, info
	}
	// same checks that the object at p holds what crated serves, with its
	// Content-Type and Cache-Control.
	same := func(p string) []byte {
		t.Helper()
		resp, err := http.Get(srv.URL + "/" + p)
		if err != nil {
			t.Fatal(err)
		}
		served, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body, info := object(p)
		if !bytes.Equal(body, served) {
			t.Errorf("%s: object %q, crated serves %q", p, body, served)
		}
		if info.ContentType != resp.Header.Get("Content-Type") || info.Metadata.Get("Cache-Control") != resp.Header.Get("Cache-Control") {
			t.Errorf("%s: object has Content-Type %q Cache-Control %q, crated sends %q %q", p, info.ContentType,
				info.Metadata.Get("Cache-Control"), resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
		return body
	}

	token := srv.AddUser("alice")
	if st, b, _ := publishAPI(t, srv, token, "cdn_crate", "1.0.0"); st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	same("index/config.json")
	same("index/cd/n_/cdn_crate")
	same("api/v1/crates/cdn_crate/1.0.0/download")
	if st, b, _ := req(t, "DELETE", srv.URL+"/api/v1/crates/cdn_crate/1.0.0/yank", nil, "Authorization", token); st != 200 {
		t.Fatalf("yank: %d %s", st, b)
	}
	if body := same("index/cd/n_/cdn_crate"); !bytes.Contains(body, []byte(`"yanked":true`)) {
		t.Errorf("index object after the yank: %s", body)
	}

	// A crash lost the crate file's object and left an index file of a
	// crate that no longer exists: the next start repairs both.
	if err := client.RemoveObject(ctx, bucket, "reg/static/api/v1/crates/cdn_crate/1.0.0/download", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, bucket, "reg/static/index/gh/os/ghost", bytes.NewReader([]byte("{}\n")), 3, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	same("api/v1/crates/cdn_crate/1.0.0/download")
	if _, err := client.StatObject(ctx, bucket, "reg/static/index/gh/os/ghost", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("the stale index object is still there: %v", err)
	}
	// The crate files themselves are untouched.
	n := 0
	for obj := range client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "reg/crates/", Recursive: true}) {
		if obj.Err == nil {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d objects under reg/crates/, want the one crate file", n)
	}
}
