package crated

import (
	"context"
	"strconv"
	"time"
)

// Token kinds.
const (
	// TokenLogin is the user's single token of the /me, Ktra login and
	// /replace_token flows; each of them replaces it.
	TokenLogin = "login"
	// TokenAPI is an additional, named, optionally scoped and expiring
	// token made through /api/v1/me/tokens; the login flows leave it alone.
	TokenAPI = "api"
)

// Endpoint scopes of an API token, crates.io's names plus ScopeRead.
const (
	ScopePublishNew    = "publish-new"
	ScopePublishUpdate = "publish-update"
	ScopeYank          = "yank"
	ScopeChangeOwners  = "change-owners"
	// ScopeRead grants nothing beyond what every valid token can do: read
	// a private (auth_required) registry. It exists so that a read-only
	// token can be asked for by name: ["read"] and [] both mean read-only.
	ScopeRead = "read"
)

// EndpointScopes lists the endpoint scopes a token may be given.
var EndpointScopes = []string{ScopePublishNew, ScopePublishUpdate, ScopeYank, ScopeChangeOwners, ScopeRead}

// Audit actions.
const (
	AuditPublish      = "publish"
	AuditYank         = "yank"
	AuditUnyank       = "unyank"
	AuditOwnerAdd     = "owner_add"
	AuditOwnerRemove  = "owner_remove"
	AuditTokenReplace = "token_replace" // the login token was (re)issued
	AuditTokenCreate  = "token_create"  // an API token was made
	AuditTokenRevoke  = "token_revoke"  // an API token was deleted
	AuditLogin        = "login"
)

// How an actor authenticated (AuditEntry.Auth).
const (
	AuthToken             = "token"
	AuthPassword          = "password"
	AuthOpenID            = "openid"
	AuthTrustedPublishing = "trusted_publishing"
	AuthOperator          = "operator"
)

// Actor is who does what a request asks, and how they proved it. httpapi
// (or the OpenID login, or trusted publishing) puts it in the request's
// context; the registry reads Token's scopes from it and the stores copy
// the rest into every audit entry they write, in the transaction of the
// change itself.
type Actor struct {
	UserID int64
	// Auth is one of the Auth* constants.
	Auth string
	// Token is the token the request came with, nil for other kinds of
	// authentication. Its scopes bound what the request may do.
	Token *Token
	// AuthDetail is recorded as AuditEntry.AuthDetail (trusted
	// publishing: repository and workflow).
	AuthDetail string
}

type actorKey struct{}
type clientKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, nil if there is none (an operator
// command, a test calling the service directly).
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// WithClient returns ctx carrying the client's address, for the audit log.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientFrom returns the client address in ctx, "" if none.
func ClientFrom(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}

// FillAuditEntry sets e's authentication and client fields from ctx: the
// one place where stores learn them, so that every backend records the same.
func FillAuditEntry(ctx context.Context, e *AuditEntry) {
	e.Client = ClientFrom(ctx)
	a := ActorFrom(ctx)
	if a == nil {
		return
	}
	e.Auth, e.AuthDetail = a.Auth, a.AuthDetail
	if a.Token != nil {
		e.TokenID, e.TokenName = a.Token.ID, a.Token.Name
		if e.TokenName == "" && a.Token.Kind != TokenAPI {
			e.TokenName = TokenLogin
		}
	}
}

// TokenStore is the Store's part for API tokens and audit queries.
type TokenStore interface {
	// CreateAPIToken inserts t with Kind TokenAPI, sets t.ID and
	// t.CreatedAt, and records a token_create entry, atomically.
	// ECONFLICT when the hash is taken, ENOTFOUND for an unknown user.
	CreateAPIToken(ctx context.Context, t *Token) error
	// UserTokens lists all of a user's tokens, login token included,
	// oldest first.
	UserTokens(ctx context.Context, userID int64) ([]*Token, error)
	// DeleteUserToken deletes the user's token id and records a
	// token_revoke entry, atomically; ENOTFOUND when the user has no such
	// token (another user's token is not found either).
	DeleteUserToken(ctx context.Context, userID, id int64) error
	// TouchToken sets the token's LastUsedAt; a missing token is no error.
	TouchToken(ctx context.Context, id int64, at time.Time) error
	// RecordAudit appends e (its ID, Time and Actor are set by the store,
	// its Auth and Client fields from ctx by FillAuditEntry): for events
	// that change nothing else in the store, such as a login.
	RecordAudit(ctx context.Context, e *AuditEntry) error
	// CrateAudit lists a crate's entries (by exact crate name, as
	// published), newest first, at most limit (all when limit <= 0).
	CrateAudit(ctx context.Context, crate string, limit int) ([]*AuditEntry, error)
}

// TokenAuditDetail is the Detail of a token_create or token_revoke entry:
// the token's id and name, never its value.
func TokenAuditDetail(id int64, name string) string {
	return "token " + strconv.FormatInt(id, 10) + " " + strconv.Quote(name)
}
