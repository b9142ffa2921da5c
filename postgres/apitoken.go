package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
)

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CreateAPIToken inserts an API token and records its creation.
func (s *Store) CreateAPIToken(ctx context.Context, t *crated.Token) (err error) {
	defer wrap(&err, "postgres.CreateAPIToken(user %d)", t.UserID)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// nil scopes are NULL (unrestricted), an empty list is '{}' (nothing).
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO tokens (user_id, hash, sealed, created_at, kind, name,
		crate_scopes, endpoint_scopes, expires_at) VALUES ($1, $2, $3, $4, 'api', $5, $6, $7, $8) RETURNING id`,
		t.UserID, t.Hash, nonNil(t.Sealed), tx.now, t.Name, t.CrateScopes, t.EndpointScopes, nullTime(t.ExpiresAt)).Scan(&id)
	switch {
	case violates(err, uniqueViolation, "tokens_hash_key"):
		return crated.TokenTaken()
	case violates(err, foreignKeyViolation, "tokens_user_fkey"):
		return userNotFound(t.UserID)
	case err != nil:
		return err
	}
	if err := insertAudit(ctx, tx, t.UserID, crated.AuditTokenCreate, "", "", crated.TokenAuditDetail(id, t.Name)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	t.ID, t.CreatedAt, t.Kind = id, tx.now, crated.TokenAPI
	return nil
}

// UserTokens lists the user's tokens, oldest first.
func (s *Store) UserTokens(ctx context.Context, userID int64) (_ []*crated.Token, err error) {
	defer wrap(&err, "postgres.UserTokens(%d)", userID)
	ctx, done := s.op(ctx)
	defer done(&err)
	return queryAll(ctx, s.pool, scanToken, `SELECT `+tokenColumns+` FROM tokens WHERE user_id = $1 ORDER BY id`, userID)
}

// DeleteUserToken deletes one of the user's tokens and records it.
func (s *Store) DeleteUserToken(ctx context.Context, userID, id int64) (err error) {
	defer wrap(&err, "postgres.DeleteUserToken(user %d, %d)", userID, id)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var name string
	err = tx.QueryRow(ctx, `DELETE FROM tokens WHERE id = $1 AND user_id = $2 RETURNING name`, id, userID).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return crated.TokenNotFound()
	} else if err != nil {
		return err
	}
	if err := insertAudit(ctx, tx, userID, crated.AuditTokenRevoke, "", "", crated.TokenAuditDetail(id, name)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// TouchToken records when a token was last used.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) (err error) {
	defer wrap(&err, "postgres.TouchToken(%d)", id)
	ctx, done := s.op(ctx)
	defer done(&err)
	_, err = s.pool.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`, at, id)
	return err
}

// RecordAudit appends one audit entry.
func (s *Store) RecordAudit(ctx context.Context, e *crated.AuditEntry) (err error) {
	defer wrap(&err, "postgres.RecordAudit(%s)", e.Action)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := insertAudit(ctx, tx, e.UserID, e.Action, e.Crate, e.Version, e.Detail); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// CrateAudit lists one crate's audit entries, newest first.
func (s *Store) CrateAudit(ctx context.Context, crate string, limit int) (_ []*crated.AuditEntry, err error) {
	defer wrap(&err, "postgres.CrateAudit(%s)", crate)
	ctx, done := s.op(ctx)
	defer done(&err)
	return queryAll(ctx, s.pool, scanAudit, `SELECT `+auditColumns+` FROM audit_log WHERE crate = $1 ORDER BY id DESC LIMIT $2`, crate, limitArg(limit))
}
