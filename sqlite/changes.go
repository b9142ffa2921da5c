package sqlite

import (
	"context"
	"log/slog"
	"time"

	"github.com/crated/crated"
)

var _ crated.ChangeNotifier = (*Store)(nil)

// changeRetention is how long a row of the changes table is kept: far longer
// than any poll interval, so that a server that was busy still sees it.
const changeRetention = time.Hour

// DefaultPollInterval is how often Listen looks for changes made by other
// processes when Store.PollInterval is zero.
const DefaultPollInterval = time.Second

// recordChange writes the crate's name into the changes table, for servers
// on the same file in other processes, and prunes old rows.
func recordChange(ctx context.Context, tx *writeTx, canon string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE time < ?`, dbTime(tx.now.Add(-changeRetention))); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO changes (canon_name, time) VALUES (?, ?)`, canon, dbTime(tx.now))
	return err
}

// Listen calls fn with the canonical name of every crate that another
// process on the same database file changed through a method that records
// its change (DeleteVersion, DeleteCrate), within about PollInterval of its
// commit. SQLite cannot notify across processes, so Listen polls the changes
// table, an indexed read of the rows past the last one seen. Changes made
// before Listen started are not reported: the caller's caches were filled
// after them. A failed poll is retried at the next tick, losing nothing
// (the rows stay). Listen returns nil when ctx ends.
func (s *Store) Listen(ctx context.Context, fn func(canon string)) error {
	interval := s.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	var last int64
	if err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&last); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		// Without a starting point every row counts: extra invalidations
		// are harmless.
		slog.Warn("sqlite: reading the changes table", "err", err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		type change struct {
			seq   int64
			canon string
		}
		rows, err := queryAll(ctx, s.read, func(r scanner) (c change, err error) {
			return c, r.Scan(&c.seq, &c.canon)
		}, `SELECT seq, canon_name FROM changes WHERE seq > ? ORDER BY seq`, last)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			slog.Warn("sqlite: polling for changes by other processes; retrying", "err", err)
			continue
		}
		for _, c := range rows {
			fn(c.canon)
			last = c.seq
		}
	}
}
