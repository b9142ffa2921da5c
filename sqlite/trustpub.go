package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/crated/crated"
)

// The trusted-publishing records (package trustpub; storetest.TrustPubStore
// is the contract).

const trustPubColumns = `id, provider, issuer, crate, crate_canon, owner, project, repo_key, owner_id, workflow, environment, created_by, created_at`

func scanTrustPubConfig(r scanner) (*crated.TrustPubConfig, error) {
	var c crated.TrustPubConfig
	var created int64
	err := r.Scan(&c.ID, &c.Provider, &c.Issuer, &c.Crate, &c.CrateCanon, &c.Owner, &c.Project, &c.RepoKey,
		&c.OwnerID, &c.Workflow, &c.Environment, &c.CreatedBy, &created)
	c.CreatedAt = goTime(created)
	return &c, err
}

func trustPubConfigNotFound(id int64) error {
	return crated.Errorf(crated.ENOTFOUND, "trusted publishing configuration %d does not exist", id)
}

// CreateTrustPubConfig inserts c and sets c.ID and c.CreatedAt.
func (s *Store) CreateTrustPubConfig(ctx context.Context, c *crated.TrustPubConfig) (err error) {
	defer wrap(&err, "sqlite.CreateTrustPubConfig(%q)", c.Crate)
	now := s.now()
	err = s.write.QueryRowContext(ctx, `INSERT INTO trustpub_configs (provider, issuer, crate, crate_canon, owner, project,
		repo_key, owner_id, workflow, environment, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Provider, c.Issuer, c.Crate, c.CrateCanon, c.Owner, c.Project, c.RepoKey, c.OwnerID, c.Workflow, c.Environment,
		c.CreatedBy, dbTime(now)).Scan(&c.ID)
	if isForeignKey(err) {
		return crated.UserIDNotFound(c.CreatedBy)
	}
	if err != nil {
		return err
	}
	c.CreatedAt = now
	return nil
}

// TrustPubConfig returns one config by id.
func (s *Store) TrustPubConfig(ctx context.Context, id int64) (_ *crated.TrustPubConfig, err error) {
	defer wrap(&err, "sqlite.TrustPubConfig(%d)", id)
	c, err := scanTrustPubConfig(s.read.QueryRowContext(ctx, `SELECT `+trustPubColumns+` FROM trustpub_configs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, trustPubConfigNotFound(id)
	}
	return c, err
}

// TrustPubConfigsByCrate lists the configs of a canonical crate name, by id.
func (s *Store) TrustPubConfigsByCrate(ctx context.Context, canon string) (_ []*crated.TrustPubConfig, err error) {
	defer wrap(&err, "sqlite.TrustPubConfigsByCrate(%q)", canon)
	return queryAll(ctx, s.read, scanTrustPubConfig,
		`SELECT `+trustPubColumns+` FROM trustpub_configs WHERE crate_canon = ? ORDER BY id`, canon)
}

// TrustPubConfigsByRepo lists the configs of one repository, by id.
func (s *Store) TrustPubConfigsByRepo(ctx context.Context, provider, issuer, repoKey string) (_ []*crated.TrustPubConfig, err error) {
	defer wrap(&err, "sqlite.TrustPubConfigsByRepo(%q)", repoKey)
	return queryAll(ctx, s.read, scanTrustPubConfig,
		`SELECT `+trustPubColumns+` FROM trustpub_configs WHERE provider = ? AND issuer = ? AND repo_key = ? ORDER BY id`,
		provider, issuer, repoKey)
}

// DeleteTrustPubConfig deletes a config; ENOTFOUND if there is none.
func (s *Store) DeleteTrustPubConfig(ctx context.Context, id int64) (err error) {
	defer wrap(&err, "sqlite.DeleteTrustPubConfig(%d)", id)
	res, err := s.write.ExecContext(ctx, `DELETE FROM trustpub_configs WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return trustPubConfigNotFound(id)
	}
	return nil
}

// PinTrustPubOwnerID sets a config's OwnerID when it is still "" (or
// already ownerID). ECONFLICT when another id is pinned.
func (s *Store) PinTrustPubOwnerID(ctx context.Context, id int64, ownerID string) (err error) {
	defer wrap(&err, "sqlite.PinTrustPubOwnerID(%d)", id)
	res, err := s.write.ExecContext(ctx, `UPDATE trustpub_configs SET owner_id = ? WHERE id = ? AND owner_id IN ('', ?)`, ownerID, id, ownerID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	if ok, err := exists(ctx, s.read, `SELECT 1 FROM trustpub_configs WHERE id = ?`, id); err != nil {
		return err
	} else if !ok {
		return trustPubConfigNotFound(id)
	}
	return crated.Errorf(crated.ECONFLICT, "trusted publishing configuration %d is pinned to another owner id", id)
}

// UseTrustPubJTI records an ID token's id until expiresAt, forgetting the
// ids that expired before now. ECONFLICT when the id is already recorded.
func (s *Store) UseTrustPubJTI(ctx context.Context, jti string, expiresAt, now time.Time) (err error) {
	defer wrap(&err, "sqlite.UseTrustPubJTI")
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM trustpub_jtis WHERE expires_at < ?`, dbTime(now)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO trustpub_jtis (jti, expires_at) VALUES (?, ?)`, jti, dbTime(expiresAt))
	if isUnique(err) {
		return crated.Errorf(crated.ECONFLICT, "JWT has already been used")
	} else if err != nil {
		return err
	}
	return tx.Commit()
}

// PutTrustPubToken stores an issued token. ECONFLICT if its hash exists.
func (s *Store) PutTrustPubToken(ctx context.Context, t *crated.TrustPubToken) (err error) {
	defer wrap(&err, "sqlite.PutTrustPubToken")
	ids, err := json.Marshal(nonNilIDs(t.ConfigIDs))
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO trustpub_tokens (hash, config_ids, publisher, expires_at) VALUES (?, ?, ?, ?)`,
		t.Hash, string(ids), t.Publisher, dbTime(t.ExpiresAt))
	if isUnique(err) {
		return crated.TokenTaken()
	}
	return err
}

// TrustPubTokenByHash finds a token that has not expired at now.
func (s *Store) TrustPubTokenByHash(ctx context.Context, hash string, now time.Time) (_ *crated.TrustPubToken, err error) {
	defer wrap(&err, "sqlite.TrustPubTokenByHash")
	t := crated.TrustPubToken{Hash: hash}
	var ids string
	var exp int64
	err = s.read.QueryRowContext(ctx, `SELECT config_ids, publisher, expires_at FROM trustpub_tokens WHERE hash = ? AND expires_at > ?`,
		hash, dbTime(now)).Scan(&ids, &t.Publisher, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crated.TokenNotFound()
	} else if err != nil {
		return nil, err
	}
	t.ExpiresAt = goTime(exp)
	return &t, json.Unmarshal([]byte(ids), &t.ConfigIDs)
}

// DeleteTrustPubToken revokes a token, and drops every expired one.
// ENOTFOUND when hash names no token.
func (s *Store) DeleteTrustPubToken(ctx context.Context, hash string, now time.Time) (err error) {
	defer wrap(&err, "sqlite.DeleteTrustPubToken")
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM trustpub_tokens WHERE hash = ?`, hash)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM trustpub_tokens WHERE expires_at <= ?`, dbTime(now)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if n == 0 {
		return crated.TokenNotFound()
	}
	return nil
}

// SetTrustPubOnly turns a crate's "trusted publishing only" flag on or off.
func (s *Store) SetTrustPubOnly(ctx context.Context, crateID int64, on bool) (err error) {
	defer wrap(&err, "sqlite.SetTrustPubOnly(%d)", crateID)
	if on {
		_, err = s.write.ExecContext(ctx, `INSERT INTO trustpub_only_crates (crate_id) VALUES (?) ON CONFLICT DO NOTHING`, crateID)
		if isForeignKey(err) {
			return crated.Errorf(crated.ENOTFOUND, "crate %d does not exist", crateID)
		}
		return err
	}
	_, err = s.write.ExecContext(ctx, `DELETE FROM trustpub_only_crates WHERE crate_id = ?`, crateID)
	return err
}

// TrustPubOnly reports a crate's "trusted publishing only" flag.
func (s *Store) TrustPubOnly(ctx context.Context, crateID int64) (_ bool, err error) {
	defer wrap(&err, "sqlite.TrustPubOnly(%d)", crateID)
	return exists(ctx, s.read, `SELECT 1 FROM trustpub_only_crates WHERE crate_id = ?`, crateID)
}

// nonNilIDs keeps an empty list "[]" rather than "null".
func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}
