package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/internal/sqlq"
)

// tokenColumns and scanToken read every kind of token; apitoken.go has the
// API-token columns' encoding.
const tokenColumns = `id, user_id, hash, sealed, created_at, kind, name, crate_scopes, endpoint_scopes, expires_at, last_used_at`

func scanToken(r scanner) (*crated.Token, error) {
	var t tokenRow
	if err := r.Scan(t.dests()...); err != nil {
		return &t.Token, err
	}
	return &t.Token, t.finish()
}

// tokenRow is a token as its columns scan, for queries that read a token
// with other columns (TokenUser).
type tokenRow struct {
	crated.Token
	created           int64
	crates, endpoints sql.NullString
	expires, used     sql.NullInt64
}

// dests are the Scan destinations of tokenColumns, in order.
func (t *tokenRow) dests() []any {
	return []any{&t.ID, &t.UserID, &t.Hash, &t.Sealed, &t.created, &t.Kind, &t.Name, &t.crates, &t.endpoints, &t.expires, &t.used}
}

// finish converts what dests received into the token's fields.
func (t *tokenRow) finish() (err error) {
	t.CreatedAt = goTime(t.created)
	if t.expires.Valid {
		t.ExpiresAt = goTime(t.expires.Int64)
	}
	if t.used.Valid {
		t.LastUsedAt = goTime(t.used.Int64)
	}
	if t.CrateScopes, err = scopesFromDB(t.crates); err != nil {
		return err
	}
	t.EndpointScopes, err = scopesFromDB(t.endpoints)
	return err
}

// ReplaceToken makes t the user's only token and returns the previous one,
// nil if there was none. It sets t.ID and t.CreatedAt.
func (s *Store) ReplaceToken(ctx context.Context, t *crated.Token) (_ *crated.Token, err error) {
	defer wrap(&err, "sqlite.ReplaceToken(user %d)", t.UserID)
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	old, err := scanToken(tx.QueryRowContext(ctx, `DELETE FROM tokens WHERE user_id = ? AND kind = 'login' RETURNING `+tokenColumns, t.UserID))
	if errors.Is(err, sql.ErrNoRows) {
		old = nil
	} else if err != nil {
		return nil, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO tokens (user_id, hash, sealed, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Hash, nonNil(t.Sealed), dbTime(tx.now)).Scan(&id)
	switch {
	case isUnique(err):
		// Another user's token has this hash. Never show the hash.
		return nil, crated.TokenTaken()
	case isForeignKey(err):
		return nil, crated.UserIDNotFound(t.UserID)
	case err != nil:
		return nil, err
	}
	if err := insertAudit(ctx, tx, t.UserID, crated.AuditTokenReplace, "", "", ""); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	t.ID, t.CreatedAt = id, tx.now
	return old, nil
}

// TokenByHash finds a token by the hash of its string.
func (s *Store) TokenByHash(ctx context.Context, hash string) (_ *crated.Token, err error) {
	// The hash stays out of the error, even the internal one.
	defer wrap(&err, "sqlite.TokenByHash")
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crated.TokenNotFound()
	}
	return t, err
}

// tokenUserQuery reads a token and its user in one statement.
var tokenUserQuery = `SELECT ` + sqlq.Qualify("t", tokenColumns) + `, ` + sqlq.Qualify("u", userColumns) +
	` FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`

// TokenUser finds an active token by its hash, and the user it belongs to.
func (s *Store) TokenUser(ctx context.Context, hash string) (_ *crated.Token, _ *crated.User, err error) {
	// The hash stays out of the error, even the internal one.
	defer wrap(&err, "sqlite.TokenUser")
	var t tokenRow
	var u userRow
	err = s.read.QueryRowContext(ctx, tokenUserQuery, hash).Scan(append(t.dests(), u.dests()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, crated.TokenNotFound()
	}
	if err != nil {
		return nil, nil, err
	}
	if err := t.finish(); err != nil {
		return nil, nil, err
	}
	u.finish()
	return &t.Token, &u.User, nil
}

// UserToken returns the user's token.
func (s *Store) UserToken(ctx context.Context, userID int64) (_ *crated.Token, err error) {
	defer wrap(&err, "sqlite.UserToken(%d)", userID)
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE user_id = ? AND kind = 'login'`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crated.NoToken(userID)
	}
	return t, err
}

// RevokeToken deletes the user's token, if there is one.
func (s *Store) RevokeToken(ctx context.Context, userID int64) (err error) {
	defer wrap(&err, "sqlite.RevokeToken(%d)", userID)
	_, err = s.write.ExecContext(ctx, `DELETE FROM tokens WHERE user_id = ? AND kind = 'login'`, userID)
	return err
}

// staleLogins is how long after expiring a login state is deleted by the
// next PutLoginState; until then TakeLoginState refuses it anyway.
const staleLogins = time.Hour

// PutLoginState stores a pending OpenID login, and forgets logins that
// expired long ago and were never completed.
func (s *Store) PutLoginState(ctx context.Context, st *crated.LoginState) (err error) {
	defer wrap(&err, "sqlite.PutLoginState")
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_states WHERE expires_at < ?`,
		dbTime(tx.now.Add(-staleLogins))); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO login_states (key, nonce, pkce_verifier, kind, expires_at)
		VALUES (?, ?, ?, ?, ?)`, st.Key, st.Nonce, st.PKCEVerifier, st.Kind, dbTime(st.ExpiresAt))
	if isUnique(err) {
		return crated.LoginStateTaken()
	} else if err != nil {
		return err
	}
	return tx.Commit()
}

// TakeLoginState deletes and returns a pending login. A login that does not
// exist, was taken already or has expired at now is ENOTFOUND; an expired one
// is deleted too.
func (s *Store) TakeLoginState(ctx context.Context, key string, now time.Time) (_ *crated.LoginState, err error) {
	defer wrap(&err, "sqlite.TakeLoginState")
	st := crated.LoginState{Key: key}
	var expires int64
	err = s.write.QueryRowContext(ctx, `DELETE FROM login_states WHERE key = ?
		RETURNING nonce, pkce_verifier, kind, expires_at`, key).Scan(&st.Nonce, &st.PKCEVerifier, &st.Kind, &expires)
	notFound := crated.LoginStateNotFound()
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	st.ExpiresAt = goTime(expires)
	if !now.Before(st.ExpiresAt) {
		return nil, notFound
	}
	return &st, nil
}
