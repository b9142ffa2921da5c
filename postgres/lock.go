package postgres

import (
	"context"
	"time"

	"github.com/crated/crated"
)

// gitIndexLockKey is the advisory-lock key that serializes git-index writers
// across replicas ("crated-g" in ASCII).
const gitIndexLockKey = 0x6372617465642d67

// Lock takes the cluster-wide git-index lock, waiting while another replica
// holds it. It pins one pool connection until unlock is called, since
// advisory locks belong to the session that took them.
func (s *Store) Lock(ctx context.Context) (unlock func(), err error) {
	defer crated.Wrap(&err, "postgres.Lock")
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, translate(err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(gitIndexLockKey)); err != nil {
		conn.Release()
		return nil, translate(err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(gitIndexLockKey)); err != nil {
			// The session may still hold the lock: drop the connection so
			// that PostgreSQL releases it.
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}, nil
}
