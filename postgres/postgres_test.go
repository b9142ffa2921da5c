package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
	"github.com/crated/crated/postgres"
	"github.com/crated/crated/storetest"
)

// urlEnv names the PostgreSQL server the tests use, as a URL to a database
// of a role that may create databases, for example
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const urlEnv = "CRATED_TEST_POSTGRES_URL"

func TestStore(t *testing.T) {
	serverURL(t) // skip once, not in every subtest
	storetest.Run(t, func(t *testing.T) crated.Store { return open(t, freshDatabase(t)) })
}

// serverURL returns the URL of the test server. Without one the test is
// skipped, or fails when CI=true: CI must run every test.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		msg := urlEnv + " is not set: skipping the PostgreSQL tests " +
			"(set it to e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

// freshDatabase creates an empty database on the test server, dropped when
// the test ends, and returns its URL.
func freshDatabase(t testing.TB) string {
	t.Helper()
	base := serverURL(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", urlEnv)
	}
	var b [8]byte
	rand.Read(b[:])
	name := "crated_test_" + hex.EncodeToString(b[:])

	admin := adminConn(t, base)
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t.Context() is canceled by now. FORCE ends the connections that
		// a failed test may have left.
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// adminConn connects to rawURL for the test's own statements.
func adminConn(t testing.TB, rawURL string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), rawURL)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// open opens a store on the database at rawURL, closed when the test ends.
func open(t testing.TB, rawURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), rawURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
