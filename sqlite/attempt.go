package sqlite

import (
	"context"
	"time"

	"github.com/crated/crated"
)

// ReserveLoginAttempt counts and records a password attempt in one write
// transaction: the single write connection and BEGIN IMMEDIATE serialize it
// with every other writer, in this process and in others on the same file.
func (s *Store) ReserveLoginAttempt(ctx context.Context, key string, now time.Time, window time.Duration, max int) (ok bool, retryAt time.Time, err error) {
	defer wrap(&err, "sqlite.ReserveLoginAttempt")
	if window <= 0 || max <= 0 {
		return false, time.Time{}, crated.BadAttemptLimits()
	}
	now = normTime(now)
	cutoff := dbTime(now.Add(-window))
	tx, err := s.begin(ctx)
	if err != nil {
		return false, time.Time{}, err
	}
	defer tx.Rollback()
	// Forget every expired attempt, not only this key's, so that a spray of
	// made-up names cannot grow the table without bound.
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE at < ?`, cutoff); err != nil {
		return false, time.Time{}, err
	}
	var n, oldest int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(min(at), 0) FROM login_attempts WHERE key = ?`, key).Scan(&n, &oldest); err != nil {
		return false, time.Time{}, err
	}
	if n >= int64(max) {
		return false, goTime(oldest).Add(window), nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (key, at) VALUES (?, ?)`, key, dbTime(now)); err != nil {
		return false, time.Time{}, err
	}
	return true, time.Time{}, tx.Commit()
}

// ClearLoginAttempts forgets the attempts recorded on key.
func (s *Store) ClearLoginAttempts(ctx context.Context, key string) (err error) {
	defer wrap(&err, "sqlite.ClearLoginAttempts")
	_, err = s.write.ExecContext(ctx, `DELETE FROM login_attempts WHERE key = ?`, key)
	return err
}
