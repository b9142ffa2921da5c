package registry

import (
	"context"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// Trusted publishing's part in publish authorization. The tokens, the
// configurations and the OpenID checks live in package trustpub; the
// service only asks it the questions below, so that every publish passes
// through one authorization function (authorizePublish).

// TrustedTokenPrefix starts every trusted-publishing token, so that the
// token alone says which kind it is (as crates.io's "cio_tp_").
const TrustedTokenPrefix = "crated_tp_"

// TrustedTokenLength is the number of random alphanumerics after the
// prefix.
const TrustedTokenLength = 32

// TrustedToken returns the trusted-publishing token in an Authorization
// header value, raw or "Bearer TOKEN", and whether there is one. The shape
// is checked whole, not just the prefix: an ordinary token ("crated_" and
// 43 base64url characters) may begin with "crated_tp_" by chance, and must
// still be taken for what it is.
func TrustedToken(header string) (string, bool) {
	t := tokenFromHeader(header)
	rest, ok := strings.CutPrefix(t, TrustedTokenPrefix)
	if !ok || len(rest) != TrustedTokenLength {
		return t, false
	}
	for _, c := range []byte(rest) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return t, false
		}
	}
	return t, true
}

// TrustedGrant is what one trusted-publishing token allows: publishing the
// crates it names, and nothing else.
type TrustedGrant struct {
	// Crates maps each canonical crate name the token may publish to the
	// user recorded as its publisher: the creator of the matching config,
	// who also becomes the first owner of a crate that does not exist yet
	// (a pending publisher).
	Crates map[string]int64
	// Publisher describes the CI job, for the audit log and the logs.
	Publisher string
}

// PublishPolicy is trusted publishing's say in publishes (trustpub.Service).
type PublishPolicy interface {
	// CheckOrdinaryPublish is asked before u publishes crate canon with an
	// ordinary API token, after ownership: c is nil for a new crate.
	// EFORBIDDEN for a trusted-publishing-only crate or a name reserved by
	// another user's pending publisher.
	CheckOrdinaryPublish(ctx context.Context, u *crated.User, canon string, c *crated.Crate) error
	// TrustedPublished records, after the commit, a publish made with g.
	TrustedPublished(ctx context.Context, g *TrustedGrant, name, vers string)
}

type grantKey struct{}

// WithTrustedGrant marks ctx as a request authenticated by a
// trusted-publishing token: Publish then authorizes by g alone.
func WithTrustedGrant(ctx context.Context, g *TrustedGrant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

func trustedGrant(ctx context.Context) *TrustedGrant {
	g, _ := ctx.Value(grantKey{}).(*TrustedGrant)
	return g
}

// authorizePublish decides whether u may publish crate name (existing is nil
// for a new crate) and returns the user the version is recorded as
// published by, who is also the first owner of a new crate.
func (s *Service) authorizePublish(ctx context.Context, u *crated.User, name string, existing *crated.Crate) (*crated.User, error) {
	canon := cargo.CanonicalName(name)
	if g := trustedGrant(ctx); g != nil {
		uid, ok := g.Crates[canon]
		if !ok {
			return nil, crated.Errorf(crated.EFORBIDDEN, "The provided access token is not valid for crate `%s`", name)
		}
		pub, err := s.store.UserByID(ctx, uid)
		if crated.IsCode(err, crated.ENOTFOUND) {
			return nil, crated.Errorf(crated.EFORBIDDEN, "the user who configured trusted publishing for crate `%s` no longer exists", name)
		}
		return pub, err
	}
	if existing != nil {
		if err := s.requireOwner(ctx, existing, u); err != nil {
			return nil, err
		}
	}
	if s.cfg.Trusted != nil {
		if err := s.cfg.Trusted.CheckOrdinaryPublish(ctx, u, canon, existing); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// trustedPublished tells trusted publishing about a committed publish made
// with a grant.
func (s *Service) trustedPublished(ctx context.Context, name, vers string) {
	if g := trustedGrant(ctx); g != nil && s.cfg.Trusted != nil {
		s.cfg.Trusted.TrustedPublished(ctx, g, name, vers)
	}
}
