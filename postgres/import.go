package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
)

// importVersionSQL inserts a version unless its key is taken and records
// its audit entry, in one round trip: the audit row exists exactly when the
// version row was inserted.
const importVersionSQL = `WITH v AS (
		INSERT INTO versions (crate_id, vers, vers_key, sort_key, cksum, size, entry,
			yanked, published_by, published_at, readme, manifest)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (crate_id, vers_key) DO NOTHING RETURNING id
	), a AS (
		INSERT INTO audit_log (time, user_id, action, crate, version, detail)
		SELECT $13, $9, 'import', $14, $2, '' FROM v
	)
	SELECT id FROM v`

// importedCrate is what one ImportVersions batch knows of a crate.
type importedCrate struct {
	id          int64
	name, canon string
	changed     bool
}

// ImportVersions writes a batch of versions from another registry in one
// transaction (storetest.RunImport is the contract). Crates are locked as
// PublishVersion locks them; taken names and version keys are found with ON
// CONFLICT DO NOTHING, which waits for a racing publish and then leaves its
// row alone, rather than by a failed statement that would abort the batch.
// Every crate that gained a version is notified once, at commit.
func (s *Store) ImportVersions(ctx context.Context, batch []*crated.NewVersion) (_ []crated.ImportResult, err error) {
	defer wrap(&err, "postgres.ImportVersions(%d versions)", len(batch))
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)

	crates := map[string]*importedCrate{}
	var order []*importedCrate
	results := make([]crated.ImportResult, len(batch))
	for i, nv := range batch {
		c, ok := crates[nv.Crate.CanonName]
		if !ok {
			if c, err = importCrate(ctx, tx, nv); err != nil {
				return nil, err
			}
			crates[nv.Crate.CanonName] = c
			order = append(order, c)
		}
		if c.name != nv.Crate.Name {
			results[i] = crated.ImportResult{Status: crated.Conflict,
				Reason: "a crate named `" + c.name + "` already exists"}
			continue
		}
		v := &nv.Version
		published := tx.now
		if !v.PublishedAt.IsZero() {
			published = normTime(v.PublishedAt)
		}
		var id int64
		err := tx.QueryRow(ctx, importVersionSQL, c.id, v.Vers, v.VersKey, v.SortKey, v.Cksum, v.Size, nonNil(v.Entry),
			v.Yanked, v.PublishedBy, published, v.Readme, nonNil(v.Manifest), tx.now, c.name).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			var vers, cksum string
			if err := tx.QueryRow(ctx, `SELECT id, vers, cksum FROM versions WHERE crate_id = $1 AND vers_key = $2`,
				c.id, v.VersKey).Scan(&id, &vers, &cksum); err != nil {
				return nil, err
			}
			results[i] = crated.CompareImported(id, vers, cksum, v)
			continue
		case violates(err, foreignKeyViolation, "versions_published_by_fkey"):
			return nil, userNotFound(v.PublishedBy)
		case err != nil:
			return nil, err
		}
		c.changed = true
		results[i] = crated.ImportResult{Status: crated.Imported, VersionID: id}
	}
	for _, c := range order {
		if !c.changed {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE crates SET max_version = `+maxVersionSQL+`, updated_at = $1 WHERE id = $2`,
			tx.now, c.id); err != nil {
			return nil, err
		}
		if err := notify(ctx, tx, c.canon); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return results, nil
}

// importCrate finds and locks the crate of nv by canonical name, or creates
// it with nv's metadata and nv.OwnerID as its owner. A crate created by a
// racing publish meanwhile is found, locked and used as an existing one.
func importCrate(ctx context.Context, tx *tx, nv *crated.NewVersion) (*importedCrate, error) {
	c := &importedCrate{canon: nv.Crate.CanonName}
	find := func() error {
		return tx.QueryRow(ctx, `SELECT id, name FROM crates WHERE canon_name = $1 FOR NO KEY UPDATE`, c.canon).
			Scan(&c.id, &c.name)
	}
	err := find()
	if !errors.Is(err, pgx.ErrNoRows) {
		return c, err
	}
	m := &nv.Crate
	err = tx.QueryRow(ctx, `INSERT INTO crates (name, canon_name, description, homepage, documentation,
			repository, keywords, categories, search_description, search_keywords, max_version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
		ON CONFLICT (canon_name) DO NOTHING RETURNING id`,
		m.Name, m.CanonName, m.Description, m.Homepage, m.Documentation, m.Repository,
		nonNil(m.Keywords), nonNil(m.Categories), strings.ToLower(m.Description), lowerAll(m.Keywords),
		nv.Version.Vers, tx.now,
	).Scan(&c.id)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, find()
	} else if err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO crate_owners (crate_id, user_id, created_at) VALUES ($1, $2, $3)`,
		c.id, nv.OwnerID, tx.now)
	if violates(err, foreignKeyViolation, "crate_owners_user_fkey") {
		return nil, userNotFound(nv.OwnerID)
	} else if err != nil {
		return nil, err
	}
	c.name = m.Name
	return c, nil
}
