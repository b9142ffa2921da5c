// Package crated holds the domain types of the crated registry and the
// interfaces its backends implement. Subpackages provide one implementation
// per dependency (sqlite, postgres, blob/fs, blob/s3, ...); the registry
// package is the service that enforces authorization and policy above them.
package crated

import (
	"context"
	"io"
	"time"
)

// Crate is one package name in the registry.
type Crate struct {
	ID int64
	// Name is the spelling of the first publish; later versions must keep it.
	Name string
	// CanonName is Name lowercased with '-' replaced by '_': the uniqueness key.
	CanonName     string
	Description   string
	Homepage      string
	Documentation string
	Repository    string
	Keywords      []string
	Categories    []string
	// MaxVersion is the highest non-yanked version (by semver order), or the
	// highest version when every version is yanked. Maintained by the store.
	MaxVersion string
	Downloads  int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Version is one published version of a crate.
type Version struct {
	ID      int64
	CrateID int64
	// Vers is the full semver as published, build metadata included.
	Vers string
	// VersKey is Vers without build metadata: versions are unique on it.
	VersKey string
	// SortKey orders versions by semver precedence when compared as strings.
	SortKey string
	// Cksum is the lowercase hex sha256 of the .crate file, computed by the
	// server; it is also the blob key.
	Cksum string
	Size  int64
	// Entry is the sparse-index line (JSON, no newline) as published, with
	// "yanked":false. The index renders Yanked on top of it.
	Entry       []byte
	Yanked      bool
	PublishedBy int64 // user id
	PublishedAt time.Time
	// Readme is the README text sent with the publish, for the web UI.
	Readme string
	// Manifest is extra metadata (JSON) kept for the UI and API: license,
	// authors, links, rust_version.
	Manifest []byte
	// Downloads counts the version's downloads (flushed in batches, so a
	// little behind).
	Downloads int64
}

// User is someone who can own crates. Password users have a PasswordHash;
// OpenID users have Issuer and Subject, the stable identity key.
type User struct {
	ID int64
	// Login is the unique name shown to cargo (`cargo owner --add LOGIN`):
	// login_prefix+name for password users, "{issuer host}:{username}" for
	// OpenID users.
	Login string
	// Name is the bare user name without prefix or issuer host, so that
	// `cargo owner --add alice` can find "gitlab.com:alice" when unambiguous.
	Name         string
	Email        string
	PasswordHash string // argon2id PHC string; empty for OpenID users
	Issuer       string
	Subject      string
	Admin        bool
	CreatedAt    time.Time
}

// Token is a user's API token. Only its SHA-256 is stored; Sealed holds an
// AES-GCM sealed copy when the OpenID "/me" flow must be able to show it
// again (the sealing key lives outside the database).
//
// A user has at most one token of Kind TokenLogin (the one /me, Ktra's login
// and /replace_token show and replace) and any number of TokenAPI tokens,
// which those flows never touch (see apitoken.go for their scopes).
type Token struct {
	ID     int64
	UserID int64
	// Hash is the lowercase hex SHA-256 of the token string.
	Hash      string
	Sealed    []byte
	CreatedAt time.Time
	// Kind is TokenLogin or TokenAPI; "" is read as TokenLogin.
	Kind string
	// Name is the user's label of an API token ("" for the login token).
	Name string
	// CrateScopes and EndpointScopes restrict what the token may do; nil
	// means unrestricted, an empty EndpointScopes read-only (the rule is
	// registry.TokenAllows).
	CrateScopes    []string
	EndpointScopes []string
	// ExpiresAt is when the token stops working; zero: never.
	ExpiresAt time.Time
	// LastUsedAt is when the token last authenticated a request, to about
	// a minute (TouchToken); zero: never.
	LastUsedAt time.Time
}

// LoginState is the server side of one pending OpenID login: single use,
// expiring, shared by all replicas through the store.
type LoginState struct {
	// Key is the hash of the state parameter sent to the provider.
	Key          string
	Nonce        string
	PKCEVerifier string
	// Kind is "me" or "replace".
	Kind      string
	ExpiresAt time.Time
}

// NewVersion is everything one publish writes, in one transaction.
type NewVersion struct {
	// CrateID is the existing crate the version belongs to, or 0 to create the
	// crate. With 0 the store fails with ECONFLICT if a crate with the same
	// CanonName exists by then (a racing publish won).
	CrateID int64
	Crate   Crate   // name and metadata; metadata replaces the crate's current one
	Version Version // CrateID and ID are filled in by the store
	// OwnerID becomes the first owner when the crate is created.
	OwnerID int64
}

// SearchQuery selects crates for `cargo search` and the web UI.
type SearchQuery struct {
	// Text is matched against name, description and keywords
	// (case-insensitive substring). Empty matches everything.
	Text   string
	Offset int
	Limit  int
}

// OperatorID is the UserID of audit entries written by an operator at the
// command line (`crated crate delete`), who is no registry user: user ids
// start at 1. The entry's Detail names the operator.
const OperatorID int64 = 0

// AuditEntry is one record of who changed what, and how they proved who
// they were. Never a token value: a token is named by its ID and Name.
type AuditEntry struct {
	ID     int64
	Time   time.Time
	UserID int64
	// Action is one of the Audit* constants (apitoken.go), or
	// delete_version / delete_crate (an operator's `crated crate delete`).
	Action  string
	Crate   string
	Version string
	Detail  string
	// Actor is the user's login at the time of the event.
	Actor string
	// Auth is how the actor authenticated: AuthToken, AuthPassword, ...
	Auth      string
	TokenID   int64
	TokenName string
	// AuthDetail says more about Auth where a token does not: for trusted
	// publishing, the CI repository and workflow.
	AuthDetail string
	// Client is the client's address as httpapi saw it.
	Client string
}

// Store is the metadata store. Implementations only store: authorization and
// policy live in the registry service above them. Every method returns errors
// from the crated vocabulary: ENOTFOUND for a missing row, ECONFLICT for a
// uniqueness violation (detected by constraint, so racing replicas cannot both
// win), EINVALID for a value the database cannot hold, EUNAVAILABLE when the
// database is busy past the store's wait, unreachable or too slow to answer
// (503: try again), EINTERNAL for anything else. storetest.Codes lists the
// codes each method may return; storetest.Run is the contract.
type Store interface {
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	Close() error

	// CrateByName finds a crate by canonical name.
	CrateByName(ctx context.Context, canon string) (*Crate, error)
	// Versions lists a crate's versions in publish order.
	Versions(ctx context.Context, crateID int64) ([]*Version, error)
	// Version finds one version by its exact Vers string.
	Version(ctx context.Context, crateID int64, vers string) (*Version, error)
	// IndexRows returns what the index file of the crate with canonical
	// name canon is rendered from. ENOTFOUND when there is no such crate
	// or it has no versions.
	IndexRows(ctx context.Context, canon string) (*IndexRows, error)
	// PublishVersion creates the crate if needed, inserts the version,
	// updates the crate's metadata and MaxVersion and records an audit entry,
	// atomically. ECONFLICT when VersKey already exists for the crate, or when
	// CrateID is 0 and the canonical name is taken.
	PublishVersion(ctx context.Context, nv *NewVersion) (*Version, error)
	// ImportVersions writes a batch of versions brought from another
	// registry in one transaction, in order, and returns one result per
	// item; storetest.RunImport is its contract.
	ImportVersions(ctx context.Context, batch []*NewVersion) ([]ImportResult, error)
	// SetYanked sets a version's yanked flag, updates MaxVersion and records
	// an audit entry by actorID.
	SetYanked(ctx context.Context, versionID int64, yanked bool, actorID int64) error
	// DeleteVersion removes one version for good (an operator's removal, not
	// a yank), updates MaxVersion and records a delete_version audit entry
	// by actorID with detail, atomically. It returns the version's blob key
	// when no remaining version refers to it (else ""). ENOTFOUND for an
	// unknown version; EINVALID when it is the crate's only version (delete
	// the crate instead: a crate always has a version).
	DeleteVersion(ctx context.Context, versionID int64, actorID int64, detail string) (orphan string, err error)
	// DeleteCrate removes a crate with its versions and owners and records a
	// delete_crate audit entry, atomically. It returns the blob keys of its
	// versions that no remaining version refers to. ENOTFOUND for an
	// unknown crate.
	DeleteCrate(ctx context.Context, crateID int64, actorID int64, detail string) (orphans []string, err error)
	// SearchCrates returns one page of matching crates and the total count.
	// Exact canonical-name matches come first, then name prefix matches, then
	// the rest, each by name.
	SearchCrates(ctx context.Context, q SearchQuery) ([]*Crate, int, error)
	// CountCrates returns the number of crates and versions.
	CountCrates(ctx context.Context) (crates, versions int64, err error)
	// RecentCrates lists the limit crates most recently updated (a version
	// published), newest first, ties by canonical name.
	RecentCrates(ctx context.Context, limit int) ([]*Crate, error)
	// PopularCrates lists the limit most downloaded crates, most first, ties
	// by canonical name. Crates never downloaded are listed too, last.
	PopularCrates(ctx context.Context, limit int) ([]*Crate, error)
	// AddDownloads adds per-version download counts (flushed in batches).
	AddDownloads(ctx context.Context, counts map[int64]int64) error

	// Owners lists a crate's owners ordered by login.
	Owners(ctx context.Context, crateID int64) ([]*User, error)
	IsOwner(ctx context.Context, crateID, userID int64) (bool, error)
	// AddOwners adds users as owners; existing owners are left alone.
	AddOwners(ctx context.Context, crateID int64, userIDs []int64, actorID int64) error
	// RemoveOwners removes owners. EINVALID if that would leave the crate
	// with no owner (checked in the same transaction).
	RemoveOwners(ctx context.Context, crateID int64, userIDs []int64, actorID int64) error
	// CratesOwnedBy lists the crates a user owns, by name.
	CratesOwnedBy(ctx context.Context, userID int64) ([]*Crate, error)

	// CreateUser inserts u and sets u.ID and u.CreatedAt. ECONFLICT when the
	// login, or the (Issuer, Subject) pair, is taken. Logins are unique
	// ignoring ASCII case and '-' versus '_' (cargo.CanonicalName), so
	// that `alice`, `Alice` and `ALICE` cannot be three users.
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser writes Login, Name, Email, PasswordHash and Admin.
	// ECONFLICT when the new login is another user's, as for CreateUser.
	UpdateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByLogin(ctx context.Context, login string) (*User, error)
	UserByIdentity(ctx context.Context, issuer, subject string) (*User, error)
	// UsersByName lists users whose Login or Name equals name, by login.
	UsersByName(ctx context.Context, name string) ([]*User, error)
	ListUsers(ctx context.Context) ([]*User, error)

	// ReplaceToken makes t the user's only active token, atomically deleting
	// the previous one, which it returns (nil if none). It sets t.ID and
	// t.CreatedAt. Records an audit entry.
	ReplaceToken(ctx context.Context, t *Token) (old *Token, err error)
	// TokenByHash finds an active token by its hash.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// TokenUser finds an active token by its hash and the user it belongs
	// to, in one read: what every authenticated request needs.
	TokenUser(ctx context.Context, hash string) (*Token, *User, error)
	// UserToken returns the user's active token, ENOTFOUND if none.
	UserToken(ctx context.Context, userID int64) (*Token, error)
	// RevokeToken deletes the user's active token, if any.
	RevokeToken(ctx context.Context, userID int64) error

	// PutLoginState stores a pending OpenID login.
	PutLoginState(ctx context.Context, s *LoginState) error
	// TakeLoginState removes and returns a pending login; ENOTFOUND when it
	// does not exist, was already taken, or has expired at now.
	TakeLoginState(ctx context.Context, key string, now time.Time) (*LoginState, error)

	// Audit lists audit entries newest first.
	Audit(ctx context.Context, limit int) ([]*AuditEntry, error)

	// API tokens and the audit log's other entries: apitoken.go.
	TokenStore

	// ReserveLoginAttempt is the failed-login limit, kept in the store so
	// that it holds across replicas. Atomically, it forgets the attempts
	// recorded on key before now-window; when fewer than max remain it
	// records one more at now and returns ok; otherwise it records nothing
	// and returns the time at which the oldest remaining attempt leaves the
	// window. A reserved attempt counts as a failure until
	// ClearLoginAttempts, so racing attempts can never evaluate more than
	// max guesses per window. EINVALID when window or max is not positive.
	ReserveLoginAttempt(ctx context.Context, key string, now time.Time, window time.Duration, max int) (ok bool, retryAt time.Time, err error)
	// ClearLoginAttempts forgets the attempts recorded on key (after a
	// successful login).
	ClearLoginAttempts(ctx context.Context, key string) error
}

// Blob is an open crate file.
type Blob interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// BlobStore keeps .crate files, keyed by the lowercase hex sha256 of their
// content. blobtest.Run is the contract.
type BlobStore interface {
	// Put stores the content of r under key. It is idempotent: storing an
	// existing key succeeds without rewriting it. Implementations must verify
	// that the content hashes to key (EINVALID otherwise) and never expose a
	// partial object under key.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns the blob, ENOTFOUND if absent.
	Open(ctx context.Context, key string) (Blob, error)
	// Stat returns the blob's size, ENOTFOUND if absent.
	Stat(ctx context.Context, key string) (int64, error)
	// Delete removes the blob; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// Walk calls fn for every stored key, in no particular order.
	Walk(ctx context.Context, fn func(key string) error) error
	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
}

// BlobRedirector is implemented by blob stores that can hand out a
// short-lived URL for a direct download (presigned S3 URLs). It returns ""
// when redirects are disabled.
type BlobRedirector interface {
	RedirectURL(ctx context.Context, key string, filename string) (string, error)
}

// ChangeNotifier is implemented by stores that can tell other replicas that a
// crate changed (PostgreSQL LISTEN/NOTIFY). Listen calls fn with the
// canonical crate name of every change committed by any replica, and with ""
// when notifications may have been lost (reconnect) so that caches drop
// everything. It returns when ctx ends.
type ChangeNotifier interface {
	Listen(ctx context.Context, fn func(canon string)) error
}
