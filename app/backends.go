package app

import (
	"context"
	"errors"

	"github.com/crated/crated"
	"github.com/crated/crated/config"
)

// openPostgres and openS3 are the scale-out backends.
func openPostgres(ctx context.Context, url string) (crated.Store, error) {
	return nil, errors.New("db_config.postgres_url: PostgreSQL support is not built yet")
}

func openS3(ctx context.Context, cfg *config.Config) (crated.BlobStore, error) {
	return nil, errors.New("crate_files_config.s3_bucket: S3 support is not built yet")
}
