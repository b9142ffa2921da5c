package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// readPool is the pool of read-only connections, with every query text
// prepared once: SQLite's parse and plan cost about as much as running a
// short query, and the read path (a publish's token, owner, dependency and
// trusted-publisher lookups, the index's cache misses) runs the same few
// statements over and over. database/sql prepares a Stmt on each connection
// at its first use there and keeps it.
//
// Only constant query texts may go through it (values are always ?
// arguments here), so the cache holds one statement per call site.
type readPool struct {
	*sql.DB
	stmts sync.Map // query text -> *sql.Stmt
	mu    sync.Mutex
}

// stmt returns query's statement, preparing it at its first use. A failed
// prepare is not kept: the next call tries again.
func (p *readPool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.stmts.Store(query, st)
	return st, nil
}

func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil {
		// The unprepared query reports the same error through the Row.
		return p.DB.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// closeStmts closes the prepared statements, before the pool closes.
func (p *readPool) closeStmts() error {
	var errs []error
	p.stmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}
