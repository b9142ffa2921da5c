package postgres

import (
	"context"
	"time"

	"github.com/crated/crated"
)

// loginAttemptLockClass is the first key of the two-key advisory locks that
// serialize the attempts on one name across replicas (the second is the
// name's hash). Two-key locks never collide with the one-key locks of the
// migrations and the git index. ("crat" in ASCII.)
const loginAttemptLockClass int32 = 0x63726174

// ReserveLoginAttempt counts and records a password attempt in one
// transaction that first takes a transaction-scoped advisory lock on the
// key: under READ COMMITTED two replicas could otherwise both count nine
// attempts and both insert the tenth.
func (s *Store) ReserveLoginAttempt(ctx context.Context, key string, now time.Time, window time.Duration, max int) (ok bool, retryAt time.Time, err error) {
	defer wrap(&err, "postgres.ReserveLoginAttempt")
	ctx, done := s.op(ctx)
	defer done(&err)
	if window <= 0 || max <= 0 {
		return false, time.Time{}, crated.BadAttemptLimits()
	}
	now = normTime(now)
	tx, err := s.begin(ctx)
	if err != nil {
		return false, time.Time{}, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, loginAttemptLockClass, key); err != nil {
		return false, time.Time{}, err
	}
	// Expired attempts of every name go, so that a spray of made-up names
	// cannot grow the table without bound.
	if _, err := tx.Exec(ctx, `DELETE FROM login_attempts WHERE at < $1`, now.Add(-window)); err != nil {
		return false, time.Time{}, err
	}
	var n int64
	var oldest *time.Time
	if err := tx.QueryRow(ctx, `SELECT count(*), min(at) FROM login_attempts WHERE key = $1`, key).Scan(&n, &oldest); err != nil {
		return false, time.Time{}, err
	}
	if n >= int64(max) && oldest != nil {
		return false, oldest.UTC().Add(window), nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO login_attempts (key, at) VALUES ($1, $2)`, key, now); err != nil {
		return false, time.Time{}, err
	}
	return true, time.Time{}, tx.Commit(ctx)
}

// ClearLoginAttempts forgets the attempts recorded on key.
func (s *Store) ClearLoginAttempts(ctx context.Context, key string) (err error) {
	defer wrap(&err, "postgres.ClearLoginAttempts")
	ctx, done := s.op(ctx)
	defer done(&err)
	_, err = s.pool.Exec(ctx, `DELETE FROM login_attempts WHERE key = $1`, key)
	return err
}
