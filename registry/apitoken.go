package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// Authorize resolves the Authorization header to a user and returns ctx
// carrying the crated.Actor: the token the request came with, whose scopes
// Publish, Yank, AddOwners, RemoveOwners and the token API check, and whose
// id and name the audit log records. EUNAUTHORIZED when there is no token,
// EFORBIDDEN when it is unknown, revoked or expired.
func (s *Service) Authorize(ctx context.Context, header string) (context.Context, *crated.User, error) {
	token := tokenFromHeader(header)
	if token == "" {
		return ctx, nil, crated.Errorf(crated.EUNAUTHORIZED, "this action requires a token: run `cargo login` with a token from %s", s.loginURL())
	}
	// One read for the token and its user: a private registry pays it on
	// every index and crate fetch.
	t, u, err := s.store.TokenUser(ctx, HashToken(token))
	if crated.IsCode(err, crated.ENOTFOUND) {
		return ctx, nil, s.invalidToken()
	} else if err != nil {
		return ctx, nil, err
	}
	now := s.cfg.Now()
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return ctx, nil, crated.Errorf(crated.EFORBIDDEN, "this token (%s) expired at %s: create a new one at /me/tokens",
			tokenLabel(t), t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	s.touch(ctx, t, now)
	return crated.WithActor(ctx, &crated.Actor{UserID: u.ID, Auth: crated.AuthToken, Token: t}), u, nil
}

// touchEvery bounds the writes that "last used" costs: a private registry
// checks the token on every index fetch.
const touchEvery = time.Minute

func (s *Service) touch(ctx context.Context, t *crated.Token, now time.Time) {
	if now.Sub(t.LastUsedAt) < touchEvery {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
		// Only the "last used" column is late: the request goes on.
		s.cfg.Logger.WarnContext(ctx, "cannot record a token's last use", "token_id", t.ID, "err", err)
	}
}

// tokenLabel names a token in messages: its id and name, never its value.
func tokenLabel(t *crated.Token) string {
	if t.Kind == crated.TokenAPI {
		return fmt.Sprintf("%q, id %d", t.Name, t.ID)
	}
	return fmt.Sprintf("login token, id %d", t.ID)
}

// requireScope fails with EFORBIDDEN, naming what is missing, unless the
// request's token (crated.ActorFrom) may use endpoint scope on crate. A
// request without a token in its context (the operator CLI, a trusted
// publisher: their own rules apply) is not limited here.
func requireScope(ctx context.Context, scope, crate string) error {
	a := crated.ActorFrom(ctx)
	if a == nil || a.Token == nil {
		return nil
	}
	return TokenAllows(a.Token, scope, crate)
}

// TokenAllows is the one rule of token scopes: nil EndpointScopes or
// CrateScopes are unrestricted; otherwise the endpoint scope must be listed
// and the crate must match one crate scope (a name, or a prefix ending in
// '*', compared as canonical names).
func TokenAllows(t *crated.Token, scope, crate string) error {
	if t.EndpointScopes != nil && !slices.Contains(t.EndpointScopes, scope) {
		have := "none: read-only"
		if len(t.EndpointScopes) > 0 {
			have = strings.Join(t.EndpointScopes, ", ")
		}
		return crated.Errorf(crated.EFORBIDDEN, "this token (%s) does not have the endpoint scope `%s` needed here (its endpoint scopes: %s)",
			tokenLabel(t), scope, have)
	}
	if t.CrateScopes != nil && !crateScopesMatch(t.CrateScopes, crate) {
		return crated.Errorf(crated.EFORBIDDEN, "this token (%s) is not allowed to act on crate `%s`: its crate scopes are %s",
			tokenLabel(t), crate, strings.Join(t.CrateScopes, ", "))
	}
	return nil
}

func crateScopesMatch(scopes []string, crate string) bool {
	canon := cargo.CanonicalName(crate)
	for _, p := range scopes {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(canon, cargo.CanonicalName(prefix)) {
				return true
			}
		} else if cargo.CanonicalName(p) == canon {
			return true
		}
	}
	return false
}

// requireUnscoped: managing tokens needs a token without scopes (or
// another kind of authentication), or a scoped token could mint itself an
// unscoped one.
func requireUnscoped(ctx context.Context) error {
	a := crated.ActorFrom(ctx)
	if a == nil || a.Token == nil || (a.Token.CrateScopes == nil && a.Token.EndpointScopes == nil) {
		return nil
	}
	return crated.Errorf(crated.EFORBIDDEN, "this token (%s) has scopes: managing tokens needs a token without scopes", tokenLabel(a.Token))
}

// NewAPIToken is what a user asks for in PUT /api/v1/me/tokens.
type NewAPIToken struct {
	Name string
	// nil: unrestricted; see crated.Token.
	CrateScopes    []string
	EndpointScopes []string
	ExpiresAt      time.Time
}

// maxScopes bounds the lists a token may carry.
const maxScopes = 100

func validateNewToken(req NewAPIToken, now time.Time) error {
	if strings.TrimSpace(req.Name) == "" || len(req.Name) > 100 {
		return crated.Errorf(crated.EINVALID, "a token needs a name of 1 to 100 characters")
	}
	for _, r := range req.Name {
		if r < ' ' || r == 0x7f {
			return crated.Errorf(crated.EINVALID, "a token name may not contain control characters")
		}
	}
	if len(req.CrateScopes) > maxScopes || len(req.EndpointScopes) > maxScopes {
		return crated.Errorf(crated.EINVALID, "at most %d scopes of each kind", maxScopes)
	}
	for _, sc := range req.EndpointScopes {
		if !slices.Contains(crated.EndpointScopes, sc) {
			return crated.Errorf(crated.EINVALID, "unknown endpoint scope `%s`: the scopes are %s", sc, strings.Join(crated.EndpointScopes, ", "))
		}
	}
	if req.CrateScopes != nil && len(req.CrateScopes) == 0 {
		return crated.Errorf(crated.EINVALID, "crate_scopes is empty: give crate names or patterns like `foo-*`, or null for every crate")
	}
	for _, sc := range req.CrateScopes {
		if !validCrateScope(sc) {
			return crated.Errorf(crated.EINVALID, "invalid crate scope `%s`: a crate name, optionally ending in `*`", sc)
		}
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		return crated.Errorf(crated.EINVALID, "expired_at is in the past")
	}
	return nil
}

func validCrateScope(sc string) bool {
	name, _ := strings.CutSuffix(sc, "*")
	if name == "" {
		return sc == "*"
	}
	if len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
			return false
		}
	}
	return true
}

// CreateAPIToken makes an additional token for u and returns its value,
// the only time it is shown. The login token is not touched.
func (s *Service) CreateAPIToken(ctx context.Context, u *crated.User, req NewAPIToken) (string, *crated.Token, error) {
	if err := requireUnscoped(ctx); err != nil {
		return "", nil, err
	}
	if err := validateNewToken(req, s.cfg.Now()); err != nil {
		return "", nil, err
	}
	value := newToken()
	t := &crated.Token{UserID: u.ID, Hash: HashToken(value), Kind: crated.TokenAPI, Name: req.Name,
		CrateScopes: req.CrateScopes, EndpointScopes: req.EndpointScopes, ExpiresAt: req.ExpiresAt}
	if err := s.store.CreateAPIToken(ctx, t); err != nil {
		return "", nil, err
	}
	return value, t, nil
}

// APITokens lists u's tokens (hashes and values stay in the store).
func (s *Service) APITokens(ctx context.Context, u *crated.User) ([]*crated.Token, error) {
	if err := requireUnscoped(ctx); err != nil {
		return nil, err
	}
	return s.store.UserTokens(ctx, u.ID)
}

// RevokeAPIToken deletes one of u's tokens (the login token too: /me then
// issues a new one).
func (s *Service) RevokeAPIToken(ctx context.Context, u *crated.User, id int64) error {
	if err := requireUnscoped(ctx); err != nil {
		return err
	}
	err := s.store.DeleteUserToken(ctx, u.ID, id)
	if crated.IsCode(err, crated.ENOTFOUND) {
		return crated.Errorf(crated.ENOTFOUND, "you have no token with id %d", id)
	}
	return err
}

// RecordAudit appends an audit entry for an event that is not a store
// write of its own (a login, a trusted-publisher change made elsewhere);
// the actor's authentication and the client address come from ctx.
func (s *Service) RecordAudit(ctx context.Context, e crated.AuditEntry) error {
	return s.store.RecordAudit(ctx, &e)
}

// loggedIn records a successful login by u and returns ctx carrying u as
// the actor, so that the token the login issues is recorded as theirs too.
// A failure to record is logged: the login itself has succeeded.
func (s *Service) loggedIn(ctx context.Context, u *crated.User, auth string) context.Context {
	ctx = crated.WithActor(ctx, &crated.Actor{UserID: u.ID, Auth: auth})
	if err := s.RecordAudit(ctx, crated.AuditEntry{UserID: u.ID, Action: crated.AuditLogin}); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "cannot record a login in the audit log", "user", u.Login, "err", err)
	}
	return ctx
}

// CrateAudit lists a crate's audit log, newest first; owners only.
func (s *Service) CrateAudit(ctx context.Context, u *crated.User, name string, limit int) ([]*crated.AuditEntry, error) {
	c, err := s.findCrate(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.requireOwner(ctx, c, u); err != nil {
		return nil, err
	}
	return s.store.CrateAudit(ctx, c.Name, limit)
}
