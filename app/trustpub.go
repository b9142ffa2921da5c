package app

import (
	"strings"

	"github.com/crated/crated/trustpub"
)

// openTrustPub starts trusted publishing ([trusted_publishing]) when the
// metadata store keeps its records (both stores do).
func (m *Main) openTrustPub() *trustpub.Service {
	ts, ok := m.Store.(trustpub.Store)
	if !ok {
		m.Logger.Warn("trusted publishing is off: the metadata store does not support it")
		return nil
	}
	c := m.Config.TrustedPublishing
	aud := c.Audience
	if aud == "" {
		// What crates-io-auth-action asks GitHub for: its `url` input
		// without the scheme.
		aud = m.URL
		if _, rest, ok := strings.Cut(aud, "://"); ok {
			aud = rest
		}
	}
	return trustpub.New(ts, trustpub.Config{
		GitHubIssuer:  c.GitHubIssuer,
		GitLabIssuers: c.GitLabIssuers,
		Audience:      aud,
		HTTPTimeout:   c.HTTPTimeout,
		Logger:        m.Logger,
	})
}
