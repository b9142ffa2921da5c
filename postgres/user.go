package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

const userColumns = `id, login, name, email, password_hash, issuer, subject, admin, created_at`

func scanUser(r scanner) (*crated.User, error) {
	var u crated.User
	err := r.Scan(userDests(&u)...)
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, err
}

// userDests are the Scan destinations of userColumns, in order.
func userDests(u *crated.User) []any {
	return []any{&u.ID, &u.Login, &u.Name, &u.Email, &u.PasswordHash, &u.Issuer, &u.Subject, &u.Admin, &u.CreatedAt}
}

func userNotFound(id int64) error {
	return crated.UserIDNotFound(id)
}

// CreateUser inserts u and sets its ID and CreatedAt. A taken login (ignoring
// case and '-' versus '_') or OpenID identity is ECONFLICT.
func (s *Store) CreateUser(ctx context.Context, u *crated.User) (err error) {
	defer wrap(&err, "postgres.CreateUser(%q)", u.Login)
	ctx, done := s.op(ctx)
	defer done(&err)
	now := s.now()
	var id int64
	// One statement: its own transaction.
	err = s.pool.QueryRow(ctx, `INSERT INTO users (login, canon_login, name, email, password_hash, issuer, subject, admin, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		u.Login, cargo.CanonicalName(u.Login), u.Name, u.Email, u.PasswordHash, u.Issuer, u.Subject, u.Admin, now).Scan(&id)
	switch {
	case violates(err, uniqueViolation, "users_login_key"), violates(err, uniqueViolation, "users_canon_login_key"):
		return crated.LoginTaken(u.Login)
	case violates(err, uniqueViolation, "users_identity_key"):
		return crated.IdentityTaken(u.Issuer)
	case err != nil:
		return err
	}
	u.ID, u.CreatedAt = id, now
	return nil
}

// UpdateUser writes u's Login, Name, Email, PasswordHash and Admin.
func (s *Store) UpdateUser(ctx context.Context, u *crated.User) (err error) {
	defer wrap(&err, "postgres.UpdateUser(%d)", u.ID)
	ctx, done := s.op(ctx)
	defer done(&err)
	tag, err := s.pool.Exec(ctx, `UPDATE users SET login = $1, canon_login = $2, name = $3, email = $4, password_hash = $5, admin = $6
		WHERE id = $7`, u.Login, cargo.CanonicalName(u.Login), u.Name, u.Email, u.PasswordHash, u.Admin, u.ID)
	if violates(err, uniqueViolation, "users_login_key") || violates(err, uniqueViolation, "users_canon_login_key") {
		return crated.LoginTaken(u.Login)
	} else if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return userNotFound(u.ID)
	}
	return nil
}

// userBy returns the one user selected by where, or notFound.
func (s *Store) userBy(ctx context.Context, notFound error, where string, args ...any) (*crated.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	return u, err
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (_ *crated.User, err error) {
	defer wrap(&err, "postgres.UserByID(%d)", id)
	ctx, done := s.op(ctx)
	defer done(&err)
	return s.userBy(ctx, userNotFound(id), `id = $1`, id)
}

// UserByLogin finds a user by login.
func (s *Store) UserByLogin(ctx context.Context, login string) (_ *crated.User, err error) {
	defer wrap(&err, "postgres.UserByLogin(%q)", login)
	ctx, done := s.op(ctx)
	defer done(&err)
	return s.userBy(ctx, crated.UserNotFound(login), `login = $1`, login)
}

// UserByIdentity finds an OpenID user by issuer and subject. An empty subject
// matches nobody.
func (s *Store) UserByIdentity(ctx context.Context, issuer, subject string) (_ *crated.User, err error) {
	defer wrap(&err, "postgres.UserByIdentity(%q)", issuer)
	ctx, done := s.op(ctx)
	defer done(&err)
	notFound := crated.IdentityNotFound(issuer)
	if subject == "" {
		return nil, notFound
	}
	// The repeated condition lets the planner use the partial unique index.
	return s.userBy(ctx, notFound, `issuer = $1 AND subject = $2 AND subject <> ''`, issuer, subject)
}

// UsersByName lists users whose login or bare name equals name, by login.
func (s *Store) UsersByName(ctx context.Context, name string) (_ []*crated.User, err error) {
	defer wrap(&err, "postgres.UsersByName(%q)", name)
	ctx, done := s.op(ctx)
	defer done(&err)
	return queryAll(ctx, s.pool, scanUser, `SELECT `+userColumns+` FROM users WHERE login = $1 OR name = $1 ORDER BY login`, name)
}

// ListUsers lists every user by login.
func (s *Store) ListUsers(ctx context.Context) (_ []*crated.User, err error) {
	defer wrap(&err, "postgres.ListUsers")
	ctx, done := s.op(ctx)
	defer done(&err)
	return queryAll(ctx, s.pool, scanUser, `SELECT `+userColumns+` FROM users ORDER BY login`)
}
