package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/crated/crated"
)

// Owners lists a crate's owners by login.
func (s *Store) Owners(ctx context.Context, crateID int64) (_ []*crated.User, err error) {
	defer wrap(&err, "sqlite.Owners(%d)", crateID)
	us, err := queryAll(ctx, s.read, scanUser, `SELECT `+userColumns+` FROM users
		WHERE id IN (SELECT user_id FROM crate_owners WHERE crate_id = ?) ORDER BY login`, crateID)
	if err == nil && len(us) == 0 {
		// A crate always keeps one owner: none means no crate.
		err = crateExists(ctx, s.read, crateID)
	}
	return us, err
}

// IsOwner reports whether the user owns the crate.
func (s *Store) IsOwner(ctx context.Context, crateID, userID int64) (_ bool, err error) {
	defer wrap(&err, "sqlite.IsOwner(%d, %d)", crateID, userID)
	return exists(ctx, s.read, `SELECT 1 FROM crate_owners WHERE crate_id = ? AND user_id = ?`, crateID, userID)
}

// CratesOwnedBy lists the crates a user owns, by canonical name.
func (s *Store) CratesOwnedBy(ctx context.Context, userID int64) (_ []*crated.Crate, err error) {
	defer wrap(&err, "sqlite.CratesOwnedBy(%d)", userID)
	return queryAll(ctx, s.read, scanCrate, `SELECT `+crateColumns+` FROM crates
		WHERE id IN (SELECT crate_id FROM crate_owners WHERE user_id = ?) ORDER BY canon_name`, userID)
}

// crateName returns the name of a crate, ENOTFOUND if there is none.
func crateName(ctx context.Context, tx *writeTx, crateID int64) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT name FROM crates WHERE id = ?`, crateID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", crated.CrateIDNotFound(crateID)
	}
	return name, err
}

// userLogin returns the login of a user, ENOTFOUND if there is none.
func userLogin(ctx context.Context, tx *writeTx, userID int64) (string, error) {
	var login string
	err := tx.QueryRowContext(ctx, `SELECT login FROM users WHERE id = ?`, userID).Scan(&login)
	if errors.Is(err, sql.ErrNoRows) {
		return "", crated.UserIDNotFound(userID)
	}
	return login, err
}

const insertOwnerSQL = `INSERT INTO crate_owners (crate_id, user_id, created_at) VALUES (?, ?, ?)`

// insertOwner makes a user the first owner of a new crate; an unknown user
// is ENOTFOUND.
func insertOwner(ctx context.Context, tx *writeTx, crateID, userID int64) error {
	_, err := tx.ExecContext(ctx, insertOwnerSQL, crateID, userID, dbTime(tx.now))
	if isForeignKey(err) {
		return crated.UserIDNotFound(userID)
	}
	return err
}

// AddOwners adds users as owners of a crate, leaving existing owners alone,
// and records one audit entry per owner added. An unknown crate or user is
// ENOTFOUND and adds nobody.
func (s *Store) AddOwners(ctx context.Context, crateID int64, userIDs []int64, actorID int64) (err error) {
	defer wrap(&err, "sqlite.AddOwners(%d)", crateID)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	name, err := crateName(ctx, tx, crateID)
	if err != nil {
		return err
	}
	for _, id := range userIDs {
		login, err := userLogin(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO crate_owners (crate_id, user_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, crateID, id, dbTime(tx.now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			continue
		}
		if err := insertAudit(ctx, tx, actorID, "owner_add", name, "", login); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// RemoveOwners removes owners of a crate and records one audit entry per
// owner removed. Removing every owner is EINVALID and removes nobody.
func (s *Store) RemoveOwners(ctx context.Context, crateID int64, userIDs []int64, actorID int64) (err error) {
	defer wrap(&err, "sqlite.RemoveOwners(%d)", crateID)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	name, err := crateName(ctx, tx, crateID)
	if err != nil {
		return err
	}
	for _, id := range userIDs {
		var login string
		err := tx.QueryRowContext(ctx, `DELETE FROM crate_owners WHERE crate_id = ? AND user_id = ?
			RETURNING (SELECT login FROM users WHERE id = user_id)`, crateID, id).Scan(&login)
		if errors.Is(err, sql.ErrNoRows) {
			continue // not an owner
		} else if err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, actorID, "owner_remove", name, "", login); err != nil {
			return err
		}
	}
	// Checked after the deletes, in the same transaction, so that two
	// concurrent removals cannot each leave the other's owner alone.
	if ok, err := exists(ctx, tx, `SELECT 1 FROM crate_owners WHERE crate_id = ?`, crateID); err != nil {
		return err
	} else if !ok {
		return crated.LastOwner(name)
	}
	return tx.Commit()
}
