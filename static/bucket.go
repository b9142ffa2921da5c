package static

import (
	"context"
	"io"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/crated/crated"
)

// bucketTimeout bounds each request to the object store.
const bucketTimeout = time.Minute

// Bucket is a Target in an S3 bucket under a prefix, for a CDN (or the
// bucket's own website endpoint) to serve. An object upload is atomic: a
// reader sees the old object or the new one. Each object carries the
// Content-Type and Cache-Control crated sends (and a crate file its
// Content-Disposition), which S3 serves back and CDNs keep.
type Bucket struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

// NewBucket returns the tree under prefix in bucket.
func NewBucket(client *minio.Client, bucket, prefix string) *Bucket {
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &Bucket{client: client, bucket: bucket, prefix: prefix}
}

func (b *Bucket) object(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
		return "", crated.Errorf(crated.EINVALID, "static: bad path %q", p)
	}
	return b.prefix + p, nil
}

func notFound(err error) bool {
	return minio.ToErrorResponse(err).Code == "NoSuchKey"
}

// Put uploads the file with its headers.
func (b *Bucket) Put(ctx context.Context, p string, r io.Reader, size int64) error {
	key, err := b.object(p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, bucketTimeout)
	defer cancel()
	k := kindOf(p)
	opt := minio.PutObjectOptions{ContentType: k.Type, CacheControl: k.CacheControl(false)}
	if name, vers, ok := IsCrateFile(p); ok {
		opt.ContentDisposition = `attachment; filename="` + name + "-" + vers + `.crate"`
	}
	if _, err := b.client.PutObject(ctx, b.bucket, key, r, size, opt); err != nil {
		return crated.Errorf(crated.EUNAVAILABLE, "static: put %s: %v", key, err)
	}
	return nil
}

// Read downloads a file.
func (b *Bucket) Read(ctx context.Context, p string) ([]byte, error) {
	key, err := b.object(p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, bucketTimeout)
	defer cancel()
	obj, err := b.client.GetObject(ctx, b.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, crated.Errorf(crated.EUNAVAILABLE, "static: get %s: %v", key, err)
	}
	defer obj.Close()
	body, err := io.ReadAll(obj)
	if notFound(err) {
		return nil, crated.Errorf(crated.ENOTFOUND, "static: %s: no such object", key)
	} else if err != nil {
		return nil, crated.Errorf(crated.EUNAVAILABLE, "static: get %s: %v", key, err)
	}
	return body, nil
}

// Remove deletes a file.
func (b *Bucket) Remove(ctx context.Context, p string) error {
	key, err := b.object(p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, bucketTimeout)
	defer cancel()
	if err := b.client.RemoveObject(ctx, b.bucket, key, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return crated.Errorf(crated.EUNAVAILABLE, "static: remove %s: %v", key, err)
	}
	return nil
}

// Walk lists the tree. The listing as a whole gets a deadline of its own
// per thousand objects (one page).
func (b *Bucket) Walk(ctx context.Context, fn func(p string, size int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := time.AfterFunc(bucketTimeout, cancel)
	defer timer.Stop()
	for obj := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
		if obj.Err != nil {
			return crated.Errorf(crated.EUNAVAILABLE, "static: list %s: %v", b.prefix, obj.Err)
		}
		timer.Reset(bucketTimeout)
		if err := fn(strings.TrimPrefix(obj.Key, b.prefix), obj.Size); err != nil {
			return err
		}
	}
	return nil
}
