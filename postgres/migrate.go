package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"time"

	"github.com/crated/crated"
)

//go:embed migration/*.sql
var migrationFS embed.FS

var migrationName = regexp.MustCompile(`^[0-9]{4}_[a-z0-9_]+\.sql$`)

// migrateTimeout bounds Migrate, lock wait included.
const migrateTimeout = 5 * time.Minute

// migrationLock is the key of the advisory lock that serializes migrations.
// Advisory locks are per database, so this only excludes other crated
// processes migrating the same database. (The bytes of "crated\x00m".)
const migrationLock int64 = 0x637261746564006d

// Migrate applies the embedded migrations that the database has not seen,
// in name order, in one transaction: a failed upgrade leaves the schema as it
// was. The transaction first takes an advisory lock, so replicas starting
// together take turns: the first applies the migrations, the others then find
// them recorded in the migrations table and apply nothing. Migrations that
// the table names but this binary does not know (a newer crated migrated the
// database) are left alone.
func (s *Store) Migrate(ctx context.Context) (err error) {
	defer wrap(&err, "postgres.Migrate")
	// Longer than a query's deadline: a migration may rewrite a table,
	// and may wait for another replica's migration first.
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)

	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Released by the commit or the rollback, even if the process dies.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name       text        NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return s.migrateError(err)
	}
	applied := map[string]bool{}
	done, err := queryAll(ctx, tx, func(r scanner) (string, error) {
		var name string
		return name, r.Scan(&name)
	}, `SELECT name FROM migrations`)
	if err != nil {
		return err
	}
	for _, name := range done {
		applied[name] = true
	}
	for _, file := range names {
		name := path.Base(file)
		if !migrationName.MatchString(name) {
			return fmt.Errorf("migration file name %q is not NNNN_name.sql", name)
		}
		if applied[name] {
			continue
		}
		if check := migrationChecks[name]; check != nil {
			if err := check(ctx, tx); err != nil {
				return err
			}
		}
		body, err := migrationFS.ReadFile(file)
		if err != nil {
			return err
		}
		// Without arguments pgx uses the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("%s: %w", name, s.migrateError(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO migrations (name, applied_at) VALUES ($1, $2)`, name, tx.now); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// migrateError explains the usual reason why a schema change fails: since
// PostgreSQL 15 only the owner of a database may create tables in its public
// schema.
func (s *Store) migrateError(err error) error {
	if e := pgError(err); e != nil && e.Code == "42501" { // insufficient_privilege
		return fmt.Errorf("%w (%w)", crated.Errorf(crated.EINVALID,
			"%s: user %q may not create the tables of crated in database %q: %s; "+
				"make the user the owner of the database (ALTER DATABASE ... OWNER TO ...) or grant it CREATE on the schema",
			configKey, s.listenConfig.User, s.listenConfig.Database, e.Message), err)
	}
	return err
}

// migrationChecks run before the migration they are named after, in its
// transaction, to refuse with a clear message what its SQL would reject with
// a bare constraint error.
var migrationChecks = map[string]func(ctx context.Context, tx *tx) error{
	"0002_logins.sql": checkLoginClashes,
}

// checkLoginClashes refuses a database whose logins differ only in ASCII case
// or '-' versus '_': migration 0002 makes such logins unique.
func checkLoginClashes(ctx context.Context, tx *tx) error {
	groups, err := queryAll(ctx, tx, func(r scanner) (g string, err error) {
		return g, r.Scan(&g)
	}, `SELECT string_agg(login, ', ' ORDER BY login) FROM users
		GROUP BY translate(login, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ-', 'abcdefghijklmnopqrstuvwxyz_')
		HAVING count(*) > 1 ORDER BY 1`)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		return crated.LoginClashes(groups)
	}
	return nil
}
