// Package registry is the crated service: publish, yank, owners, search,
// users and tokens. It enforces authorization and policy above the stores, so
// every metadata backend shares one implementation of the rules.
package registry

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// Config holds the plain values the service needs.
type Config struct {
	// IndexURLs are this registry's own index URLs; a dependency whose
	// registry is one of them is a dependency on this registry.
	IndexURLs []string
	Limits    cargo.Limits
	// LoginPrefix is prepended to password users' names (Ktra's
	// db_config.login_prefix).
	LoginPrefix      string
	OpenRegistration bool
	// PasswordLogin enables the Ktra password endpoints.
	PasswordLogin bool
	// Sealer keeps a re-displayable copy of tokens (OpenID mode). Nil: only
	// hashes are stored.
	Sealer *Sealer
	// LoginURL is where a user gets a new token ({base_url}/me), named in
	// the answer to an invalid one.
	LoginURL string
	// PasswordHashConcurrency bounds the password hashes run at once
	// (0: DefaultPasswordHashConcurrency); PasswordHashWait is how long a
	// check queues for one before the answer is 503 (0: 2 seconds).
	PasswordHashConcurrency int
	PasswordHashWait        time.Duration
	// LoginMaxFailures password guesses per user name are evaluated within
	// LoginFailureWindow, on all replicas together (0: 10 and 15 minutes).
	LoginMaxFailures   int
	LoginFailureWindow time.Duration
	Now                func() time.Time
	Logger             *slog.Logger
	// Trusted adds trusted publishing's rules to publishes (trustpub.go);
	// nil: none.
	Trusted PublishPolicy
}

// Service is the registry.
type Service struct {
	store crated.Store
	blobs crated.BlobStore
	cfg   Config
	// changed is called with a crate's canonical name after every committed
	// change so caches can drop it.
	changed []func(canon string)
	hashes  *hashSlots
}

// New returns a service over the given stores.
func New(store crated.Store, blobs crated.BlobStore, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.PasswordHashConcurrency <= 0 {
		cfg.PasswordHashConcurrency = DefaultPasswordHashConcurrency()
	}
	if cfg.PasswordHashWait <= 0 {
		cfg.PasswordHashWait = DefaultPasswordHashWait
	}
	if cfg.LoginMaxFailures <= 0 {
		cfg.LoginMaxFailures = DefaultLoginMaxFailures
	}
	if cfg.LoginFailureWindow <= 0 {
		cfg.LoginFailureWindow = DefaultLoginFailureWindow
	}
	return &Service{store: store, blobs: blobs, cfg: cfg,
		hashes: newHashSlots(cfg.PasswordHashConcurrency, cfg.PasswordHashWait)}
}

// OnChange registers fn to be called after a crate changes.
func (s *Service) OnChange(fn func(canon string)) { s.changed = append(s.changed, fn) }

func (s *Service) notify(canon string) {
	for _, fn := range s.changed {
		fn(canon)
	}
}

// Limits returns the publish limits.
func (s *Service) Limits() cargo.Limits { return s.cfg.Limits }

// Authenticate resolves the Authorization header to a user. EUNAUTHORIZED
// when there is no token at all, EFORBIDDEN when the token is not valid: the
// status cargo's documentation asks for. Handlers that change something use
// Authorize, which also carries the token's scopes in the context.
func (s *Service) Authenticate(ctx context.Context, header string) (*crated.User, error) {
	_, u, err := s.Authorize(ctx, header)
	return u, err
}

// invalidToken is the answer to a token that is not (or no longer) valid:
// where to get a new one.
func (s *Service) invalidToken() error {
	return crated.Errorf(crated.EFORBIDDEN, "invalid or revoked token: get a new one at %s and run `cargo login`", s.loginURL())
}

// loginURL is the page that hands out tokens.
func (s *Service) loginURL() string {
	if s.cfg.LoginURL == "" {
		return "the registry's /me page"
	}
	return s.cfg.LoginURL
}

// findCrate loads a crate by any spelling of its name.
func (s *Service) findCrate(ctx context.Context, name string) (*crated.Crate, error) {
	if err := cargo.ValidateName(name); err != nil {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist", name)
	}
	c, err := s.store.CrateByName(ctx, cargo.CanonicalName(name))
	if crated.IsCode(err, crated.ENOTFOUND) {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist", name)
	}
	return c, err
}

// requireOwner fails with EFORBIDDEN unless u owns c.
func (s *Service) requireOwner(ctx context.Context, c *crated.Crate, u *crated.User) error {
	ok, err := s.store.IsOwner(ctx, c.ID, u.ID)
	if err != nil {
		return err
	}
	if !ok {
		return crated.Errorf(crated.EFORBIDDEN, "you are not an owner of crate `%s`", c.Name)
	}
	return nil
}

// Yank sets or clears the yanked flag of one version; owners only.
func (s *Service) Yank(ctx context.Context, u *crated.User, name, vers string, yanked bool) error {
	c, err := s.findCrate(ctx, name)
	if err != nil {
		return err
	}
	if err := s.requireOwner(ctx, c, u); err != nil {
		return err
	}
	// Token scopes (apitoken.go): yank covers unyank, as on crates.io.
	if err := requireScope(ctx, crated.ScopeYank, c.Name); err != nil {
		return err
	}
	v, err := s.findVersion(ctx, c, vers)
	if err != nil {
		return err
	}
	if v.Yanked == yanked {
		return nil // idempotent, as crates.io
	}
	if err := s.store.SetYanked(ctx, v.ID, yanked, u.ID); err != nil {
		return err
	}
	s.notify(c.CanonName)
	return nil
}

// findVersion finds a version by its exact string, or by its semver without
// build metadata (cargo users often omit it).
func (s *Service) findVersion(ctx context.Context, c *crated.Crate, vers string) (*crated.Version, error) {
	v, err := s.store.Version(ctx, c.ID, vers)
	if err == nil || !crated.IsCode(err, crated.ENOTFOUND) {
		return v, err
	}
	if pv, perr := cargo.ParseVersion(vers); perr == nil {
		vs, err := s.store.Versions(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if v.VersKey == pv.Key() {
				return v, nil
			}
		}
	}
	return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not have a version `%s`", c.Name, vers)
}

// Search returns one page of crates matching q. page is 1-based.
func (s *Service) Search(ctx context.Context, q string, page, perPage int) ([]*crated.Crate, int, error) {
	if perPage <= 0 {
		perPage = 10
	}
	if perPage > 100 {
		perPage = 100
	}
	if page <= 0 {
		page = 1
	}
	if page > 10000 {
		return nil, 0, crated.Errorf(crated.EINVALID, "page is too large")
	}
	// cargo joins the words of `cargo search a b` with '+'.
	q = strings.TrimSpace(strings.ReplaceAll(q, "+", " "))
	if len(q) > 256 {
		return nil, 0, crated.Errorf(crated.EINVALID, "search query is too long")
	}
	if !utf8.ValidString(q) {
		return nil, 0, crated.Errorf(crated.EINVALID, "search query is not valid UTF-8")
	}
	return s.store.SearchCrates(ctx, crated.SearchQuery{Text: q, Offset: (page - 1) * perPage, Limit: perPage})
}
