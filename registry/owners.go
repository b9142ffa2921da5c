package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/crated/crated"
)

// maxOwnersPerRequest matches crates.io's limit of logins per owners request.
const maxOwnersPerRequest = 10

// Owners lists a crate's owners.
func (s *Service) Owners(ctx context.Context, name string) ([]*crated.User, error) {
	c, err := s.findCrate(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.store.Owners(ctx, c.ID)
}

// AddOwners adds owners by login; only an owner may do it. It returns the
// message cargo prints after "Owner ".
func (s *Service) AddOwners(ctx context.Context, u *crated.User, name string, logins []string) (string, error) {
	c, users, err := s.ownerChange(ctx, u, name, logins)
	if err != nil {
		return "", err
	}
	if err := s.store.AddOwners(ctx, c.ID, ids(users), u.ID); err != nil {
		return "", err
	}
	s.notify(c.CanonName)
	return fmt.Sprintf("%s added as owner(s) of crate %s", joinLogins(users), c.Name), nil
}

// RemoveOwners removes owners by login; only an owner may do it, and the
// last owner cannot be removed.
func (s *Service) RemoveOwners(ctx context.Context, u *crated.User, name string, logins []string) (string, error) {
	c, users, err := s.ownerChange(ctx, u, name, logins)
	if err != nil {
		return "", err
	}
	if err := s.store.RemoveOwners(ctx, c.ID, ids(users), u.ID); err != nil {
		return "", err
	}
	s.notify(c.CanonName)
	return fmt.Sprintf("%s removed from the owners of crate %s", joinLogins(users), c.Name), nil
}

func (s *Service) ownerChange(ctx context.Context, u *crated.User, name string, logins []string) (*crated.Crate, []*crated.User, error) {
	c, err := s.findCrate(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if err := s.requireOwner(ctx, c, u); err != nil {
		return nil, nil, err
	}
	if err := requireScope(ctx, crated.ScopeChangeOwners, c.Name); err != nil {
		return nil, nil, err
	}
	// cargo 1.95 sends `--add a,b` as one login "a,b": split it here.
	var names []string
	for _, l := range logins {
		for _, n := range strings.Split(l, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, nil, crated.Errorf(crated.EINVALID, "no owner logins given")
	}
	if len(names) > maxOwnersPerRequest {
		return nil, nil, crated.Errorf(crated.EINVALID, "too many logins in one request (at most %d)", maxOwnersPerRequest)
	}
	users := make([]*crated.User, 0, len(names))
	for _, n := range names {
		ou, err := s.ResolveLogin(ctx, n)
		if err != nil {
			return nil, nil, err
		}
		users = append(users, ou)
	}
	return c, users, nil
}

// ResolveLogin finds a user by full login ("gitlab.com:alice",
// "ktra-secure-auth:bob") or by bare name when exactly one user has it. A
// login with ':' is a full login and matches only itself: were it also
// looked up as a bare name, an account whose provider name is "HOST:alice"
// would answer for `cargo owner --add HOST:alice` in place of alice.
func (s *Service) ResolveLogin(ctx context.Context, login string) (*crated.User, error) {
	if len(login) > 256 {
		return nil, crated.Errorf(crated.EINVALID, "login is too long")
	}
	users, err := s.store.UsersByName(ctx, login)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Login == login {
			return u, nil
		}
	}
	if strings.Contains(login, ":") {
		users = nil
	}
	switch len(users) {
	case 0:
		return nil, crated.Errorf(crated.ENOTFOUND, "could not find user with login `%s`", login)
	case 1:
		return users[0], nil
	}
	return nil, crated.Errorf(crated.EINVALID, "login `%s` is ambiguous: use one of %s", login, joinLogins(users))
}

func ids(users []*crated.User) []int64 {
	out := make([]int64, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func joinLogins(users []*crated.User) string {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = "`" + u.Login + "`"
	}
	return strings.Join(names, ", ")
}
