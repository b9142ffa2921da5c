package s3

import "github.com/minio/minio-go/v7"

// Client returns the store's client and bucket, so that package static can
// publish the registry's static tree into the same bucket with the same
// credentials and settings.
func (s *Store) Client() (*minio.Client, string) { return s.client, s.bucket }
