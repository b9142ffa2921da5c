package registry

import "context"

// AddDownloads records download counts per version id, flushed in batches
// by the download handler: a counter needs no policy, but the handler should
// not reach past the service to the store for it.
func (s *Service) AddDownloads(ctx context.Context, counts map[int64]int64) error {
	return s.store.AddDownloads(ctx, counts)
}
