package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/postgres"
	"github.com/crated/crated/storetest"
)

// TestLoginAttemptsAcrossReplicas: two stores on one database (two
// replicas) racing on one name grant at most the limit between them.
func TestLoginAttemptsAcrossReplicas(t *testing.T) {
	dbURL := freshDatabase(t)
	replicas := []crated.Store{open(t, dbURL), open(t, dbURL)}
	const n, max = 40, 10
	granted := storetest.RaceLoginAttempts(t, replicas, n, max)
	if granted != max {
		t.Errorf("%d of %d attempts over two replicas granted, want exactly %d", granted, n, max)
	}
}

// TestQueryTimeoutIsUnavailable: a query that gets no answer within
// QueryTimeout (here: blocked behind a lock another session holds) ends
// with EUNAVAILABLE instead of hanging.
func TestQueryTimeoutIsUnavailable(t *testing.T) {
	dbURL := freshDatabase(t)
	s := open(t, dbURL)
	s.QueryTimeout = 200 * time.Millisecond
	admin := adminConn(t, dbURL)
	tx, err := admin.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), `LOCK TABLE users IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	_, err = s.UserByLogin(t.Context(), "alice")
	if crated.ErrorCode(err) != crated.EUNAVAILABLE {
		t.Errorf("UserByLogin behind a lock = %v (code %q), want EUNAVAILABLE", err, crated.ErrorCode(err))
	}
	storetest.CheckCode(t, "UserByLogin", err)
	tx.Rollback(t.Context())
	if _, err := s.UserByLogin(t.Context(), "alice"); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("UserByLogin after the lock = %v, want ENOTFOUND", err)
	}
}

// TestMigrationRefusesClashingLogins: an existing database with logins that
// differ only in case or '-'/'_' is refused by name and left unchanged.
func TestMigrationRefusesClashingLogins(t *testing.T) {
	dbURL := freshDatabase(t)
	admin := adminConn(t, dbURL)
	init, err := os.ReadFile("migration/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(init),
		`CREATE TABLE migrations (name text NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL)`,
		`INSERT INTO migrations VALUES ('0001_init.sql', now())`,
		`INSERT INTO users (login, name, email, password_hash, issuer, subject, admin, created_at) VALUES
			('alice', 'alice', '', '', '', '', false, now()), ('Alice', 'Alice', '', '', '', '', false, now()),
			('bob-x', 'bob-x', '', '', '', '', false, now()), ('bob_x', 'bob_x', '', '', '', '', false, now()),
			('carol', 'carol', '', '', '', '', false, now())`,
	} {
		if _, err := admin.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	st, err := postgres.Open(t.Context(), dbURL)
	if err == nil {
		st.Close()
		t.Fatal("Open of a database with clashing logins succeeded")
	}
	if crated.ErrorCode(err) != crated.EINVALID {
		t.Errorf("Open = %v, want EINVALID", err)
	}
	for _, want := range []string{"(Alice, alice)", "(bob-x, bob_x)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	var applied int
	if err := admin.QueryRow(t.Context(), `SELECT count(*) FROM migrations`).Scan(&applied); err != nil || applied != 1 {
		t.Errorf("migrations after the refusal: %d, %v; want only 0001", applied, err)
	}
	if _, err := admin.Exec(t.Context(), `DELETE FROM users WHERE login IN ('Alice', 'bob_x')`); err != nil {
		t.Fatal(err)
	}
	s := open(t, dbURL)
	if err := s.CreateUser(t.Context(), &crated.User{Login: "ALICE"}); crated.ErrorCode(err) != crated.ECONFLICT {
		t.Errorf("CreateUser(ALICE) after the upgrade = %v, want ECONFLICT", err)
	}
}

// TestConnectionLossIsUnavailable: when the database server drops the
// store's connections and refuses new ones, methods answer EUNAVAILABLE
// (503, try again), not an internal error.
func TestConnectionLossIsUnavailable(t *testing.T) {
	dbURL := freshDatabase(t)
	s := open(t, dbURL)
	u := &crated.User{Login: "alice"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	admin := adminConn(t, serverURL(t))
	db := strings.TrimPrefix(dbURL[strings.LastIndex(dbURL, "/"):], "/")
	if i := strings.IndexByte(db, '?'); i >= 0 {
		db = db[:i]
	}
	for _, q := range []string{
		`ALTER DATABASE ` + db + ` ALLOW_CONNECTIONS false`,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + db + `'`,
	} {
		if _, err := admin.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { admin.Exec(context.Background(), `ALTER DATABASE `+db+` ALLOW_CONNECTIONS true`) })
	for range 3 { // a dead pooled connection, then failed reconnects
		_, err := s.UserByID(t.Context(), u.ID)
		if crated.ErrorCode(err) != crated.EUNAVAILABLE {
			t.Errorf("UserByID without a database = %v (code %q), want EUNAVAILABLE", err, crated.ErrorCode(err))
		}
		storetest.CheckCode(t, "UserByID", err)
	}
}
