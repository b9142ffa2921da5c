package oidc

import (
	"net/url"
	"slices"

	"github.com/crated/crated"
)

// claims looks a claim up in userinfo first and in the ID token second:
// GitLab puts nickname and groups only in userinfo, other providers put
// some claims only in the ID token.
type claims []map[string]any

func (c claims) lookup(name string) (any, bool) {
	for _, m := range c {
		if v, ok := m[name]; ok && v != nil {
			return v, true
		}
	}
	return nil, false
}

// str returns a string claim, "" when it is absent or not a string.
func (c claims) str(name string) string {
	v, _ := c.lookup(name)
	s, _ := v.(string)
	return s
}

// list returns a claim that is a list of strings or a single string.
// Non-string members are skipped.
func (c claims) list(name string) []string {
	v, _ := c.lookup(name)
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// identity builds the user's identity from the verified claims.
func (l *Login) identity(issuer, subject string, c claims) *crated.Identity {
	username := c.str(l.cfg.UsernameClaim)
	if username == "" {
		username = c.str("preferred_username")
	}
	host := l.issuerHost
	if u, err := url.Parse(issuer); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return &crated.Identity{
		Issuer:     issuer,
		Subject:    subject,
		IssuerHost: host,
		Username:   username,
		Email:      c.str("email"),
		Name:       c.str("name"),
		Groups:     c.list(l.cfg.GroupsClaim),
	}
}

// allowed applies the allow lists as Ktra's book describes them: with both
// lists empty everyone may log in, otherwise the user needs one group in
// AuthorizedGroups or their user name in AuthorizedUsers. Matching is exact,
// as in Ktra (GitLab sends full group paths such as "firm/crate_owners").
func (l *Login) allowed(id *crated.Identity) bool {
	if len(l.cfg.AuthorizedGroups) == 0 && len(l.cfg.AuthorizedUsers) == 0 {
		return true
	}
	if slices.Contains(l.cfg.AuthorizedUsers, id.Username) {
		return true
	}
	for _, g := range id.Groups {
		if slices.Contains(l.cfg.AuthorizedGroups, g) {
			return true
		}
	}
	return false
}
