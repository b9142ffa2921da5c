package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/crated/crated"
)

// blobKeys lists every key of bs.
func blobKeys(ctx context.Context, bs crated.BlobStore) ([]string, error) {
	var keys []string
	err := bs.Walk(ctx, func(key string) error {
		keys = append(keys, key)
		return nil
	})
	return keys, err
}

// copyBlobs copies every blob of the source blob store that the target
// lacks. The target's Put checks that the content hashes to its key, so a
// blob damaged on the way is refused rather than stored.
func (c *copier) copyBlobs(ctx context.Context) (err error) {
	defer crated.Wrap(&err, "copying crate files")
	keys, err := blobKeys(ctx, c.opt.SrcBlobs)
	if err != nil {
		return err
	}
	bar := c.opt.bar(len(keys), "files")
	defer bar.Finish()
	var copied, present atomic.Int64
	err = forEach(ctx, c.opt.workers(), keys, func(ctx context.Context, key string) error {
		defer bar.Add(1)
		_, err := c.opt.DstBlobs.Stat(ctx, key)
		if err == nil {
			present.Add(1)
			return nil
		} else if !crated.IsCode(err, crated.ENOTFOUND) {
			return err
		}
		b, err := c.opt.SrcBlobs.Open(ctx, key)
		if err != nil {
			return err
		}
		defer b.Close()
		if err := c.opt.DstBlobs.Put(ctx, key, b, b.Size()); err != nil {
			return err
		}
		copied.Add(1)
		return nil
	})
	c.stats.BlobsCopied += int(copied.Load())
	c.stats.BlobsPresent += int(present.Load())
	return err
}

// forEach calls fn for every key with at most n calls at once, and stops at
// the first error.
func forEach(ctx context.Context, n int, keys []string, fn func(context.Context, string) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, k := range keys {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(ctx, k) })
	}
	return g.Wait()
}

// hashBlob returns the hex sha256 of the blob under key and whether its
// length is the one the store reports.
func hashBlob(ctx context.Context, bs crated.BlobStore, key string) (string, bool, error) {
	b, err := bs.Open(ctx, key)
	if err != nil {
		return "", false, err
	}
	defer b.Close()
	h := sha256.New()
	n, err := io.Copy(h, b)
	if err != nil {
		return "", false, err
	}
	return hex.EncodeToString(h.Sum(nil)), n == b.Size(), nil
}
