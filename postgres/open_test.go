package postgres_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/postgres"
)

// password is in every URL of the tests; no error may show it.
const password = "hunter2secret"

// checkOpenError fails the test unless Open(rawURL) fails with code and a
// message that names the setting, says what each of want says and does not
// show the password.
func checkOpenError(t *testing.T, rawURL, code string, want ...string) {
	t.Helper()
	s, err := postgres.Open(t.Context(), rawURL)
	if err == nil {
		s.Close()
		t.Fatalf("Open succeeded, want an error")
	}
	if got := crated.ErrorCode(err); got != code {
		t.Errorf("error code %q (%v), want %q", got, err, code)
	}
	msg := crated.ErrorMessage(err)
	t.Logf("Open: %s", msg)
	for _, w := range append([]string{"db_config.postgres_url"}, want...) {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not contain %q", msg, w)
		}
	}
	if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), url.QueryEscape(password)) {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestOpenBadURL needs no server: the URL is wrong, or nothing listens.
func TestOpenBadURL(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	tests := []struct {
		name string
		url  string
		code string
		want []string
	}{
		{"Empty", "", crated.EINVALID, []string{"empty"}},
		{"BadPort", "postgres://crated:" + password + "@127.0.0.1:notaport/crated", crated.EINVALID,
			[]string{"not a valid PostgreSQL URL", "invalid port"}},
		{"BadSSLMode", "postgres://crated:" + password + "@127.0.0.1/crated?sslmode=sometimes", crated.EINVALID,
			[]string{"not a valid PostgreSQL URL", "sslmode"}},
		{"OtherScheme", "mysql://crated:" + password + "@127.0.0.1/crated", crated.EINVALID,
			[]string{"postgres://", "not mysql://"}},
		{"PasswordInQuery", "postgres://127.0.0.1:bad/crated?user=crated&password=" + password + "&sslmode=disable",
			crated.EINVALID, []string{"not a valid PostgreSQL URL"}},
		{"KeywordValue", "host=127.0.0.1 port=notaport user=crated password=" + password, crated.EINVALID,
			[]string{"not a valid PostgreSQL URL"}},
		{"QuotedKeywordValue", "host=127.0.0.1 port=x password='" + password + " x'", crated.EINVALID,
			[]string{"not a valid PostgreSQL URL"}},
		{"NothingListens", "postgres://crated:" + password + "@127.0.0.1:" + strconv.Itoa(closedPort) + "/crated?sslmode=disable",
			crated.EUNAVAILABLE, []string{"cannot connect", "127.0.0.1:" + strconv.Itoa(closedPort), "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkOpenError(t, tt.url, tt.code, tt.want...) })
	}
}

// TestOpenRefused reaches the test server with a wrong database or user.
func TestOpenRefused(t *testing.T) {
	base, err := url.Parse(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	with := func(user, database string) string {
		u := *base
		u.User = url.UserPassword(user, password)
		u.Path = "/" + database
		return u.String()
	}
	tests := []struct {
		name string
		url  string
		want []string
	}{
		{"NoSuchDatabase", with(base.User.Username(), "crated_no_such_database"),
			[]string{`database "crated_no_such_database" does not exist`, base.Host}},
		{"NoSuchUser", with("crated_no_such_user", "postgres"),
			[]string{`refused user "crated_no_such_user"`, base.Host}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkOpenError(t, tt.url, crated.EINVALID, tt.want...) })
	}

	t.Run("MayNotCreateTables", func(t *testing.T) {
		// A role that may connect but not create tables, as any role that
		// does not own the database on PostgreSQL 15 and later (the REVOKE
		// makes it so on older servers).
		dbURL := freshDatabase(t)
		role := strings.TrimPrefix(mustParse(t, dbURL).Path, "/") + "_role"
		admin := adminConn(t, dbURL)
		if _, err := admin.Exec(t.Context(), "CREATE ROLE "+role+" LOGIN"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec(context.Background(), "DROP ROLE "+role); err != nil {
				t.Errorf("DROP ROLE %s: %v", role, err)
			}
		})
		if _, err := admin.Exec(t.Context(), "REVOKE CREATE ON SCHEMA public FROM PUBLIC"); err != nil {
			t.Fatal(err)
		}
		u := mustParse(t, dbURL)
		u.User = url.UserPassword(role, password)
		checkOpenError(t, u.String(), crated.EINVALID, fmt.Sprintf("user %q may not create", role), "OWNER TO")
	})
}

func mustParse(t *testing.T, rawURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
