package registry

import "context"

// AddDownloads records per-version download counts, gathered in memory by
// the download handler and flushed in batches so that no download waits on
// a database write.
func (s *Service) AddDownloads(ctx context.Context, counts map[int64]int64) error {
	return s.store.AddDownloads(ctx, counts)
}
