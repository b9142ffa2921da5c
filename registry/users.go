package registry

import (
	"context"
	"time"
	"unicode"

	"github.com/crated/crated"
)

// validateUserName keeps password-user names printable and unambiguous in
// logins and URLs.
func validateUserName(name string) error {
	if name == "" || len(name) > 64 {
		return crated.Errorf(crated.EINVALID, "user name must be 1 to 64 characters")
	}
	for _, r := range name {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.') {
			return crated.Errorf(crated.EINVALID, "user name may only contain ASCII letters, digits, `-`, `_` and `.`")
		}
	}
	return nil
}

func validatePassword(p string) error {
	if len(p) < 8 {
		return crated.Errorf(crated.EINVALID, "password must be at least 8 characters")
	}
	if len(p) > 1024 {
		return crated.Errorf(crated.EINVALID, "password is too long")
	}
	return nil
}

// CreateUser adds a password user (admin CLI and open registration) and
// issues its first token.
func (s *Service) CreateUser(ctx context.Context, name, password string) (*crated.User, string, error) {
	if err := validateUserName(name); err != nil {
		return nil, "", err
	}
	u := &crated.User{Login: s.cfg.LoginPrefix + name, Name: name}
	if password != "" {
		if err := validatePassword(password); err != nil {
			return nil, "", err
		}
		u.PasswordHash = HashPassword(password)
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if crated.IsCode(err, crated.ECONFLICT) {
			return nil, "", crated.Errorf(crated.ECONFLICT, "user `%s` already exists", name)
		}
		return nil, "", err
	}
	token, _, err := s.issueToken(ctx, u)
	return u, token, err
}

// Register is Ktra's open self-registration: off unless configured.
func (s *Service) Register(ctx context.Context, name, password string) (string, error) {
	if !s.cfg.PasswordLogin || !s.cfg.OpenRegistration {
		return "", crated.Errorf(crated.EFORBIDDEN, "registration is closed: ask an administrator to run `crated user add`")
	}
	if password == "" {
		return "", crated.Errorf(crated.EINVALID, "password is required")
	}
	_, token, err := s.CreateUser(ctx, name, password)
	return token, err
}

// PasswordLogin checks a password and rotates the user's token, as Ktra's
// login does.
func (s *Service) PasswordLogin(ctx context.Context, name, password string) (string, error) {
	u, err := s.checkPassword(ctx, name, password)
	if err != nil {
		return "", err
	}
	token, _, err := s.issueToken(ctx, u)
	return token, err
}

// ChangePassword verifies the old password, sets the new one and rotates the
// token.
func (s *Service) ChangePassword(ctx context.Context, name, oldPassword, newPassword string) (string, error) {
	u, err := s.checkPassword(ctx, name, oldPassword)
	if err != nil {
		return "", err
	}
	if err := validatePassword(newPassword); err != nil {
		return "", err
	}
	u.PasswordHash = HashPassword(newPassword)
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return "", err
	}
	token, _, err := s.issueToken(ctx, u)
	return token, err
}

// SetPassword sets a user's password (admin CLI).
func (s *Service) SetPassword(ctx context.Context, login, password string) error {
	u, err := s.ResolveLogin(ctx, login)
	if err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	u.PasswordHash = HashPassword(password)
	return s.store.UpdateUser(ctx, u)
}

// errBadLogin is deliberately the same for unknown users and wrong passwords.
var errBadLogin = crated.Errorf(crated.EFORBIDDEN, "wrong user name or password")

// dummyHash is checked when the user does not exist, so that response time
// does not tell whether a name is registered.
var dummyHash = HashPassword("crated-dummy-password")

func (s *Service) checkPassword(ctx context.Context, name, password string) (*crated.User, error) {
	if !s.cfg.PasswordLogin {
		return nil, crated.Errorf(crated.EFORBIDDEN, "password login is disabled on this registry: log in at /me")
	}
	if validateUserName(name) != nil || len(password) > 1024 {
		return nil, errBadLogin
	}
	now := s.cfg.Now()
	if blocked, until := s.logins.blocked(name, now); blocked {
		return nil, crated.Errorf(crated.ERATELIMIT, "too many failed logins for `%s`; try again after %s", name, until.UTC().Format(time.RFC3339))
	}
	u, err := s.store.UserByLogin(ctx, s.cfg.LoginPrefix+name)
	if crated.IsCode(err, crated.ENOTFOUND) {
		CheckPassword(dummyHash, password)
		s.logins.fail(name, now)
		return nil, errBadLogin
	} else if err != nil {
		return nil, err
	}
	if u.PasswordHash == "" || !CheckPassword(u.PasswordHash, password) {
		s.logins.fail(name, now)
		return nil, errBadLogin
	}
	s.logins.succeed(name)
	return u, nil
}

// RotateToken issues a new token for a user and revokes the old one (admin
// CLI).
func (s *Service) RotateToken(ctx context.Context, login string) (string, error) {
	u, err := s.ResolveLogin(ctx, login)
	if err != nil {
		return "", err
	}
	token, _, err := s.issueToken(ctx, u)
	return token, err
}

// issueToken makes a new token the user's only one and returns it with the
// revoked one when it can be shown (sealed), else "".
func (s *Service) issueToken(ctx context.Context, u *crated.User) (token, revoked string, err error) {
	token = newToken()
	t := &crated.Token{UserID: u.ID, Hash: HashToken(token)}
	if s.cfg.Sealer != nil {
		t.Sealed = s.cfg.Sealer.Seal(token, t.Hash)
	}
	old, err := s.store.ReplaceToken(ctx, t)
	if err != nil {
		return "", "", err
	}
	if old != nil && s.cfg.Sealer != nil && len(old.Sealed) > 0 {
		revoked, _ = s.cfg.Sealer.Open(old.Sealed, old.Hash)
	}
	return token, revoked, nil
}

// OIDCLogin implements crated.Accounts for the OpenID login.
func (s *Service) OIDCLogin(ctx context.Context, id crated.Identity, replace bool) (*crated.LoginResult, error) {
	if id.Issuer == "" || id.Subject == "" || id.Username == "" {
		return nil, crated.Errorf(crated.EINVALID, "the identity provider did not return a user id and user name")
	}
	login := id.IssuerHost + ":" + id.Username
	u, err := s.store.UserByIdentity(ctx, id.Issuer, id.Subject)
	switch {
	case crated.IsCode(err, crated.ENOTFOUND):
		u = &crated.User{Login: login, Name: id.Username, Email: id.Email, Issuer: id.Issuer, Subject: id.Subject}
		if err := s.store.CreateUser(ctx, u); err != nil {
			if crated.IsCode(err, crated.ECONFLICT) {
				return nil, crated.Errorf(crated.ECONFLICT, "the login name `%s` belongs to another account; ask an administrator", login)
			}
			return nil, err
		}
	case err != nil:
		return nil, err
	case u.Login != login || u.Name != id.Username || (id.Email != "" && u.Email != id.Email):
		// The user renamed themselves at the provider: follow the rename.
		u.Login, u.Name = login, id.Username
		if id.Email != "" {
			u.Email = id.Email
		}
		if err := s.store.UpdateUser(ctx, u); err != nil {
			if crated.IsCode(err, crated.ECONFLICT) {
				return nil, crated.Errorf(crated.ECONFLICT, "the login name `%s` belongs to another account; ask an administrator", login)
			}
			return nil, err
		}
	}
	res := &crated.LoginResult{Username: u.Login}
	if !replace && s.cfg.Sealer != nil {
		t, err := s.store.UserToken(ctx, u.ID)
		if err != nil && !crated.IsCode(err, crated.ENOTFOUND) {
			return nil, err
		}
		if t != nil && len(t.Sealed) > 0 {
			if tok, err := s.cfg.Sealer.Open(t.Sealed, t.Hash); err == nil {
				res.ExistingToken = tok
				return res, nil
			}
			// Sealed with a key we no longer have: issue a fresh token.
			s.cfg.Logger.Warn("a stored token does not open with the current seal key; issuing a new one", "user", u.Login)
		}
	}
	res.NewToken, res.RevokedToken, err = s.issueToken(ctx, u)
	if err != nil {
		return nil, err
	}
	return res, nil
}
