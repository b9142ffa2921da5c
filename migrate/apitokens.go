package migrate

import (
	"context"
	"time"

	"github.com/crated/crated"
)

// copyAPITokens gives the target user the source user's API tokens (same
// hash, name, scopes and expiry) that it does not have yet, so that CI
// jobs keep working after a move. Tokens the target has and the source
// does not are left alone. A copied token's creation is recorded in the
// target's audit log at the time of the copy.
func (c *copier) copyAPITokens(ctx context.Context, srcID, dstID int64) error {
	src, err := c.src.UserTokens(ctx, srcID)
	if err != nil {
		return err
	}
	dst, err := c.dst.UserTokens(ctx, dstID)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(dst))
	for _, t := range dst {
		have[t.Hash] = true
	}
	for _, st := range src {
		if st.Kind != crated.TokenAPI {
			continue
		}
		if have[st.Hash] {
			c.stats.TokensPresent++
			continue
		}
		c.at(st.CreatedAt, time.Now())
		if err := c.dst.CreateAPIToken(ctx, &crated.Token{UserID: dstID, Hash: st.Hash, Name: st.Name,
			CrateScopes: st.CrateScopes, EndpointScopes: st.EndpointScopes, ExpiresAt: st.ExpiresAt}); err != nil {
			return err
		}
		c.stats.TokensCopied++
	}
	return nil
}
