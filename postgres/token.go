package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
	"github.com/crated/crated/internal/sqlq"
)

// tokenColumns and scanToken read every kind of token.
const tokenColumns = `id, user_id, hash, sealed, created_at, kind, name, crate_scopes, endpoint_scopes, expires_at, last_used_at`

func scanToken(r scanner) (*crated.Token, error) {
	var t tokenRow
	err := r.Scan(t.dests()...)
	t.finish()
	return &t.Token, err
}

// tokenRow is a token as its columns scan, for queries that read a token
// with other columns (TokenUser).
type tokenRow struct {
	crated.Token
	expires, used *time.Time
}

// dests are the Scan destinations of tokenColumns, in order.
func (t *tokenRow) dests() []any {
	return []any{&t.ID, &t.UserID, &t.Hash, &t.Sealed, &t.CreatedAt, &t.Kind, &t.Name,
		&t.CrateScopes, &t.EndpointScopes, &t.expires, &t.used}
}

// finish converts what dests received into the token's fields.
func (t *tokenRow) finish() {
	t.CreatedAt = t.CreatedAt.UTC()
	if t.expires != nil {
		t.ExpiresAt = t.expires.UTC()
	}
	if t.used != nil {
		t.LastUsedAt = t.used.UTC()
	}
}

// ReplaceToken makes t the user's only token and returns the previous one,
// nil if there was none. It sets t.ID and t.CreatedAt.
func (s *Store) ReplaceToken(ctx context.Context, t *crated.Token) (_ *crated.Token, err error) {
	// The hash stays out of the error, even the internal one.
	defer wrap(&err, "postgres.ReplaceToken(user %d)", t.UserID)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)

	old, err := scanToken(tx.QueryRow(ctx, `DELETE FROM tokens WHERE user_id = $1 AND kind = 'login' RETURNING `+tokenColumns, t.UserID))
	if errors.Is(err, pgx.ErrNoRows) {
		old = nil
	} else if err != nil {
		return nil, err
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO tokens (user_id, hash, sealed, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		t.UserID, t.Hash, nonNil(t.Sealed), tx.now).Scan(&id)
	switch {
	case violates(err, uniqueViolation, "tokens_hash_key"):
		// Another user's token has this hash. Never show the hash.
		return nil, crated.TokenTaken()
	case violates(err, uniqueViolation, "tokens_login_key"):
		// A concurrent ReplaceToken for the same user committed its token
		// between our DELETE and INSERT.
		return nil, crated.Errorf(crated.ECONFLICT, "the token of user %d was replaced at the same time, please try again", t.UserID)
	case violates(err, foreignKeyViolation, "tokens_user_fkey"):
		return nil, userNotFound(t.UserID)
	case err != nil:
		return nil, err
	}
	if err := insertAudit(ctx, tx, t.UserID, crated.AuditTokenReplace, "", "", ""); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	t.ID, t.CreatedAt = id, tx.now
	return old, nil
}

// TokenByHash finds a token by the hash of its string.
func (s *Store) TokenByHash(ctx context.Context, hash string) (_ *crated.Token, err error) {
	defer wrap(&err, "postgres.TokenByHash")
	ctx, done := s.op(ctx)
	defer done(&err)
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crated.TokenNotFound()
	}
	return t, err
}

// tokenUserQuery reads a token and its user in one statement.
var tokenUserQuery = `SELECT ` + sqlq.Qualify("t", tokenColumns) + `, ` + sqlq.Qualify("u", userColumns) +
	` FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`

// TokenUser finds an active token by its hash, and the user it belongs to.
func (s *Store) TokenUser(ctx context.Context, hash string) (_ *crated.Token, _ *crated.User, err error) {
	// The hash stays out of the error, even the internal one.
	defer wrap(&err, "postgres.TokenUser")
	ctx, done := s.op(ctx)
	defer done(&err)
	var t tokenRow
	var u crated.User
	err = s.pool.QueryRow(ctx, tokenUserQuery, hash).Scan(append(t.dests(), userDests(&u)...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, crated.TokenNotFound()
	}
	if err != nil {
		return nil, nil, err
	}
	t.finish()
	u.CreatedAt = u.CreatedAt.UTC()
	return &t.Token, &u, nil
}

// UserToken returns the user's token.
func (s *Store) UserToken(ctx context.Context, userID int64) (_ *crated.Token, err error) {
	defer wrap(&err, "postgres.UserToken(%d)", userID)
	ctx, done := s.op(ctx)
	defer done(&err)
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE user_id = $1 AND kind = 'login'`, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crated.NoToken(userID)
	}
	return t, err
}

// RevokeToken deletes the user's token, if there is one.
func (s *Store) RevokeToken(ctx context.Context, userID int64) (err error) {
	defer wrap(&err, "postgres.RevokeToken(%d)", userID)
	ctx, done := s.op(ctx)
	defer done(&err)
	_, err = s.pool.Exec(ctx, `DELETE FROM tokens WHERE user_id = $1 AND kind = 'login'`, userID)
	return err
}

// staleLogins is how long after expiring a login state is deleted by the
// next PutLoginState; until then TakeLoginState refuses it anyway.
const staleLogins = time.Hour

// PutLoginState stores a pending OpenID login, and forgets logins that
// expired long ago and were never completed.
func (s *Store) PutLoginState(ctx context.Context, st *crated.LoginState) (err error) {
	defer wrap(&err, "postgres.PutLoginState")
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `DELETE FROM login_states WHERE expires_at < $1`, tx.now.Add(-staleLogins)); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO login_states (key, nonce, pkce_verifier, kind, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, st.Key, st.Nonce, st.PKCEVerifier, st.Kind, st.ExpiresAt)
	if violates(err, uniqueViolation, "login_states_pkey") {
		return crated.LoginStateTaken()
	} else if err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// TakeLoginState deletes and returns a pending login. A login that does not
// exist, was taken already or has expired at now is ENOTFOUND; an expired one
// is deleted too. The DELETE makes a state single use even when two replicas
// receive the same callback: only one of them gets the row.
func (s *Store) TakeLoginState(ctx context.Context, key string, now time.Time) (_ *crated.LoginState, err error) {
	defer wrap(&err, "postgres.TakeLoginState")
	ctx, done := s.op(ctx)
	defer done(&err)
	st := crated.LoginState{Key: key}
	err = s.pool.QueryRow(ctx, `DELETE FROM login_states WHERE key = $1
		RETURNING nonce, pkce_verifier, kind, expires_at`, key).Scan(&st.Nonce, &st.PKCEVerifier, &st.Kind, &st.ExpiresAt)
	notFound := crated.LoginStateNotFound()
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	st.ExpiresAt = st.ExpiresAt.UTC()
	if !now.Before(st.ExpiresAt) {
		return nil, notFound
	}
	return &st, nil
}
