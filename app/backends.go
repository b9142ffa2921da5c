package app

import (
	"context"
	"fmt"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/s3"
	"github.com/crated/crated/config"
	"github.com/crated/crated/postgres"
)

// openPostgres is the scale-out metadata store.
func openPostgres(ctx context.Context, url string, queryTimeout time.Duration) (crated.Store, error) {
	st, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err // the postgres package names db_config.postgres_url
	}
	st.QueryTimeout = queryTimeout
	return st, nil
}

// openS3 is the scale-out blob store.
func openS3(ctx context.Context, cfg *config.Config) (crated.BlobStore, error) {
	c := cfg.CrateFiles
	st, err := s3.New(ctx, s3.Config{
		Endpoint:          c.S3Endpoint,
		Region:            c.S3Region,
		Bucket:            c.S3Bucket,
		AccessKey:         c.S3AccessKey,
		SecretKey:         c.S3SecretKey,
		Prefix:            c.S3Prefix,
		PathStyle:         c.S3PathStyle,
		RedirectDownloads: c.S3RedirectDownloads,
		Timeout:           c.S3Timeout,
		MaxRetries:        &c.S3MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("crate_files_config (S3 bucket %q): %w", c.S3Bucket, err)
	}
	return st, nil
}
