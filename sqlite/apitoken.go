package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/crated/crated"
)

// scopesToDB stores a scope list as a JSON array; nil (unrestricted) is NULL,
// which is not the same as an empty list (nothing allowed).
func scopesToDB(scopes []string) any {
	if scopes == nil {
		return nil
	}
	b, _ := json.Marshal(scopes) // []string always marshals
	return string(b)
}

func scopesFromDB(v sql.NullString) ([]string, error) {
	if !v.Valid {
		return nil, nil
	}
	out := []string{}
	return out, json.Unmarshal([]byte(v.String), &out)
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t)
}

// CreateAPIToken inserts an API token and records its creation.
func (s *Store) CreateAPIToken(ctx context.Context, t *crated.Token) (err error) {
	defer wrap(&err, "sqlite.CreateAPIToken(user %d)", t.UserID)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO tokens (user_id, hash, sealed, created_at, kind, name,
		crate_scopes, endpoint_scopes, expires_at) VALUES (?, ?, ?, ?, 'api', ?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Hash, nonNil(t.Sealed), dbTime(tx.now), t.Name,
		scopesToDB(t.CrateScopes), scopesToDB(t.EndpointScopes), nullTime(t.ExpiresAt)).Scan(&id)
	switch {
	case isUnique(err):
		return crated.TokenTaken()
	case isForeignKey(err):
		return crated.UserIDNotFound(t.UserID)
	case err != nil:
		return err
	}
	if err := insertAudit(ctx, tx, t.UserID, crated.AuditTokenCreate, "", "", crated.TokenAuditDetail(id, t.Name)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	t.ID, t.CreatedAt, t.Kind = id, tx.now, crated.TokenAPI
	return nil
}

// UserTokens lists the user's tokens, oldest first.
func (s *Store) UserTokens(ctx context.Context, userID int64) (_ []*crated.Token, err error) {
	defer wrap(&err, "sqlite.UserTokens(%d)", userID)
	return queryAll(ctx, s.read, scanToken, `SELECT `+tokenColumns+` FROM tokens WHERE user_id = ? ORDER BY id`, userID)
}

// DeleteUserToken deletes one of the user's tokens and records it.
func (s *Store) DeleteUserToken(ctx context.Context, userID, id int64) (err error) {
	defer wrap(&err, "sqlite.DeleteUserToken(user %d, %d)", userID, id)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var name string
	err = tx.QueryRowContext(ctx, `DELETE FROM tokens WHERE id = ? AND user_id = ? RETURNING name`, id, userID).Scan(&name)
	if err == sql.ErrNoRows {
		return crated.TokenNotFound()
	} else if err != nil {
		return err
	}
	if err := insertAudit(ctx, tx, userID, crated.AuditTokenRevoke, "", "", crated.TokenAuditDetail(id, name)); err != nil {
		return err
	}
	return tx.Commit()
}

// TouchToken records when a token was last used.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) (err error) {
	defer wrap(&err, "sqlite.TouchToken(%d)", id)
	_, err = s.write.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, dbTime(at), id)
	return err
}

// RecordAudit appends one audit entry.
func (s *Store) RecordAudit(ctx context.Context, e *crated.AuditEntry) (err error) {
	defer wrap(&err, "sqlite.RecordAudit(%s)", e.Action)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertAudit(ctx, tx, e.UserID, e.Action, e.Crate, e.Version, e.Detail); err != nil {
		return err
	}
	return tx.Commit()
}

// CrateAudit lists one crate's audit entries, newest first.
func (s *Store) CrateAudit(ctx context.Context, crate string, limit int) (_ []*crated.AuditEntry, err error) {
	defer wrap(&err, "sqlite.CrateAudit(%s)", crate)
	if limit <= 0 {
		limit = -1
	}
	return queryAll(ctx, s.read, scanAudit, `SELECT `+auditColumns+` FROM audit_log WHERE crate = ? ORDER BY id DESC LIMIT ?`, crate, limit)
}
