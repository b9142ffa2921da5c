// Package sqlite is the embedded metadata store of crated: crated.Store on a
// single SQLite file through modernc.org/sqlite (pure Go, no cgo).
//
// SQLite allows one writer at a time, so the store keeps two pools on the
// file: a single connection for writes, which serializes writers inside the
// process without busy waiting, and several read-only connections that run in
// parallel with it thanks to the write-ahead log. Every write method is one
// short transaction begun with BEGIN IMMEDIATE, which takes the write lock at
// once: another process on the same file (a `crated user` command next to a
// running server) waits up to busyTimeout instead of failing half-way through
// a transaction with SQLITE_BUSY.
//
// The connections run with
//
//   - journal_mode=WAL: readers never block the writer nor the other way
//     round;
//   - synchronous=NORMAL: in WAL mode this fsyncs at checkpoints only, not at
//     every commit. It is still safe: a commit is atomic and the database
//     cannot be corrupted by a crash. An application crash loses nothing
//     (the commit is in the OS cache); only a power loss or kernel crash can
//     roll back the last transactions before it, leaving the database as it
//     was a moment earlier. For a registry that loss is a publish to repeat,
//     and an orphan .crate blob that `crated gc` collects;
//   - foreign_keys=ON: a version, owner or token always points at a real row;
//   - busy_timeout: waiting for another process's lock rather than failing.
//
// The schema lives in numbered files under migration/, embedded in the
// binary and applied on Open in one transaction; the names of the applied
// files are kept in the migrations table.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/crated/crated"
)

var _ crated.Store = (*Store)(nil)

// busyTimeout is how long a connection waits for a lock held by another
// process before it fails with SQLITE_BUSY, which the store reports as
// EUNAVAILABLE. A variable so that a test can shorten it.
var busyTimeout = 5 * time.Second

// Store is a crated.Store on one SQLite database.
type Store struct {
	// Now returns the current time. It is time.Now unless a test replaces it
	// before the store is used.
	Now func() time.Time
	// PollInterval is how often Listen looks for changes that other
	// processes made (0: DefaultPollInterval). Set it before Listen runs.
	PollInterval time.Duration

	// write has exactly one connection: SQLite has one writer, and queueing
	// writers in database/sql is cheaper and fairer than letting them spin on
	// SQLITE_BUSY.
	write *sql.DB
	// read has read-only connections, which WAL lets run while a write
	// transaction is open. For ":memory:" it is the write pool itself: each
	// connection to ":memory:" is a separate database. Its queries are
	// prepared once each (readpool.go).
	read *readPool
	// prepared holds the statements of the publish path, prepared once on
	// the write connection, by query text. Read-only after Open.
	prepared map[string]*sql.Stmt
}

// Open opens the SQLite database at path, creating the file and its parent
// directories if needed, and brings its schema up to date. path ":memory:"
// opens a private in-memory database (for tests) served by one connection.
func Open(ctx context.Context, path string) (_ *Store, err error) {
	defer wrap(&err, "sqlite.Open(%q)", path)
	if path == "" {
		return nil, crated.Errorf(crated.EINVALID, "the SQLite database path is empty")
	}
	s := &Store{Now: time.Now}
	writeParams := []string{
		"_pragma=busy_timeout(" + fmt.Sprint(busyTimeout.Milliseconds()) + ")",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	}
	if path == ":memory:" {
		if s.write, err = openPool(":memory:", writeParams, 1); err != nil {
			return nil, err
		}
		s.read = &readPool{DB: s.write}
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
			return nil, err
		}
		name := "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath()
		writeParams = append(writeParams, "_pragma=journal_mode(WAL)", "_pragma=synchronous(NORMAL)")
		if s.write, err = openPool(name, writeParams, 1); err != nil {
			return nil, err
		}
		// The writer connection must exist first: it turns on WAL, which
		// is persistent, so readers open an already converted file.
		if err := s.write.PingContext(ctx); err != nil {
			s.write.Close()
			return nil, err
		}
		readParams := []string{
			"_pragma=busy_timeout(" + fmt.Sprint(busyTimeout.Milliseconds()) + ")",
			"_pragma=query_only(1)",
		}
		read, err := openPool(name, readParams, max(4, runtime.GOMAXPROCS(0)))
		if err != nil {
			s.write.Close()
			return nil, err
		}
		s.read = &readPool{DB: read}
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// preparedQueries are the statements of PublishVersion and of the other
// frequent writes. Parsing a statement costs about as much as running it, so
// they are parsed once, in Open: preparing later would need a connection
// while a transaction holds the only one.
var preparedQueries = []string{
	insertCrateSQL, insertOwnerSQL, insertVersionSQL, updateCrateSQL, insertAuditSQL,
	yankSQL, updateMaxVersionSQL, versionDownloadsSQL, crateDownloadsSQL,
}

func (s *Store) prepare(ctx context.Context) error {
	s.prepared = make(map[string]*sql.Stmt, len(preparedQueries))
	for _, q := range preparedQueries {
		st, err := s.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.prepared[q] = st
	}
	return nil
}

// openPool opens a pool of at most n connections that are kept open: closing
// the last connection to ":memory:" would drop the database.
func openPool(name string, params []string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", name+"?"+strings.Join(params, "&"))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Close closes the database. The last connection to close checkpoints the
// write-ahead log into the database file.
func (s *Store) Close() error {
	var errs []error
	for _, st := range s.prepared {
		errs = append(errs, st.Close())
	}
	errs = append(errs, s.read.closeStmts())
	if s.read.DB != s.write {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	return errors.Join(errs...)
}

// Ping reports whether the database answers a query.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer wrap(&err, "sqlite.Ping")
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

//go:embed migration/*.sql
var migrationFS embed.FS

var migrationName = regexp.MustCompile(`^[0-9]{4}_[a-z0-9_]+\.sql$`)

// migrate applies the embedded migrations that the database has not seen,
// in name order, in one transaction: a failed upgrade leaves the schema as it
// was. BEGIN IMMEDIATE makes two processes opening one file at once take
// turns. A database that has migrations this binary does not know was
// upgraded by a newer crated, and is refused rather than misread.
func (s *Store) migrate(ctx context.Context) (err error) {
	defer crated.Wrap(&err, "migrate")
	paths, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(paths)
	known := map[string]bool{}
	for _, path := range paths {
		name := filepath.Base(path)
		if !migrationName.MatchString(name) {
			return fmt.Errorf("migration file name %q is not NNNN_name.sql", name)
		}
		known[name] = true
	}

	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name       TEXT    NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return err
	}
	applied, err := queryAll(ctx, tx, func(r scanner) (name string, err error) {
		return name, r.Scan(&name)
	}, `SELECT name FROM migrations`)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, name := range applied {
		if !known[name] {
			return crated.Errorf(crated.EINVALID,
				"the database has migration %s, which this version of crated does not know: it was upgraded by a newer crated", name)
		}
		done[name] = true
	}
	for _, path := range paths {
		name := filepath.Base(path)
		if done[name] {
			continue
		}
		if check := migrationChecks[name]; check != nil {
			if err := check(ctx, tx); err != nil {
				return err
			}
		}
		body, err := migrationFS.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
			name, dbTime(s.now())); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// migrationChecks run before the migration they are named after, in its
// transaction, to refuse with a clear message what its SQL would reject with
// a bare constraint error.
var migrationChecks = map[string]func(ctx context.Context, tx *sql.Tx) error{
	"0002_logins.sql": checkLoginClashes,
}

// checkLoginClashes refuses a database whose logins differ only in ASCII case
// or '-' versus '_': migration 0002 makes such logins unique.
func checkLoginClashes(ctx context.Context, tx *sql.Tx) error {
	groups, err := queryAll(ctx, tx, func(r scanner) (g string, err error) {
		return g, r.Scan(&g)
	}, `SELECT group_concat(login, ', ') FROM (SELECT login, replace(lower(login), '-', '_') AS canon FROM users ORDER BY login)
		GROUP BY canon HAVING count(*) > 1 ORDER BY canon`)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		return crated.LoginClashes(groups)
	}
	return nil
}

// writeTx is a write transaction: the exported method that begins it owns it
// (defer tx.Rollback(), Commit last), the helpers it calls take it. Its query
// methods use the store's prepared statement for a query when there is one.
type writeTx struct {
	*sql.Tx
	// now is the time of the transaction, from Store.Now: every row it
	// writes carries the same time.
	now      time.Time
	prepared map[string]*sql.Stmt
}

// begin starts a write transaction. The write connection begins it with
// BEGIN IMMEDIATE.
func (s *Store) begin(ctx context.Context) (*writeTx, error) {
	t, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &writeTx{Tx: t, now: s.now(), prepared: s.prepared}, nil
}

func (t *writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := t.prepared[query]; ok {
		return t.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *writeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := t.prepared[query]; ok {
		return t.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// now is the store's clock at the precision of the database.
func (s *Store) now() time.Time { return normTime(s.Now()) }

// normTime returns t as the database will return it: in UTC, to the
// microsecond.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTime is the stored form of t: microseconds since the Unix epoch.
func dbTime(t time.Time) int64 { return t.UnixMicro() }

// goTime is the inverse of dbTime.
func goTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// sqliteCode returns the extended result code of a SQLite error in err's
// chain, 0 if there is none.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// wrap is crated.Wrap after translate: every exported method ends with it.
func wrap(errp *error, format string, args ...any) {
	*errp = translate(*errp)
	crated.Wrap(errp, format, args...)
}

// translate gives the driver errors that the methods do not handle
// themselves a code from the crated vocabulary, by result code, never by
// message text. The driver's error stays in the chain for the logs.
func translate(err error) error {
	var ce *crated.Error
	if err == nil || errors.As(err, &ce) {
		return err
	}
	var code, msg string
	switch sqliteCode(err) & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		// Another process held the lock for longer than busyTimeout.
		code, msg = crated.EUNAVAILABLE, crated.MsgStoreBusy
	case sqlite3.SQLITE_CONSTRAINT:
		switch {
		case isUnique(err):
			code, msg = crated.ECONFLICT, crated.MsgStoreExists
		case isForeignKey(err):
			code, msg = crated.ENOTFOUND, crated.MsgStoreMissingRef
		default:
			return err
		}
	default:
		return err
	}
	return fmt.Errorf("%w (%w)", crated.Errorf(code, "%s", msg), err)
}

// isUnique reports whether err is the violation of a UNIQUE or PRIMARY KEY
// constraint.
func isUnique(err error) bool {
	code := sqliteCode(err)
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is the violation of a FOREIGN KEY
// constraint: a referenced row does not exist.
func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// nonNil returns b, or an empty slice for nil: the driver binds a nil slice
// as NULL, and the BLOB columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// boolInt is the stored form of a bool.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

const insertAuditSQL = `INSERT INTO audit_log (time, user_id, action, crate, version, detail,
	actor, auth, token_id, token_name, auth_detail, client)
	VALUES (?, ?, ?, ?, ?, ?, coalesce((SELECT login FROM users WHERE id = ?), ''), ?, ?, ?, ?, ?)`

// insertAudit records one audit entry by userID at the time of tx, with the
// authentication and client address that ctx carries.
func insertAudit(ctx context.Context, tx *writeTx, userID int64, action, crate, version, detail string) error {
	e := crated.AuditEntry{UserID: userID, Action: action, Crate: crate, Version: version, Detail: detail}
	crated.FillAuditEntry(ctx, &e)
	_, err := tx.ExecContext(ctx, insertAuditSQL, dbTime(tx.now), e.UserID, e.Action, e.Crate, e.Version, e.Detail,
		e.UserID, e.Auth, e.TokenID, e.TokenName, e.AuthDetail, e.Client)
	return err
}

const auditColumns = `id, time, user_id, action, crate, version, detail, actor, auth, token_id, token_name, auth_detail, client`

func scanAudit(r scanner) (*crated.AuditEntry, error) {
	var e crated.AuditEntry
	var at int64
	err := r.Scan(&e.ID, &at, &e.UserID, &e.Action, &e.Crate, &e.Version, &e.Detail,
		&e.Actor, &e.Auth, &e.TokenID, &e.TokenName, &e.AuthDetail, &e.Client)
	e.Time = goTime(at)
	return &e, err
}

// Audit lists audit entries newest first, at most limit of them (all when
// limit <= 0).
func (s *Store) Audit(ctx context.Context, limit int) (_ []*crated.AuditEntry, err error) {
	defer wrap(&err, "sqlite.Audit(%d)", limit)
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	return queryAll(ctx, s.read, scanAudit, `SELECT `+auditColumns+` FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
}
