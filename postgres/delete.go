package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
)

// DeleteVersion removes one version, updates the crate's MaxVersion, records
// the audit entry and notifies the replicas, in one transaction. The blob key
// is returned when no remaining version refers to it.
func (s *Store) DeleteVersion(ctx context.Context, versionID int64, actorID int64, detail string) (orphan string, err error) {
	defer wrap(&err, "postgres.DeleteVersion(%d)", versionID)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx)

	// The crate first, as everywhere: see lockCrate. With its row locked,
	// no publish or yank of the crate runs until the commit.
	var crateID int64
	var name, canon string
	err = tx.QueryRow(ctx, `SELECT c.id, c.name, c.canon_name FROM crates c JOIN versions v ON v.crate_id = c.id
		WHERE v.id = $1 FOR NO KEY UPDATE OF c`, versionID).Scan(&crateID, &name, &canon)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", crated.VersionIDNotFound(versionID)
	} else if err != nil {
		return "", err
	}
	var vers, cksum string
	err = tx.QueryRow(ctx, `DELETE FROM versions WHERE id = $1 RETURNING vers, cksum`, versionID).Scan(&vers, &cksum)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", crated.VersionIDNotFound(versionID) // deleted meanwhile
	} else if err != nil {
		return "", err
	}
	if others, err := exists(ctx, tx, `SELECT 1 FROM versions WHERE crate_id = $1`, crateID); err != nil {
		return "", err
	} else if !others {
		return "", crated.Errorf(crated.EINVALID, "version %s is the only version of crate `%s`: delete the crate instead", vers, name)
	}
	if _, err := tx.Exec(ctx, `UPDATE crates SET max_version = `+maxVersionSQL+`, updated_at = $1 WHERE id = $2`,
		tx.now, crateID); err != nil {
		return "", err
	}
	if err := insertAudit(ctx, tx, actorID, "delete_version", name, vers, detail); err != nil {
		return "", err
	}
	if err := notify(ctx, tx, canon); err != nil {
		return "", err
	}
	orphans, err := unreferenced(ctx, tx, []string{cksum})
	if err != nil {
		return "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return "", err
	}
	if len(orphans) == 0 {
		return "", nil
	}
	return orphans[0], nil
}

// DeleteCrate removes a crate, its versions and its owners, records the
// audit entry and notifies the replicas, in one transaction.
func (s *Store) DeleteCrate(ctx context.Context, crateID int64, actorID int64, detail string) (orphans []string, err error) {
	defer wrap(&err, "postgres.DeleteCrate(%d)", crateID)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)

	// FOR UPDATE: the row is going away, and a publish into the crate waits
	// for the commit, then finds no crate.
	var name, canon string
	err = tx.QueryRow(ctx, `SELECT name, canon_name FROM crates WHERE id = $1 FOR UPDATE`, crateID).Scan(&name, &canon)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crateNotFound(crateID)
	} else if err != nil {
		return nil, err
	}
	keys, err := queryAll(ctx, tx, func(r scanner) (k string, err error) { return k, r.Scan(&k) },
		`DELETE FROM versions WHERE crate_id = $1 RETURNING cksum`, crateID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM crate_owners WHERE crate_id = $1`, crateID); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM crates WHERE id = $1`, crateID); err != nil {
		return nil, err
	}
	// Trusted publishers name crates by canonical name, so that a config
	// can wait for a crate not yet published: left behind, they would
	// reserve the deleted name for their creators' CI.
	if _, err := tx.Exec(ctx, `DELETE FROM trustpub_configs WHERE crate_canon = $1`, canon); err != nil {
		return nil, err
	}
	if err := insertAudit(ctx, tx, actorID, "delete_crate", name, "", detail); err != nil {
		return nil, err
	}
	if err := notify(ctx, tx, canon); err != nil {
		return nil, err
	}
	if orphans, err = unreferenced(ctx, tx, keys); err != nil {
		return nil, err
	}
	return orphans, tx.Commit(ctx)
}

// unreferenced returns the distinct keys among keys that no version refers
// to. Blobs are content-addressed: two versions could in principle share one.
func unreferenced(ctx context.Context, tx *tx, keys []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		used, err := exists(ctx, tx, `SELECT 1 FROM versions WHERE cksum = $1 LIMIT 1`, k)
		if err != nil {
			return nil, err
		}
		if !used {
			out = append(out, k)
		}
	}
	return out, nil
}
