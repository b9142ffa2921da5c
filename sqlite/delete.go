package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/crated/crated"
)

// DeleteVersion removes one version, updates the crate's MaxVersion, records
// the audit entry and the change for other processes, in one transaction. The
// blob key is returned when no remaining version refers to it.
func (s *Store) DeleteVersion(ctx context.Context, versionID int64, actorID int64, detail string) (orphan string, err error) {
	defer wrap(&err, "sqlite.DeleteVersion(%d)", versionID)
	tx, err := s.begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()

	var crateID int64
	var name, canon, vers, cksum string
	err = tx.QueryRowContext(ctx, `SELECT c.id, c.name, c.canon_name, v.vers, v.cksum
		FROM versions v JOIN crates c ON c.id = v.crate_id WHERE v.id = ?`, versionID).
		Scan(&crateID, &name, &canon, &vers, &cksum)
	if errors.Is(err, sql.ErrNoRows) {
		return "", crated.VersionIDNotFound(versionID)
	} else if err != nil {
		return "", err
	}
	if others, err := exists(ctx, tx, `SELECT 1 FROM versions WHERE crate_id = ? AND id <> ?`, crateID, versionID); err != nil {
		return "", err
	} else if !others {
		return "", crated.Errorf(crated.EINVALID, "version %s is the only version of crate `%s`: delete the crate instead", vers, name)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM versions WHERE id = ?`, versionID); err != nil {
		return "", err
	}
	if err := tx.QueryRowContext(ctx, updateMaxVersionSQL, dbTime(tx.now), crateID).Scan(&name); err != nil {
		return "", err
	}
	if err := insertAudit(ctx, tx, actorID, "delete_version", name, vers, detail); err != nil {
		return "", err
	}
	if err := recordChange(ctx, tx, canon); err != nil {
		return "", err
	}
	orphans, err := unreferenced(ctx, tx, []string{cksum})
	if err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	if len(orphans) == 0 {
		return "", nil
	}
	return orphans[0], nil
}

// DeleteCrate removes a crate, its versions and its owners, records the
// audit entry and the change for other processes, in one transaction.
func (s *Store) DeleteCrate(ctx context.Context, crateID int64, actorID int64, detail string) (orphans []string, err error) {
	defer wrap(&err, "sqlite.DeleteCrate(%d)", crateID)
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var name, canon string
	err = tx.QueryRowContext(ctx, `SELECT name, canon_name FROM crates WHERE id = ?`, crateID).Scan(&name, &canon)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crated.CrateIDNotFound(crateID)
	} else if err != nil {
		return nil, err
	}
	keys, err := queryAll(ctx, tx, func(r scanner) (k string, err error) { return k, r.Scan(&k) },
		`SELECT DISTINCT cksum FROM versions WHERE crate_id = ?`, crateID)
	if err != nil {
		return nil, err
	}
	for _, q := range []string{
		// The packed rows go first: the versions' delete trigger then has
		// no chunks to rebuild, once per version.
		deleteIndexChunksSQL,
		`DELETE FROM versions WHERE crate_id = ?`,
		`DELETE FROM crate_owners WHERE crate_id = ?`,
		`DELETE FROM crates WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, crateID); err != nil {
			return nil, err
		}
	}
	// Trusted publishers name crates by canonical name, so that a config
	// can wait for a crate not yet published: left behind, they would
	// reserve the deleted name for their creators' CI.
	if _, err := tx.ExecContext(ctx, `DELETE FROM trustpub_configs WHERE crate_canon = ?`, canon); err != nil {
		return nil, err
	}
	if err := insertAudit(ctx, tx, actorID, "delete_crate", name, "", detail); err != nil {
		return nil, err
	}
	if err := recordChange(ctx, tx, canon); err != nil {
		return nil, err
	}
	if orphans, err = unreferenced(ctx, tx, keys); err != nil {
		return nil, err
	}
	return orphans, tx.Commit()
}

// unreferenced returns the keys among keys that no version refers to. Blobs
// are content-addressed: two versions could in principle share one.
func unreferenced(ctx context.Context, tx *writeTx, keys []string) ([]string, error) {
	var out []string
	for _, k := range keys {
		used, err := exists(ctx, tx, `SELECT 1 FROM versions WHERE cksum = ? LIMIT 1`, k)
		if err != nil {
			return nil, err
		}
		if !used {
			out = append(out, k)
		}
	}
	return out, nil
}
