package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/crated/crated"
)

const importVersionSQL = `INSERT INTO versions (crate_id, vers, vers_key, sort_key, cksum, size, entry,
		yanked, published_by, published_at, readme, manifest)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (crate_id, vers_key) DO NOTHING RETURNING id`

// importedCrate is what one ImportVersions batch knows of a crate.
type importedCrate struct {
	id      int64
	name    string
	changed bool
}

// ImportVersions writes a batch of versions from another registry in one
// transaction (storetest.RunImport is the contract). A taken version key is
// found with ON CONFLICT DO NOTHING rather than by a failed statement, so
// that one existing version does not end the batch; MaxVersion is computed
// once per crate at the end instead of once per version.
func (s *Store) ImportVersions(ctx context.Context, batch []*crated.NewVersion) (_ []crated.ImportResult, err error) {
	defer crated.Wrap(&err, "sqlite.ImportVersions(%d versions)", len(batch))
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	insert, err := tx.Tx.PrepareContext(ctx, importVersionSQL)
	if err != nil {
		return nil, err
	}
	defer insert.Close()
	existing, err := tx.Tx.PrepareContext(ctx, existingVersionSQL)
	if err != nil {
		return nil, err
	}
	defer existing.Close()

	// The packed index rows of each crate are rebuilt once at the end
	// (below), not appended to once per version.
	if _, err := tx.ExecContext(ctx, `INSERT INTO index_files_paused (one) VALUES (1)`); err != nil {
		return nil, err
	}
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
		err := insert.QueryRowContext(ctx, c.id, v.Vers, v.VersKey, v.SortKey, v.Cksum, v.Size, nonNil(v.Entry),
			boolInt(v.Yanked), v.PublishedBy, dbTime(published), v.Readme, nonNil(v.Manifest)).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			results[i], err = existingVersion(ctx, existing, c.id, v)
			if err != nil {
				return nil, err
			}
			continue
		case isForeignKey(err):
			return nil, crated.Errorf(crated.ENOTFOUND, "user %d does not exist", v.PublishedBy)
		case err != nil:
			return nil, err
		}
		if err := insertAudit(ctx, tx, v.PublishedBy, "import", c.name, v.Vers, ""); err != nil {
			return nil, err
		}
		c.changed = true
		results[i] = crated.ImportResult{Status: crated.Imported, VersionID: id}
	}
	for _, c := range order {
		if !c.changed {
			continue
		}
		var name string
		if err := tx.QueryRowContext(ctx, updateMaxVersionSQL, dbTime(tx.now), c.id).Scan(&name); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, rebuildIndexChunksSQL, c.id); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM index_files_paused`); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return results, nil
}

// importCrate finds the crate of nv by canonical name, or creates it with
// nv's metadata and nv.OwnerID as its owner. A created crate's MaxVersion is
// set at the end of the batch.
func importCrate(ctx context.Context, tx *writeTx, nv *crated.NewVersion) (*importedCrate, error) {
	c := &importedCrate{}
	err := tx.QueryRowContext(ctx, `SELECT id, name FROM crates WHERE canon_name = ?`, nv.Crate.CanonName).
		Scan(&c.id, &c.name)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return c, err
	}
	row, err := newCrateRow(&nv.Crate)
	if err != nil {
		return nil, err
	}
	if c.id, err = insertCrate(ctx, tx, &nv.Crate, row, nv.Version.Vers); err != nil {
		return nil, err
	}
	if err := insertOwner(ctx, tx, c.id, nv.OwnerID); err != nil {
		return nil, err
	}
	c.name = nv.Crate.Name
	return c, nil
}

const existingVersionSQL = `SELECT id, vers, cksum FROM versions WHERE crate_id = ? AND vers_key = ?`

// existingVersion compares v with the version that holds its key.
func existingVersion(ctx context.Context, existing *sql.Stmt, crateID int64, v *crated.Version) (crated.ImportResult, error) {
	var id int64
	var vers, cksum string
	err := existing.QueryRowContext(ctx, crateID, v.VersKey).Scan(&id, &vers, &cksum)
	if err != nil {
		return crated.ImportResult{}, err
	}
	return crated.CompareImported(id, vers, cksum, v), nil
}
