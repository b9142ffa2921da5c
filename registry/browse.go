package registry

import (
	"context"

	"github.com/crated/crated"
)

// The reads of the browser pages that the API does not have: the home
// page's listings and a user's crates.

// maxListing bounds the home page's listings: a page shows a handful.
const maxListing = 100

// CountCrates returns the number of crates and versions.
func (s *Service) CountCrates(ctx context.Context) (crates, versions int64, err error) {
	return s.store.CountCrates(ctx)
}

// RecentCrates lists the n crates with the most recently published
// versions, newest first.
func (s *Service) RecentCrates(ctx context.Context, n int) ([]*crated.Crate, error) {
	return s.store.RecentCrates(ctx, min(max(n, 1), maxListing))
}

// PopularCrates lists the n most downloaded crates.
func (s *Service) PopularCrates(ctx context.Context, n int) ([]*crated.Crate, error) {
	return s.store.PopularCrates(ctx, min(max(n, 1), maxListing))
}

// UserCrates returns a user, by exact login, and the crates they own, by
// name.
func (s *Service) UserCrates(ctx context.Context, login string) (*crated.User, []*crated.Crate, error) {
	if login == "" || len(login) > 256 {
		return nil, nil, crated.Errorf(crated.ENOTFOUND, "could not find user with login `%s`", login)
	}
	u, err := s.store.UserByLogin(ctx, login)
	if crated.IsCode(err, crated.ENOTFOUND) || crated.IsCode(err, crated.EINVALID) {
		// EINVALID: text the database cannot hold names nobody.
		return nil, nil, crated.Errorf(crated.ENOTFOUND, "could not find user with login `%s`", login)
	} else if err != nil {
		return nil, nil, err
	}
	cs, err := s.store.CratesOwnedBy(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	return u, cs, nil
}
