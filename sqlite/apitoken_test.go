package sqlite

import (
	"strings"
	"testing"

	"github.com/crated/crated"
)

// TestAPITokenMigration: migration 0007 rebuilds the tokens table of an
// existing database keeping every token and the AUTOINCREMENT counter, so
// that the id of a token deleted before the upgrade is never handed out
// again (audit entries name tokens by id).
func TestAPITokenMigration(t *testing.T) {
	db, path := migratedBefore(t, "0007")
	for _, q := range []string{
		`INSERT INTO users (login, canon_login, name, email, password_hash, issuer, subject, admin, created_at)
			VALUES ('alice', 'alice', 'alice', '', '', '', '', 0, 0)`,
		`INSERT INTO users (login, canon_login, name, email, password_hash, issuer, subject, admin, created_at)
			VALUES ('bob', 'bob', 'bob', '', '', '', '', 0, 0)`,
		`INSERT INTO tokens (user_id, hash, sealed, created_at) VALUES (1, 'h1', x'00', 5)`,
		`INSERT INTO tokens (user_id, hash, sealed, created_at) VALUES (2, 'h2', x'01', 6)`,
		`DELETE FROM tokens WHERE hash = 'h2'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, err := s.TokenByHash(t.Context(), "h1")
	if err != nil || old.ID != 1 || old.Kind != crated.TokenLogin || old.EndpointScopes != nil {
		t.Fatalf("token kept by the upgrade = %+v, %v", old, err)
	}
	if ut, err := s.UserToken(t.Context(), 1); err != nil || ut.ID != 1 {
		t.Errorf("UserToken after the upgrade = %v, %v", ut, err)
	}
	nt := &crated.Token{UserID: 1, Hash: strings.Repeat("3", 64), Name: "new"}
	if err := s.CreateAPIToken(t.Context(), nt); err != nil {
		t.Fatal(err)
	}
	if nt.ID != 3 {
		t.Errorf("first token after the upgrade has id %d, want 3: the AUTOINCREMENT counter was lost", nt.ID)
	}
}
