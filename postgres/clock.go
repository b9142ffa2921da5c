package postgres

import "time"

// SetClock makes the store's writes carry the times now returns (nil: the
// real clock again). A copy between stores uses it to keep the source's
// dates; it must not run while other writes do.
func (s *Store) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.Now = now
}
