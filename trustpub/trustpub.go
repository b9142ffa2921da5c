// Package trustpub is trusted publishing (RFC 3691, as crates.io does it): a
// crate's owners name the CI workflow allowed to publish it; the workflow
// exchanges its provider's OpenID Connect ID token (GitHub Actions, GitLab
// CI) for a token that lives 30 minutes and can only publish those crates.
// A configuration may name a crate that does not exist yet (a pending
// publisher): its first trusted publish creates the crate, owned by the
// configuration's creator, and meanwhile nobody else may take the name.
package trustpub

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/crated/crated"
	"github.com/crated/crated/registry"
)

// Store is what trusted publishing needs of the metadata store;
// storetest.TrustPubStore is the contract of its own methods.
type Store interface {
	CrateByName(ctx context.Context, canon string) (*crated.Crate, error)
	IsOwner(ctx context.Context, crateID, userID int64) (bool, error)
	UserByID(ctx context.Context, id int64) (*crated.User, error)

	CreateTrustPubConfig(ctx context.Context, c *crated.TrustPubConfig) error
	TrustPubConfig(ctx context.Context, id int64) (*crated.TrustPubConfig, error)
	TrustPubConfigsByCrate(ctx context.Context, canon string) ([]*crated.TrustPubConfig, error)
	TrustPubConfigsByRepo(ctx context.Context, provider, issuer, repoKey string) ([]*crated.TrustPubConfig, error)
	DeleteTrustPubConfig(ctx context.Context, id int64) error
	PinTrustPubOwnerID(ctx context.Context, id int64, ownerID string) error
	UseTrustPubJTI(ctx context.Context, jti string, expiresAt, now time.Time) error
	PutTrustPubToken(ctx context.Context, t *crated.TrustPubToken) error
	TrustPubTokenByHash(ctx context.Context, hash string, now time.Time) (*crated.TrustPubToken, error)
	DeleteTrustPubToken(ctx context.Context, hash string, now time.Time) error
	SetTrustPubOnly(ctx context.Context, crateID int64, on bool) error
	TrustPubOnly(ctx context.Context, crateID int64) (bool, error)
	RecordAudit(ctx context.Context, e *crated.AuditEntry) error
}

// TokenLifetime is how long an issued token publishes (crates.io's).
const TokenLifetime = 30 * time.Minute

// DefaultMinKeyRefresh is the shortest time between two fetches of an
// issuer's keys caused by unknown key ids.
const DefaultMinKeyRefresh = 30 * time.Second

// Config holds the plain settings.
type Config struct {
	// GitHubIssuer is GitHub Actions' issuer; "" turns GitHub off.
	GitHubIssuer string
	// GitLabIssuers are the accepted GitLab instances; the first is the
	// default of a new GitLab configuration.
	GitLabIssuers []string
	// Audience is the `aud` the ID tokens must carry.
	Audience string
	// HTTPTimeout bounds each fetch from an issuer (0: 10 seconds).
	HTTPTimeout time.Duration
	// MinKeyRefresh rate-limits key set fetches (0: DefaultMinKeyRefresh).
	MinKeyRefresh time.Duration
	// HTTPClient makes the issuer requests (nil: a plain client).
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service is trusted publishing. It implements registry.PublishPolicy.
type Service struct {
	store   Store
	cfg     Config
	issuers map[string]*issuer // by issuer URL
	github  string
	gitlab  map[string]bool
}

var _ registry.PublishPolicy = (*Service)(nil)

// New returns the service.
func New(store Store, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 10 * time.Second
	}
	if cfg.MinKeyRefresh <= 0 {
		cfg.MinKeyRefresh = DefaultMinKeyRefresh
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	s := &Service{store: store, cfg: cfg, issuers: map[string]*issuer{}, gitlab: map[string]bool{}}
	add := func(url string) {
		url = strings.TrimSuffix(url, "/")
		if s.issuers[url] == nil {
			s.issuers[url] = &issuer{url: url, client: cfg.HTTPClient, timeout: cfg.HTTPTimeout,
				minRefresh: cfg.MinKeyRefresh, now: cfg.Now}
		}
	}
	if cfg.GitHubIssuer != "" {
		s.github = strings.TrimSuffix(cfg.GitHubIssuer, "/")
		add(s.github)
	}
	for _, u := range cfg.GitLabIssuers {
		s.gitlab[strings.TrimSuffix(u, "/")] = true
		add(u)
	}
	return s
}

// Exchange checks a CI job's ID token and issues a trusted-publishing token
// for the crates of every configuration it matches. Every refusal is
// EINVALID (400) with the reason, as crates.io answers.
func (s *Service) Exchange(ctx context.Context, jwt string) (string, error) {
	jws, err := jose.ParseSigned(strings.TrimSpace(jwt), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", invalid("the JWT is not a valid RS256-signed token")
	}
	if len(jws.Signatures) != 1 {
		return "", invalid("the JWT must have exactly one signature")
	}
	var unverified struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return "", invalid("the JWT's claims are not valid JSON")
	}
	iss := strings.TrimSuffix(unverified.Issuer, "/")
	is := s.issuers[iss]
	if is == nil {
		return "", invalid("unsupported JWT issuer `%s`", unverified.Issuer)
	}
	payload, err := is.verify(ctx, jws)
	if err != nil {
		return "", err
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", invalid("the JWT's claims are not valid: %v", err)
	}
	now := s.cfg.Now()
	if err := c.checkCommon(s.cfg.Audience, now); err != nil {
		return "", err
	}
	var id *identity
	if iss == s.github {
		id, err = c.githubIdentity()
	} else {
		id, err = c.gitlabIdentity()
	}
	if err != nil {
		return "", err
	}
	configs, err := s.store.TrustPubConfigsByRepo(ctx, id.provider, iss, id.repoKey)
	if err != nil {
		return "", err
	}
	if len(configs) == 0 {
		return "", invalid("No Trusted Publishing config found for repository `%s`.", id.repoKey)
	}
	var matched []*crated.TrustPubConfig
	var why string
	for _, cfg := range configs {
		if m := id.mismatch(cfg); m != "" {
			why = m
			continue
		}
		matched = append(matched, cfg)
	}
	if len(matched) == 0 {
		return "", invalid("No matching Trusted Publishing config found for repository `%s`: %s", id.repoKey, why)
	}
	// Single use: recorded until the ID token could no longer pass the
	// expiry check anyway.
	if err := s.store.UseTrustPubJTI(ctx, iss+" "+c.ID, unix(*c.Expiry).Add(leeway), now); crated.IsCode(err, crated.ECONFLICT) {
		return "", invalid("JWT has already been used")
	} else if err != nil {
		return "", err
	}
	ids := make([]int64, 0, len(matched))
	for _, cfg := range matched {
		if cfg.OwnerID == "" {
			// The owner id is pinned on first use: crated cannot ask the
			// provider's API for it when the configuration is made.
			if err := s.store.PinTrustPubOwnerID(ctx, cfg.ID, id.ownerID); crated.IsCode(err, crated.ECONFLICT) {
				continue
			} else if err != nil && !crated.IsCode(err, crated.ENOTFOUND) {
				return "", err
			}
		}
		ids = append(ids, cfg.ID)
	}
	token := registry.TrustedTokenPrefix + randomAlnum(registry.TrustedTokenLength)
	t := &crated.TrustPubToken{Hash: registry.HashToken(token), ConfigIDs: ids, Publisher: id.publisher, ExpiresAt: now.Add(TokenLifetime)}
	if err := s.store.PutTrustPubToken(ctx, t); err != nil {
		return "", err
	}
	s.cfg.Logger.InfoContext(ctx, "trusted publishing token issued", "publisher", id.publisher, "configs", len(ids))
	return token, nil
}

// Authenticate resolves a trusted-publishing token (from an Authorization
// header) to its grant, and to the user it acts for in logs and rate limits
// (the creator of its first configuration). EFORBIDDEN when the token is
// unknown, revoked or expired.
func (s *Service) Authenticate(ctx context.Context, header string) (*registry.TrustedGrant, *crated.User, error) {
	token, ok := registry.TrustedToken(header)
	if !ok {
		return nil, nil, crated.Errorf(crated.EFORBIDDEN, "Invalid authentication token")
	}
	t, err := s.store.TrustPubTokenByHash(ctx, registry.HashToken(token), s.cfg.Now())
	if crated.IsCode(err, crated.ENOTFOUND) {
		return nil, nil, crated.Errorf(crated.EFORBIDDEN, "Invalid authentication token")
	} else if err != nil {
		return nil, nil, err
	}
	g := &registry.TrustedGrant{Crates: map[string]int64{}, Publisher: t.Publisher}
	var first int64
	for _, id := range t.ConfigIDs {
		cfg, err := s.store.TrustPubConfig(ctx, id)
		if crated.IsCode(err, crated.ENOTFOUND) {
			continue // deleted since: it no longer grants anything
		} else if err != nil {
			return nil, nil, err
		}
		g.Crates[cfg.CrateCanon] = cfg.CreatedBy
		if first == 0 {
			first = cfg.CreatedBy
		}
	}
	if first == 0 {
		return nil, nil, crated.Errorf(crated.EFORBIDDEN, "the trusted publishing configurations of this token have been deleted")
	}
	u, err := s.store.UserByID(ctx, first)
	if crated.IsCode(err, crated.ENOTFOUND) {
		return nil, nil, crated.Errorf(crated.EFORBIDDEN, "Invalid authentication token")
	}
	return g, u, err
}

// Revoke deletes the token in an Authorization header.
func (s *Service) Revoke(ctx context.Context, header string) error {
	token, ok := registry.TrustedToken(header)
	if !ok {
		return crated.Errorf(crated.EFORBIDDEN, "Invalid authentication token")
	}
	err := s.store.DeleteTrustPubToken(ctx, registry.HashToken(token), s.cfg.Now())
	if crated.IsCode(err, crated.ENOTFOUND) {
		return crated.Errorf(crated.EFORBIDDEN, "Invalid authentication token")
	}
	return err
}

// CheckOrdinaryPublish refuses an ordinary token's publish of a
// trusted-publishing-only crate, and of a name that another user's pending
// publisher reserves.
func (s *Service) CheckOrdinaryPublish(ctx context.Context, u *crated.User, canon string, c *crated.Crate) error {
	if c != nil {
		only, err := s.store.TrustPubOnly(ctx, c.ID)
		if err != nil {
			return err
		}
		if only {
			return crated.Errorf(crated.EFORBIDDEN, "crate `%s` can only be published through trusted publishing (its owners turned on trustpub_only): publish it from its configured CI workflow", c.Name)
		}
		return nil
	}
	configs, err := s.store.TrustPubConfigsByCrate(ctx, canon)
	if err != nil {
		return err
	}
	for _, cfg := range configs {
		if cfg.CreatedBy != u.ID {
			return crated.Errorf(crated.EFORBIDDEN, "the crate name `%s` is reserved by a pending trusted publisher of another user: only its CI workflow can publish it first", cfg.Crate)
		}
	}
	return nil
}

// TrustedPublished records a trusted publish in the audit log, with the CI
// job as the way the publisher authenticated.
func (s *Service) TrustedPublished(ctx context.Context, g *registry.TrustedGrant, name, vers string) {
	uid := g.Crates[canonical(name)]
	s.audit(ctx, uid, "trustpub_publish", name, vers, g.Publisher)
}

// audit is trusted publishing's one way into the audit log. A failure is
// logged, not returned: the change it records is already committed.
func (s *Service) audit(ctx context.Context, userID int64, action, crate, vers, detail string) {
	e := &crated.AuditEntry{UserID: userID, Action: action, Crate: crate, Version: vers, Detail: detail}
	if action == "trustpub_publish" {
		// No API token was used: the CI job is how the publisher proved
		// who it was.
		ctx = crated.WithActor(ctx, &crated.Actor{UserID: userID, Auth: crated.AuthTrustedPublishing, AuthDetail: detail})
	}
	if err := s.store.RecordAudit(ctx, e); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "audit entry not recorded", "action", action, "crate", crate, "err", err)
	}
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum returns n random alphanumerics (5.95 bits each).
func randomAlnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[randIntn(len(alnum))]
	}
	return string(b)
}

func randIntn(n int) int {
	// Rejection sampling keeps the draw uniform over the n characters.
	var one [1]byte
	for {
		if _, err := rand.Read(one[:]); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		if int(one[0]) < 256/n*n {
			return int(one[0]) % n
		}
	}
}
