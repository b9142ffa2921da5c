package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
)

// The trusted-publishing records (package trustpub; storetest.TrustPubStore
// is the contract).

const trustPubColumns = `id, provider, issuer, crate, crate_canon, owner, project, repo_key, owner_id, workflow, environment, created_by, created_at`

func scanTrustPubConfig(r scanner) (*crated.TrustPubConfig, error) {
	var c crated.TrustPubConfig
	err := r.Scan(&c.ID, &c.Provider, &c.Issuer, &c.Crate, &c.CrateCanon, &c.Owner, &c.Project, &c.RepoKey,
		&c.OwnerID, &c.Workflow, &c.Environment, &c.CreatedBy, &c.CreatedAt)
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, err
}

func trustPubConfigNotFound(id int64) error {
	return crated.Errorf(crated.ENOTFOUND, "trusted publishing configuration %d does not exist", id)
}

// CreateTrustPubConfig inserts c and sets c.ID and c.CreatedAt.
func (s *Store) CreateTrustPubConfig(ctx context.Context, c *crated.TrustPubConfig) (err error) {
	defer wrap(&err, "postgres.CreateTrustPubConfig(%q)", c.Crate)
	ctx, done := s.op(ctx)
	defer done(&err)
	now := s.now()
	err = s.pool.QueryRow(ctx, `INSERT INTO trustpub_configs (provider, issuer, crate, crate_canon, owner, project,
		repo_key, owner_id, workflow, environment, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		c.Provider, c.Issuer, c.Crate, c.CrateCanon, c.Owner, c.Project, c.RepoKey, c.OwnerID, c.Workflow, c.Environment,
		c.CreatedBy, now).Scan(&c.ID)
	if violates(err, foreignKeyViolation, "trustpub_configs_created_by_fkey") {
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
	defer wrap(&err, "postgres.TrustPubConfig(%d)", id)
	ctx, done := s.op(ctx)
	defer done(&err)
	c, err := scanTrustPubConfig(s.pool.QueryRow(ctx, `SELECT `+trustPubColumns+` FROM trustpub_configs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, trustPubConfigNotFound(id)
	}
	return c, err
}

// TrustPubConfigsByCrate lists the configs of a canonical crate name, by id.
func (s *Store) TrustPubConfigsByCrate(ctx context.Context, canon string) (_ []*crated.TrustPubConfig, err error) {
	defer wrap(&err, "postgres.TrustPubConfigsByCrate(%q)", canon)
	ctx, done := s.op(ctx)
	defer done(&err)
	return queryAll(ctx, s.pool, scanTrustPubConfig,
		`SELECT `+trustPubColumns+` FROM trustpub_configs WHERE crate_canon = $1 ORDER BY id`, canon)
}

// TrustPubConfigsByRepo lists the configs of one repository, by id.
func (s *Store) TrustPubConfigsByRepo(ctx context.Context, provider, issuer, repoKey string) (_ []*crated.TrustPubConfig, err error) {
	defer wrap(&err, "postgres.TrustPubConfigsByRepo(%q)", repoKey)
	ctx, done := s.op(ctx)
	defer done(&err)
	return queryAll(ctx, s.pool, scanTrustPubConfig,
		`SELECT `+trustPubColumns+` FROM trustpub_configs WHERE provider = $1 AND issuer = $2 AND repo_key = $3 ORDER BY id`,
		provider, issuer, repoKey)
}

// DeleteTrustPubConfig deletes a config; ENOTFOUND if there is none.
func (s *Store) DeleteTrustPubConfig(ctx context.Context, id int64) (err error) {
	defer wrap(&err, "postgres.DeleteTrustPubConfig(%d)", id)
	ctx, done := s.op(ctx)
	defer done(&err)
	tag, err := s.pool.Exec(ctx, `DELETE FROM trustpub_configs WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return trustPubConfigNotFound(id)
	}
	return nil
}

// PinTrustPubOwnerID sets a config's OwnerID when it is still "" (or
// already ownerID). ECONFLICT when another id is pinned.
func (s *Store) PinTrustPubOwnerID(ctx context.Context, id int64, ownerID string) (err error) {
	defer wrap(&err, "postgres.PinTrustPubOwnerID(%d)", id)
	ctx, done := s.op(ctx)
	defer done(&err)
	tag, err := s.pool.Exec(ctx, `UPDATE trustpub_configs SET owner_id = $1 WHERE id = $2 AND owner_id IN ('', $1)`, ownerID, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	if ok, err := exists(ctx, s.pool, `SELECT 1 FROM trustpub_configs WHERE id = $1`, id); err != nil {
		return err
	} else if !ok {
		return trustPubConfigNotFound(id)
	}
	return crated.Errorf(crated.ECONFLICT, "trusted publishing configuration %d is pinned to another owner id", id)
}

// UseTrustPubJTI records an ID token's id until expiresAt, forgetting the
// ids that expired before now. ECONFLICT when the id is already recorded.
func (s *Store) UseTrustPubJTI(ctx context.Context, jti string, expiresAt, now time.Time) (err error) {
	defer wrap(&err, "postgres.UseTrustPubJTI")
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `DELETE FROM trustpub_jtis WHERE expires_at < $1`, now); err != nil {
		return err
	}
	// ON CONFLICT DO NOTHING rather than a failed INSERT: racing uses of
	// one id wait for each other on the key, and the loser sees no row.
	tag, err := tx.Exec(ctx, `INSERT INTO trustpub_jtis (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, jti, expiresAt)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return crated.Errorf(crated.ECONFLICT, "JWT has already been used")
	}
	return tx.Commit(ctx)
}

// PutTrustPubToken stores an issued token. ECONFLICT if its hash exists.
func (s *Store) PutTrustPubToken(ctx context.Context, t *crated.TrustPubToken) (err error) {
	defer wrap(&err, "postgres.PutTrustPubToken")
	ctx, done := s.op(ctx)
	defer done(&err)
	ids := t.ConfigIDs
	if ids == nil {
		ids = []int64{}
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO trustpub_tokens (hash, config_ids, publisher, expires_at) VALUES ($1, $2, $3, $4)`,
		t.Hash, string(b), t.Publisher, t.ExpiresAt)
	if violates(err, uniqueViolation, "trustpub_tokens_pkey") {
		return crated.TokenTaken()
	}
	return err
}

// TrustPubTokenByHash finds a token that has not expired at now.
func (s *Store) TrustPubTokenByHash(ctx context.Context, hash string, now time.Time) (_ *crated.TrustPubToken, err error) {
	defer wrap(&err, "postgres.TrustPubTokenByHash")
	ctx, done := s.op(ctx)
	defer done(&err)
	t := crated.TrustPubToken{Hash: hash}
	var ids string
	err = s.pool.QueryRow(ctx, `SELECT config_ids, publisher, expires_at FROM trustpub_tokens WHERE hash = $1 AND expires_at > $2`,
		hash, now).Scan(&ids, &t.Publisher, &t.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crated.TokenNotFound()
	} else if err != nil {
		return nil, err
	}
	t.ExpiresAt = t.ExpiresAt.UTC()
	return &t, json.Unmarshal([]byte(ids), &t.ConfigIDs)
}

// DeleteTrustPubToken revokes a token, and drops every expired one.
// ENOTFOUND when hash names no token.
func (s *Store) DeleteTrustPubToken(ctx context.Context, hash string, now time.Time) (err error) {
	defer wrap(&err, "postgres.DeleteTrustPubToken")
	ctx, done := s.op(ctx)
	defer done(&err)
	tag, err := s.pool.Exec(ctx, `DELETE FROM trustpub_tokens WHERE hash = $1`, hash)
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM trustpub_tokens WHERE expires_at <= $1`, now); err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return crated.TokenNotFound()
	}
	return nil
}

// SetTrustPubOnly turns a crate's "trusted publishing only" flag on or off.
func (s *Store) SetTrustPubOnly(ctx context.Context, crateID int64, on bool) (err error) {
	defer wrap(&err, "postgres.SetTrustPubOnly(%d)", crateID)
	ctx, done := s.op(ctx)
	defer done(&err)
	if on {
		_, err = s.pool.Exec(ctx, `INSERT INTO trustpub_only_crates (crate_id) VALUES ($1) ON CONFLICT DO NOTHING`, crateID)
		if violates(err, foreignKeyViolation, "trustpub_only_crates_crate_id_fkey") {
			return crated.Errorf(crated.ENOTFOUND, "crate %d does not exist", crateID)
		}
		return err
	}
	_, err = s.pool.Exec(ctx, `DELETE FROM trustpub_only_crates WHERE crate_id = $1`, crateID)
	return err
}

// TrustPubOnly reports a crate's "trusted publishing only" flag.
func (s *Store) TrustPubOnly(ctx context.Context, crateID int64) (_ bool, err error) {
	defer wrap(&err, "postgres.TrustPubOnly(%d)", crateID)
	ctx, done := s.op(ctx)
	defer done(&err)
	return exists(ctx, s.pool, `SELECT 1 FROM trustpub_only_crates WHERE crate_id = $1`, crateID)
}
