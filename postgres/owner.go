package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
)

// Owners lists a crate's owners by login.
func (s *Store) Owners(ctx context.Context, crateID int64) (_ []*crated.User, err error) {
	defer wrap(&err, "postgres.Owners(%d)", crateID)
	ctx, done := s.op(ctx)
	defer done(&err)
	us, err := queryAll(ctx, s.pool, scanUser, `SELECT `+userColumns+` FROM users
		WHERE id IN (SELECT user_id FROM crate_owners WHERE crate_id = $1) ORDER BY login`, crateID)
	if err == nil && len(us) == 0 {
		// A crate always keeps one owner: none means no crate.
		err = crateExists(ctx, s.pool, crateID)
	}
	return us, err
}

// IsOwner reports whether the user owns the crate.
func (s *Store) IsOwner(ctx context.Context, crateID, userID int64) (_ bool, err error) {
	defer wrap(&err, "postgres.IsOwner(%d, %d)", crateID, userID)
	ctx, done := s.op(ctx)
	defer done(&err)
	return exists(ctx, s.pool, `SELECT 1 FROM crate_owners WHERE crate_id = $1 AND user_id = $2`, crateID, userID)
}

// CratesOwnedBy lists the crates a user owns, by canonical name.
func (s *Store) CratesOwnedBy(ctx context.Context, userID int64) (_ []*crated.Crate, err error) {
	defer wrap(&err, "postgres.CratesOwnedBy(%d)", userID)
	ctx, done := s.op(ctx)
	defer done(&err)
	return queryAll(ctx, s.pool, scanCrate, `SELECT `+crateColumns+` FROM crates
		WHERE id IN (SELECT crate_id FROM crate_owners WHERE user_id = $1) ORDER BY canon_name`, userID)
}

// userLogin returns the login of a user, ENOTFOUND if there is none.
func userLogin(ctx context.Context, tx *tx, userID int64) (string, error) {
	var login string
	err := tx.QueryRow(ctx, `SELECT login FROM users WHERE id = $1`, userID).Scan(&login)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", userNotFound(userID)
	}
	return login, err
}

// AddOwners adds users as owners of a crate, leaving existing owners alone,
// records one audit entry per owner added and notifies the other replicas. An
// unknown crate or user is ENOTFOUND and adds nobody.
func (s *Store) AddOwners(ctx context.Context, crateID int64, userIDs []int64, actorID int64) (err error) {
	defer wrap(&err, "postgres.AddOwners(%d)", crateID)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	name, canon, err := lockCrate(ctx, tx, crateID)
	if err != nil {
		return err
	}
	added := false
	for _, id := range userIDs {
		login, err := userLogin(ctx, tx, id)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO crate_owners (crate_id, user_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, crateID, id, tx.now)
		if violates(err, foreignKeyViolation, "crate_owners_user_fkey") {
			return userNotFound(id)
		} else if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			continue // already an owner
		}
		if err := insertAudit(ctx, tx, actorID, "owner_add", name, "", login); err != nil {
			return err
		}
		added = true
	}
	if added {
		if err := notify(ctx, tx, canon); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// RemoveOwners removes owners of a crate, records one audit entry per owner
// removed and notifies the other replicas. Removing every owner is EINVALID
// and removes nobody.
func (s *Store) RemoveOwners(ctx context.Context, crateID int64, userIDs []int64, actorID int64) (err error) {
	defer wrap(&err, "postgres.RemoveOwners(%d)", crateID)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// The lock makes concurrent removals take turns, so that the check
	// below sees the other's deletions: two removals cannot each leave only
	// the owner that the other removes.
	name, canon, err := lockCrate(ctx, tx, crateID)
	if err != nil {
		return err
	}
	removed := false
	for _, id := range userIDs {
		var login string
		err := tx.QueryRow(ctx, `DELETE FROM crate_owners o USING users u
			WHERE o.crate_id = $1 AND o.user_id = $2 AND u.id = o.user_id RETURNING u.login`, crateID, id).Scan(&login)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // not an owner
		} else if err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, actorID, "owner_remove", name, "", login); err != nil {
			return err
		}
		removed = true
	}
	if removed {
		// Sent now, delivered only if the check below lets the
		// transaction commit.
		if err := notify(ctx, tx, canon); err != nil {
			return err
		}
	}
	if ok, err := exists(ctx, tx, `SELECT 1 FROM crate_owners WHERE crate_id = $1`, crateID); err != nil {
		return err
	} else if !ok {
		return crated.LastOwner(name)
	}
	return tx.Commit(ctx)
}
