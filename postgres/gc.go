package postgres

import (
	"context"
)

// ReferencedBlobs calls fn once for the checksum of every stored version,
// which is the key of its .crate blob. `crated gc` keeps these blobs and
// collects the others. It reads one snapshot: a version committed while it
// runs may be missing, which the caller covers with a grace period.
func (s *Store) ReferencedBlobs(ctx context.Context, fn func(key string) error) (err error) {
	defer wrap(&err, "postgres.ReferencedBlobs")
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT cksum FROM versions`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	return rows.Err()
}
