package mirror

import (
	"context"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/index/sparse"
)

// PrivateIndex is the registry's own sparse index (index/sparse), which the
// combined index consults first.
type PrivateIndex interface {
	Crate(ctx context.Context, canon string) (*sparse.File, error)
}

// Combined serves the private crates and the mirrored ones as one index.
// A name whose canonical form belongs to a private crate is answered from
// private data only: the upstream's entry for it never appears, not even
// for another spelling (dependency-confusion protection). The decision is
// made on every request against the private index, whose cache every
// publish invalidates (on other replicas through the store's change
// notifications), so a name a private crate takes later stops being
// mirrored at once.
type Combined struct {
	private PrivateIndex
	mirror  *Mirror
}

// NewCombined returns the combined index.
func NewCombined(private PrivateIndex, mirror *Mirror) *Combined {
	return &Combined{private: private, mirror: mirror}
}

// IndexFile returns the file of lowerName: the private one when the name
// is private, else the mirror's.
func (c *Combined) IndexFile(ctx context.Context, lowerName string) (*File, error) {
	pf, private, err := c.privateFile(ctx, lowerName)
	if err != nil {
		return nil, err
	}
	if private {
		if pf == nil || strings.ToLower(pf.Name) != lowerName {
			// Another spelling of a private name: cargo asks for the
			// permutations itself and finds the private one.
			return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist", lowerName)
		}
		return &File{Body: pf.Body, ETag: pf.ETag}, nil
	}
	return c.mirror.IndexFile(ctx, lowerName)
}

// IsPrivate reports whether name (any spelling) belongs to a private crate.
func (c *Combined) IsPrivate(ctx context.Context, name string) (bool, error) {
	_, private, err := c.privateFile(ctx, name)
	return private, err
}

func (c *Combined) privateFile(ctx context.Context, name string) (*sparse.File, bool, error) {
	pf, err := c.private.Crate(ctx, cargo.CanonicalName(name))
	switch {
	case err == nil:
		return pf, true, nil
	case crated.IsCode(err, crated.ENOTFOUND):
		return nil, false, nil
	}
	// The store is down: never fall back to the upstream for a name that
	// may be private.
	return nil, false, err
}
