package sqlite

import (
	"context"

	"github.com/crated/crated"
)

// indexRowsQuery reads only the columns an index file is rendered from, in
// one statement: all of them come before the READMEs and manifests in a
// version's row, so their overflow pages are never read.
const indexRowsQuery = `SELECT c.name, v.id, v.vers, v.cksum, v.entry, v.yanked, v.published_at
	FROM crates c JOIN versions v ON v.crate_id = c.id
	WHERE c.canon_name = ? ORDER BY v.id`

// IndexRows returns what the crate's index file is rendered from.
func (s *Store) IndexRows(ctx context.Context, canon string) (_ *crated.IndexRows, err error) {
	defer wrap(&err, "sqlite.IndexRows(%q)", canon)
	rows, err := s.read.QueryContext(ctx, indexRowsQuery, canon)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &crated.IndexRows{}
	for rows.Next() {
		var r crated.IndexRow
		var published int64
		if err := rows.Scan(&out.Name, &r.ID, &r.Vers, &r.Cksum, &r.Entry, &r.Yanked, &published); err != nil {
			return nil, err
		}
		r.PublishedAt = goTime(published)
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
