package registry

import (
	"context"
	"strings"
	"unicode"

	"github.com/crated/crated"
)

// validateUserName is the rule for every user name crated creates, typed by
// an administrator or a registrant or sent by an OpenID provider: printable
// and unambiguous in logins ("{issuer host}:{name}", so no ':') and in URLs
// (no "." or "..", which are path segments). Names that differ only in case
// or in '-' versus '_' are one name: the store refuses the second.
func validateUserName(name string) error {
	if name == "" || len(name) > 64 {
		return crated.Errorf(crated.EINVALID, "user name must be 1 to 64 characters")
	}
	for _, r := range name {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.') {
			return crated.Errorf(crated.EINVALID, "user name may only contain ASCII letters, digits, `-`, `_` and `.`")
		}
	}
	if strings.Trim(name, ".") == "" {
		return crated.Errorf(crated.EINVALID, "user name must not be made of dots only: `.` and `..` are path segments")
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
		var err error
		if u.PasswordHash, err = s.hashPassword(ctx, password); err != nil {
			return nil, "", err
		}
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if crated.IsCode(err, crated.ECONFLICT) {
			return nil, "", crated.Errorf(crated.ECONFLICT,
				"user `%s` already exists, or a user whose name differs from it only in case or in `-` versus `_`", name)
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
	ctx = s.loggedIn(ctx, u, crated.AuthPassword)
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
	ctx = s.loggedIn(ctx, u, crated.AuthPassword)
	if err := validatePassword(newPassword); err != nil {
		return "", err
	}
	if u.PasswordHash, err = s.hashPassword(ctx, newPassword); err != nil {
		return "", err
	}
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
	if u.PasswordHash, err = s.hashPassword(ctx, password); err != nil {
		return err
	}
	return s.store.UpdateUser(ctx, u)
}

// errBadLogin is deliberately the same for unknown users and wrong passwords.
var errBadLogin = crated.Errorf(crated.EFORBIDDEN, "wrong user name or password")

// dummyHash is checked when the user does not exist, so that response time
// does not tell whether a name is registered.
var dummyHash = HashPassword("crated-dummy-password")

// checkPassword verifies a password login. The order matters: the attempt
// first waits for a hashing slot (so a flood queues without touching the
// database), then reserves one of the name's guesses of the window (so racing
// guesses cannot exceed the limit), then hashes: the stored hash, or a dummy
// one for an unknown name, so that neither the time nor the queue tells
// whether a name is registered.
func (s *Service) checkPassword(ctx context.Context, name, password string) (*crated.User, error) {
	if !s.cfg.PasswordLogin {
		return nil, crated.Errorf(crated.EFORBIDDEN, "password login is disabled on this registry: log in at /me")
	}
	// Names that were never valid cannot exist: no guess to count.
	if len(name) == 0 || len(name) > 64 || strings.ContainsAny(name, ":/") || len(password) > 1024 {
		return nil, errBadLogin
	}
	u, err := s.store.UserByLogin(ctx, s.cfg.LoginPrefix+name)
	if crated.IsCode(err, crated.ENOTFOUND) {
		u = nil
	} else if err != nil {
		return nil, err
	}
	hash := dummyHash
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	var ok bool
	var reserveErr error
	err = s.hashes.do(ctx, func() {
		if reserveErr = s.reserveAttempt(ctx, name); reserveErr == nil {
			ok = CheckPassword(hash, password)
		}
	})
	switch {
	case err != nil:
		return nil, err
	case reserveErr != nil:
		return nil, reserveErr
	case u == nil || u.PasswordHash == "" || !ok:
		return nil, errBadLogin
	}
	if err := s.store.ClearLoginAttempts(ctx, attemptKey(name)); err != nil {
		// The login is good; the name keeps a count that expires.
		s.cfg.Logger.WarnContext(ctx, "cannot clear the failed logins of a user", "user", u.Login, "err", err)
	}
	return u, nil
}

// RotateToken issues a new token for a user and revokes the old one (admin
// CLI).
func (s *Service) RotateToken(ctx context.Context, login string) (string, error) {
	u, err := s.ResolveLogin(ctx, login)
	if err != nil {
		return "", err
	}
	ctx = crated.WithActor(ctx, &crated.Actor{UserID: u.ID, Auth: crated.AuthOperator})
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
	// A provider's user name follows the rules of every user name: a name
	// like "HOST:alice" would give the login "HOST:HOST:alice" and pose as
	// HOST:alice. Refused before anything is created.
	if err := validateUserName(id.Username); err != nil {
		s.cfg.Logger.InfoContext(ctx, "openid login refused: the user name is not valid here",
			"issuer", id.Issuer, "subject", id.Subject, "username", id.Username, "err", err)
		return nil, crated.Errorf(crated.EFORBIDDEN,
			"Your user name at the identity provider, %q, cannot be used on this registry: %s. Ask the registry's administrator.",
			id.Username, crated.ErrorMessage(err))
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
	ctx = s.loggedIn(ctx, u, crated.AuthOpenID)
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
			s.cfg.Logger.WarnContext(ctx, "a stored token does not open with the current seal key; issuing a new one", "user", u.Login)
		}
	}
	res.NewToken, res.RevokedToken, err = s.issueToken(ctx, u)
	if err != nil {
		return nil, err
	}
	return res, nil
}
