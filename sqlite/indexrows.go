package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"

	"github.com/crated/crated"
)

// indexRowsQuery reads only the columns an index file is rendered from, in
// one statement: all of them come before the READMEs and manifests in a
// version's row, so their overflow pages are never read.
const indexRowsQuery = `SELECT c.name, v.id, v.vers, v.cksum, v.entry, v.yanked
	FROM crates c JOIN versions v ON v.crate_id = c.id
	WHERE c.canon_name = ? ORDER BY v.id`

// lazyStmt is a statement on the read pool prepared at its first
// successful use (database/sql then prepares it once per connection and
// keeps it there); a failed prepare is tried again by the next call.
type lazyStmt struct {
	mu   sync.Mutex
	stmt atomic.Pointer[sql.Stmt]
}

func (l *lazyStmt) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	if stmt := l.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if stmt := l.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	stmt, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	l.stmt.Store(stmt)
	return stmt, nil
}

// IndexRows returns what the crate's index file is rendered from.
func (s *Store) IndexRows(ctx context.Context, canon string) (_ *crated.IndexRows, err error) {
	defer wrap(&err, "sqlite.IndexRows(%q)", canon)
	stmt, err := s.indexRows.get(ctx, s.read, indexRowsQuery)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, canon)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &crated.IndexRows{}
	for rows.Next() {
		var r crated.IndexRow
		if err := rows.Scan(&out.Name, &r.ID, &r.Vers, &r.Cksum, &r.Entry, &r.Yanked); err != nil {
			return nil, err
		}
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
