package httpapi

import (
	"net/http"
	"net/url"

	"github.com/crated/crated"
)

// crossOrigin refuses state-changing requests that a browser sends from
// another site: without it, a page elsewhere could post the /me password
// form with the attacker's name and password, log the victim's browser in
// as the attacker and show the attacker's token, which the victim would
// then give to cargo and publish into the attacker's account.
//
// It uses net/http's CrossOriginProtection: GET, HEAD and OPTIONS pass
// (they change nothing here); other methods pass when Sec-Fetch-Site says
// same-origin or none (a user-typed navigation), or, from older browsers
// without Sec-Fetch-Site, when Origin names this host or base_url. A
// request with neither header passes: every browser of the last years sends
// at least one of them on a cross-site POST, and cargo, curl and CI scripts
// send neither, so refusing those would break every non-browser client
// while protecting no browser. Being one middleware in front of every
// route, it covers any form added later in web/, oidc/ or here.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		// Behind a proxy that rewrites Host, Origin still names base_url.
		_ = cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			s.writeError(w, r, crated.Errorf(crated.EFORBIDDEN,
				"cross-site request refused: %s %s must come from the registry's own pages (%s), not from another site", r.Method, r.URL.Path, s.cfg.BaseURL))
			return
		}
		next.ServeHTTP(w, r)
	})
}
