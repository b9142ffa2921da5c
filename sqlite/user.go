package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

const userColumns = `id, login, name, email, password_hash, issuer, subject, admin, created_at`

func scanUser(r scanner) (*crated.User, error) {
	var u userRow
	err := r.Scan(u.dests()...)
	u.finish()
	return &u.User, err
}

// userRow is a user as its columns scan (see tokenRow).
type userRow struct {
	crated.User
	created int64
}

// dests are the Scan destinations of userColumns, in order.
func (u *userRow) dests() []any {
	return []any{&u.ID, &u.Login, &u.Name, &u.Email, &u.PasswordHash, &u.Issuer, &u.Subject, &u.Admin, &u.created}
}

func (u *userRow) finish() { u.CreatedAt = goTime(u.created) }

// CreateUser inserts u and sets its ID and CreatedAt. A taken login (ignoring
// case and '-' versus '_') or OpenID identity is ECONFLICT.
func (s *Store) CreateUser(ctx context.Context, u *crated.User) (err error) {
	defer wrap(&err, "sqlite.CreateUser(%q)", u.Login)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO users (login, canon_login, name, email, password_hash, issuer, subject, admin, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Login, cargo.CanonicalName(u.Login), u.Name, u.Email, u.PasswordHash, u.Issuer, u.Subject, boolInt(u.Admin), dbTime(tx.now)).Scan(&id)
	if isUnique(err) {
		// Two constraints can fail; tell which from the data, not from the
		// driver's message.
		if taken, err := exists(ctx, tx, `SELECT 1 FROM users WHERE canon_login = ?`, cargo.CanonicalName(u.Login)); err != nil {
			return err
		} else if taken {
			return crated.LoginTaken(u.Login)
		}
		return crated.IdentityTaken(u.Issuer)
	} else if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	u.ID, u.CreatedAt = id, tx.now
	return nil
}

// UpdateUser writes u's Login, Name, Email, PasswordHash and Admin.
func (s *Store) UpdateUser(ctx context.Context, u *crated.User) (err error) {
	defer wrap(&err, "sqlite.UpdateUser(%d)", u.ID)
	res, err := s.write.ExecContext(ctx, `UPDATE users SET login = ?, canon_login = ?, name = ?, email = ?, password_hash = ?, admin = ?
		WHERE id = ?`, u.Login, cargo.CanonicalName(u.Login), u.Name, u.Email, u.PasswordHash, boolInt(u.Admin), u.ID)
	if isUnique(err) {
		return crated.LoginTaken(u.Login)
	} else if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return crated.UserIDNotFound(u.ID)
	}
	return nil
}

// userBy returns the one user selected by where, or notFound.
func (s *Store) userBy(ctx context.Context, notFound error, where string, args ...any) (*crated.User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	return u, err
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (_ *crated.User, err error) {
	defer wrap(&err, "sqlite.UserByID(%d)", id)
	return s.userBy(ctx, crated.UserIDNotFound(id), `id = ?`, id)
}

// UserByLogin finds a user by login.
func (s *Store) UserByLogin(ctx context.Context, login string) (_ *crated.User, err error) {
	defer wrap(&err, "sqlite.UserByLogin(%q)", login)
	return s.userBy(ctx, crated.UserNotFound(login), `login = ?`, login)
}

// UserByIdentity finds an OpenID user by issuer and subject. An empty subject
// matches nobody.
func (s *Store) UserByIdentity(ctx context.Context, issuer, subject string) (_ *crated.User, err error) {
	defer wrap(&err, "sqlite.UserByIdentity(%q)", issuer)
	// The subject is an opaque identifier of the provider: keep it out of
	// messages.
	notFound := crated.IdentityNotFound(issuer)
	if subject == "" {
		return nil, notFound
	}
	return s.userBy(ctx, notFound, `issuer = ? AND subject = ? AND subject <> ''`, issuer, subject)
}

// UsersByName lists users whose login or bare name equals name, by login.
func (s *Store) UsersByName(ctx context.Context, name string) (_ []*crated.User, err error) {
	defer wrap(&err, "sqlite.UsersByName(%q)", name)
	return queryAll(ctx, s.read, scanUser, `SELECT `+userColumns+` FROM users WHERE login = ?1 OR name = ?1 ORDER BY login`, name)
}

// ListUsers lists every user by login.
func (s *Store) ListUsers(ctx context.Context) (_ []*crated.User, err error) {
	defer wrap(&err, "sqlite.ListUsers")
	return queryAll(ctx, s.read, scanUser, `SELECT `+userColumns+` FROM users ORDER BY login`)
}
