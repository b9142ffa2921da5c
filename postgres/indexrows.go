package postgres

import (
	"context"

	"github.com/crated/crated"
)

// indexRowsQuery reads only the columns an index file is rendered from, in
// one statement (pgx prepares it once per connection and keeps it): the
// READMEs and manifests, TOASTed apart, are never fetched.
const indexRowsQuery = `SELECT c.name, v.id, v.vers, v.cksum, v.entry, v.yanked, v.published_at
	FROM crates c JOIN versions v ON v.crate_id = c.id
	WHERE c.canon_name = $1 ORDER BY v.id`

// IndexRows returns what the crate's index file is rendered from.
func (s *Store) IndexRows(ctx context.Context, canon string) (_ *crated.IndexRows, err error) {
	defer wrap(&err, "postgres.IndexRows(%q)", canon)
	ctx, done := s.op(ctx)
	defer done(&err)
	rows, err := s.pool.Query(ctx, indexRowsQuery, canon)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &crated.IndexRows{}
	for rows.Next() {
		var r crated.IndexRow
		if err := rows.Scan(&out.Name, &r.ID, &r.Vers, &r.Cksum, &r.Entry, &r.Yanked, &r.PublishedAt); err != nil {
			return nil, err
		}
		r.PublishedAt = r.PublishedAt.UTC()
		out.Versions = append(out.Versions, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out.Versions) == 0 {
		return nil, crated.CrateNotFound(canon)
	}
	return out, nil
}
