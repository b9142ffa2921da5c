package registry

import (
	"context"

	"github.com/crated/crated"
)

// The reads of crates.io's API for tools beside cargo (Renovate,
// cargo-outdated, API clients). They resolve a crate by any spelling of its
// name, case and '-'/'_' alike, as crates.io's API does; the index, by
// contrast, answers only the file name cargo asks for.

// CrateVersions returns a crate and its versions in publish order.
func (s *Service) CrateVersions(ctx context.Context, name string) (*crated.Crate, []*crated.Version, error) {
	c, err := s.findCrate(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	vs, err := s.store.Versions(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	return c, vs, nil
}

// CrateVersion returns one version of a crate, by its exact string or by its
// semver without build metadata.
func (s *Service) CrateVersion(ctx context.Context, name, vers string) (*crated.Crate, *crated.Version, error) {
	c, err := s.findCrate(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.findVersion(ctx, c, vers)
	if err != nil {
		return nil, nil, err
	}
	return c, v, nil
}

// Publishers resolves the users who published versions, by id. A user that
// no longer exists is left out of the map.
func (s *Service) Publishers(ctx context.Context, ids []int64) (map[int64]*crated.User, error) {
	out := make(map[int64]*crated.User)
	seen := make(map[int64]bool)
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := s.store.UserByID(ctx, id)
		if crated.IsCode(err, crated.ENOTFOUND) {
			continue
		} else if err != nil {
			return nil, err
		}
		out[id] = u
	}
	return out, nil
}
