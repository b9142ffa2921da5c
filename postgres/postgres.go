// Package postgres is the scale-out metadata store of crated: crated.Store on
// PostgreSQL through pgx, shared by any number of identical replicas.
//
// Every write method is one short READ COMMITTED transaction. Uniqueness is
// left to constraints, so two replicas racing to publish the same version or
// create the same crate cannot both win: the loser gets SQLSTATE 23505, which
// the store reports as ECONFLICT. Where a value derives from other rows (a
// crate's MaxVersion, "a crate keeps one owner"), the transaction first locks
// the crate's row, so the statements after it see every change committed
// before; locks are always taken crate first, then versions, so that
// transactions never wait on each other in a circle.
//
// Every transaction that changes a crate (publish, yank, unyank, owners)
// sends pg_notify('crated_changes', canon_name) before it commits.
// PostgreSQL delivers the notification at commit, and not at all on
// rollback, so a replica that hears it can read the change; Listen is the
// receiving end.
//
// # Connections
//
// Each Store keeps a pool of at most 10 connections (override with
// pool_max_conns in the URL), plus one connection while Listen runs. With N
// replicas keep N × (pool_max_conns + 1) below the server's max_connections
// minus superuser_reserved_connections: 100 − 3 by default, so 8 replicas at
// the default size. Idle connections are closed after 5 minutes, so replicas
// do not hold the server's connection slots while idle, and every connection
// is replaced after about 30 minutes, so that replicas spread over a new
// primary after a failover. Queries use pgx's per-connection prepared
// statement cache: behind PgBouncer in transaction mode, add
// default_query_exec_mode=exec to the URL, and note that LISTEN needs a
// session-mode or direct connection.
//
// The schema lives in numbered files under migration/, embedded in the
// binary and applied on Open (see Migrate).
package postgres

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crated/crated"
)

var (
	_ crated.Store          = (*Store)(nil)
	_ crated.ChangeNotifier = (*Store)(nil)
)

// Store is a crated.Store on one PostgreSQL database.
type Store struct {
	// Now returns the current time. It is time.Now unless a test replaces it
	// before the store is used. Every row a transaction writes carries the
	// same time from it.
	Now func() time.Time
	// Logger receives Listen's reports on its connection; nil means
	// slog.Default(). Set it before calling Listen.
	Logger *slog.Logger

	pool *pgxpool.Pool
	// listenConfig connects Listen's dedicated connection, outside the pool
	// so that it never takes a slot from the queries.
	listenConfig *pgx.ConnConfig
	// listening, if set, is called each time Listen's LISTEN is in place
	// (tests wait for it).
	listening func()
	// QueryTimeout bounds each method's work in the database, waiting for
	// a pool connection included (default 10 seconds; Listen is not
	// bounded, it runs until its context ends). Set it before use.
	QueryTimeout time.Duration

	// idleCheck is defaultIdleCheck; tests shorten it.
	idleCheck time.Duration
}

// Open connects to the PostgreSQL database at url (postgres://... or a
// key=value connection string) and brings its schema up to date. Errors name
// db_config.postgres_url and never show the password.
func Open(ctx context.Context, url string) (_ *Store, err error) {
	defer crated.Wrap(&err, "postgres.Open")
	cfg, err := poolConfig(url)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, connectError(url, cfg.ConnConfig, err)
	}
	// The pool connects lazily: connect now, so that a wrong URL fails at
	// start with a clear message rather than at the first request.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connectError(url, cfg.ConnConfig, err)
	}
	s := &Store{Now: time.Now, pool: pool, listenConfig: listenConfig(cfg.ConnConfig), idleCheck: defaultIdleCheck}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool's connections, waiting for the queries in progress.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping reports whether the database answers a query.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer wrap(&err, "postgres.Ping")
	ctx, done := s.op(ctx)
	defer done(&err)
	return s.pool.Ping(ctx)
}

// tx is a write transaction: the exported method that begins it owns it
// (defer tx.Rollback, Commit last), the helpers it calls take it.
type tx struct {
	pgx.Tx
	// now is the time of the transaction, from Store.Now.
	now time.Time
}

// begin starts a READ COMMITTED transaction: each statement sees what was
// committed before it started, which is what the row locks rely on.
func (s *Store) begin(ctx context.Context) (*tx, error) {
	t, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, err
	}
	return &tx{Tx: t, now: s.now()}, nil
}

// now is the store's clock at the precision of the database.
func (s *Store) now() time.Time { return normTime(s.Now()) }

// normTime returns t as the database will return it: in UTC, to the
// microsecond (pgx truncates when it encodes a time).
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// changesChannel is the channel of the change notifications; the payload is
// the canonical name of the crate.
const changesChannel = "crated_changes"

// notify tells every listening replica, at commit, that a crate changed.
func notify(ctx context.Context, tx *tx, canon string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, changesChannel, canon)
	return err
}

// nonNil returns b, or an empty slice for nil: pgx sends a nil slice as
// NULL, and the columns are NOT NULL.
func nonNil[T any](b []T) []T {
	if b == nil {
		return []T{}
	}
	return b
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryer is the pool or a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// exists reports whether query returns a row.
func exists(ctx context.Context, q queryer, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// limitArg is the argument of LIMIT: NULL, no limit, for n <= 0.
func limitArg(n int) *int64 {
	if n <= 0 {
		return nil
	}
	l := int64(n)
	return &l
}

// insertAudit records one audit entry by userID at the time of tx, with the
// authentication and client address that ctx carries.
func insertAudit(ctx context.Context, tx *tx, userID int64, action, crate, version, detail string) error {
	e := crated.AuditEntry{UserID: userID, Action: action, Crate: crate, Version: version, Detail: detail}
	crated.FillAuditEntry(ctx, &e)
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (time, user_id, action, crate, version, detail,
		actor, auth, token_id, token_name, auth_detail, client)
		VALUES ($1, $2, $3, $4, $5, $6, coalesce((SELECT login FROM users WHERE id = $2), ''), $7, $8, $9, $10, $11)`,
		tx.now, e.UserID, e.Action, e.Crate, e.Version, e.Detail, e.Auth, e.TokenID, e.TokenName, e.AuthDetail, e.Client)
	return err
}

const auditColumns = `id, time, user_id, action, crate, version, detail, actor, auth, token_id, token_name, auth_detail, client`

func scanAudit(r scanner) (*crated.AuditEntry, error) {
	var e crated.AuditEntry
	err := r.Scan(&e.ID, &e.Time, &e.UserID, &e.Action, &e.Crate, &e.Version, &e.Detail,
		&e.Actor, &e.Auth, &e.TokenID, &e.TokenName, &e.AuthDetail, &e.Client)
	e.Time = e.Time.UTC()
	return &e, err
}

// Audit lists audit entries newest first, at most limit of them (all when
// limit <= 0).
func (s *Store) Audit(ctx context.Context, limit int) (_ []*crated.AuditEntry, err error) {
	defer wrap(&err, "postgres.Audit(%d)", limit)
	ctx, done := s.op(ctx)
	defer done(&err)
	return queryAll(ctx, s.pool, scanAudit, `SELECT `+auditColumns+` FROM audit_log ORDER BY id DESC LIMIT $1`, limitArg(limit))
}

// pgError returns the server error in err's chain, nil if there is none.
func pgError(err error) *pgconn.PgError {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// SQLSTATE codes the store acts on.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// violates reports whether err is the violation (SQLSTATE code) of the named
// constraint or unique index.
func violates(err error, code, constraint string) bool {
	e := pgError(err)
	return e != nil && e.Code == code && e.ConstraintName == constraint
}
