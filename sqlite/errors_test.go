package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

// TestBusyIsUnavailable: a write that waited out the busy timeout behind
// another process's lock is EUNAVAILABLE (503, try again), not an internal
// error (500).
func TestBusyIsUnavailable(t *testing.T) {
	old := busyTimeout
	busyTimeout = 100 * time.Millisecond
	t.Cleanup(func() { busyTimeout = old })
	path := filepath.Join(t.TempDir(), "crated.db")
	s := mustOpen(t, path)

	// Another process's writer: a raw connection holding the write lock.
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO login_attempts (key, at) VALUES ('x', 0)`); err != nil {
		t.Fatal(err)
	}

	err = s.CreateUser(t.Context(), &crated.User{Login: "alice"})
	if crated.ErrorCode(err) != crated.EUNAVAILABLE || crated.ErrorMessage(err) != crated.MsgStoreBusy {
		t.Errorf("CreateUser behind a held lock = %v (code %q), want EUNAVAILABLE %q", err, crated.ErrorCode(err), crated.MsgStoreBusy)
	}
	storetest.CheckCode(t, "CreateUser", err)
	_, _, err = s.ReserveLoginAttempt(t.Context(), "alice", time.Now(), time.Minute, 10)
	if crated.ErrorCode(err) != crated.EUNAVAILABLE {
		t.Errorf("ReserveLoginAttempt behind a held lock = %v, want EUNAVAILABLE", err)
	}
}

// TestMigrationRefusesClashingLogins: an existing database with logins that
// differ only in case or '-'/'_' is refused by name, unchanged, and opens
// once the operator renamed them.
func TestMigrationRefusesClashingLogins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crated.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	init, err := migrationFS.ReadFile("migration/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(init),
		`CREATE TABLE migrations (name TEXT NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
		`INSERT INTO migrations VALUES ('0001_init.sql', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, login := range []string{"alice", "Alice", "bob-x", "bob_x", "carol"} {
		if _, err := db.Exec(`INSERT INTO users (login, name, email, password_hash, issuer, subject, admin, created_at)
			VALUES (?, ?, '', '', '', '', 0, 0)`, login, login); err != nil {
			t.Fatal(err)
		}
	}

	_, err = Open(t.Context(), path)
	if crated.ErrorCode(err) != crated.EINVALID {
		t.Fatalf("Open of a database with clashing logins = %v, want EINVALID", err)
	}
	for _, want := range []string{"(Alice, alice)", "(bob-x, bob_x)", "nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "carol") {
		t.Errorf("error %q names a login that clashes with nothing", err)
	}
	var applied int
	if err := db.QueryRow(`SELECT count(*) FROM migrations`).Scan(&applied); err != nil || applied != 1 {
		t.Errorf("migrations after the refusal: %d, %v; want only 0001", applied, err)
	}

	// The operator renames; the upgrade then goes through and the
	// canonical logins of the existing users are in force.
	for _, q := range []string{
		`UPDATE users SET login = 'alice-old', name = 'alice-old' WHERE login = 'Alice'`,
		`UPDATE users SET login = 'bob-y', name = 'bob-y' WHERE login = 'bob_x'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s := mustOpen(t, path)
	for _, login := range []string{"ALICE", "Bob_X", "Carol", "alice_OLD"} {
		err := s.CreateUser(t.Context(), &crated.User{Login: login})
		if crated.ErrorCode(err) != crated.ECONFLICT {
			t.Errorf("CreateUser(%s) after the upgrade = %v, want ECONFLICT", login, err)
		}
	}
}
