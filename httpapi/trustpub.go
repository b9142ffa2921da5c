package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/registry"
	"github.com/crated/crated/trustpub"
)

// Trusted publishing's API, as crates.io's: configurations under
// /api/v1/trusted_publishing/{github,gitlab}_configs, the token exchange
// and revocation under /api/v1/trusted_publishing/tokens, and the crate's
// "trustpub_only" switch through PATCH /api/v1/crates/{name}.

// publishAuthed authenticates a publish: a trusted-publishing token gives
// the request its grant (registry.WithTrustedGrant), which the publish
// authorizes by; any other token goes through authed.
func (s *Server) publishAuthed(fn authedFunc) http.HandlerFunc {
	ordinary := s.authed(fn)
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := registry.TrustedToken(r.Header.Get("Authorization")); !ok || s.cfg.TrustedPublishing == nil {
			ordinary(w, r)
			return
		}
		s.handle(func(w http.ResponseWriter, r *http.Request) error {
			g, u, err := s.cfg.TrustedPublishing.Authenticate(r.Context(), r.Header.Get("Authorization"))
			if err != nil {
				return err
			}
			return fn(w, r.WithContext(registry.WithTrustedGrant(r.Context(), g)), u)
		})(w, r)
	}
}

// trustedRead reports whether a private registry's read carries a valid
// trusted-publishing token: cargo publish sends the token it publishes with
// on its index requests (and its read pre-check), so the CI job must be
// able to read the registry it publishes to.
func (s *Server) trustedRead(r *http.Request) bool {
	if _, ok := registry.TrustedToken(r.Header.Get("Authorization")); !ok || s.cfg.TrustedPublishing == nil {
		return false
	}
	_, _, err := s.cfg.TrustedPublishing.Authenticate(r.Context(), r.Header.Get("Authorization"))
	return err == nil
}

// refuseTrustedToken gives a trusted-publishing token sent anywhere but to
// publish a clear refusal rather than "invalid token".
func refuseTrustedToken(r *http.Request) error {
	if _, ok := registry.TrustedToken(r.Header.Get("Authorization")); ok {
		return crated.Errorf(crated.EFORBIDDEN, "trusted publishing tokens can only publish new versions (`cargo publish`): use an API token for this")
	}
	return nil
}

func (s *Server) trustPub() (*trustpub.Service, error) {
	if s.cfg.TrustedPublishing == nil {
		return nil, crated.Errorf(crated.ENOTFOUND, "trusted publishing is not available on this registry")
	}
	return s.cfg.TrustedPublishing, nil
}

// githubConfigJSON and gitlabConfigJSON are crates.io's shapes.
type githubConfigJSON struct {
	ID                int64     `json:"id"`
	Crate             string    `json:"crate"`
	RepositoryOwner   string    `json:"repository_owner"`
	RepositoryOwnerID *int64    `json:"repository_owner_id"`
	RepositoryName    string    `json:"repository_name"`
	WorkflowFilename  string    `json:"workflow_filename"`
	Environment       *string   `json:"environment"`
	CreatedAt         time.Time `json:"created_at"`
}

type gitlabConfigJSON struct {
	ID               int64     `json:"id"`
	Crate            string    `json:"crate"`
	Namespace        string    `json:"namespace"`
	NamespaceID      *string   `json:"namespace_id"`
	Project          string    `json:"project"`
	WorkflowFilepath string    `json:"workflow_filepath"`
	Environment      *string   `json:"environment"`
	CreatedAt        time.Time `json:"created_at"`
	// Issuer is crated's: the GitLab instance (several may be trusted).
	Issuer string `json:"issuer"`
}

func configJSON(c *crated.TrustPubConfig) any {
	if c.Provider == crated.TrustPubGitLab {
		return gitlabConfigJSON{ID: c.ID, Crate: c.Crate, Namespace: c.Owner, NamespaceID: optional(c.OwnerID),
			Project: c.Project, WorkflowFilepath: c.Workflow, Environment: optional(c.Environment), CreatedAt: c.CreatedAt, Issuer: c.Issuer}
	}
	out := githubConfigJSON{ID: c.ID, Crate: c.Crate, RepositoryOwner: c.Owner, RepositoryName: c.Project,
		WorkflowFilename: c.Workflow, Environment: optional(c.Environment), CreatedAt: c.CreatedAt}
	if id, err := strconv.ParseInt(c.OwnerID, 10, 64); err == nil {
		out.RepositoryOwnerID = &id
	}
	return out
}

// handleTrustPubCreate is POST /api/v1/trusted_publishing/{provider}_configs.
func (s *Server) handleTrustPubCreate(provider string) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, u *crated.User) error {
		tp, err := s.trustPub()
		if err != nil {
			return err
		}
		in := trustpub.NewConfig{Provider: provider}
		if provider == crated.TrustPubGitHub {
			var body struct {
				C *struct {
					Crate            string  `json:"crate"`
					RepositoryOwner  string  `json:"repository_owner"`
					RepositoryName   string  `json:"repository_name"`
					WorkflowFilename string  `json:"workflow_filename"`
					Environment      *string `json:"environment"`
				} `json:"github_config"`
			}
			if err := s.decodeJSON(w, r, &body); err != nil {
				return err
			}
			if body.C == nil {
				return crated.Errorf(crated.EINVALID, "the request body needs a `github_config` object")
			}
			in.Crate, in.Owner, in.Project, in.Workflow = body.C.Crate, body.C.RepositoryOwner, body.C.RepositoryName, body.C.WorkflowFilename
			if body.C.Environment != nil {
				in.Environment = *body.C.Environment
			}
		} else {
			var body struct {
				C *struct {
					Crate            string  `json:"crate"`
					Namespace        string  `json:"namespace"`
					Project          string  `json:"project"`
					WorkflowFilepath string  `json:"workflow_filepath"`
					Environment      *string `json:"environment"`
					Issuer           string  `json:"issuer"`
				} `json:"gitlab_config"`
			}
			if err := s.decodeJSON(w, r, &body); err != nil {
				return err
			}
			if body.C == nil {
				return crated.Errorf(crated.EINVALID, "the request body needs a `gitlab_config` object")
			}
			in.Crate, in.Owner, in.Project, in.Workflow, in.Issuer = body.C.Crate, body.C.Namespace, body.C.Project, body.C.WorkflowFilepath, body.C.Issuer
			if body.C.Environment != nil {
				in.Environment = *body.C.Environment
			}
		}
		c, err := tp.CreateConfig(r.Context(), u, in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{provider + "_config": configJSON(c)})
		return nil
	}
}

// handleTrustPubList is GET /api/v1/trusted_publishing/{provider}_configs?crate=NAME.
func (s *Server) handleTrustPubList(provider string) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, u *crated.User) error {
		tp, err := s.trustPub()
		if err != nil {
			return err
		}
		cs, err := tp.Configs(r.Context(), u, provider, r.URL.Query().Get("crate"))
		if err != nil {
			return err
		}
		list := make([]any, 0, len(cs))
		for _, c := range cs {
			list = append(list, configJSON(c))
		}
		writeJSON(w, http.StatusOK, map[string]any{
			provider + "_configs": list,
			"meta":                map[string]any{"total": len(list), "next_page": nil},
		})
		return nil
	}
}

// handleTrustPubDelete is DELETE /api/v1/trusted_publishing/{provider}_configs/{id}.
func (s *Server) handleTrustPubDelete(provider string) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, u *crated.User) error {
		tp, err := s.trustPub()
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return crated.Errorf(crated.ENOTFOUND, "trusted publishing configuration %q does not exist", r.PathValue("id"))
		}
		if err := tp.DeleteConfig(r.Context(), u, provider, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// handleTrustPubExchange is POST /api/v1/trusted_publishing/tokens: a CI
// job's ID token in, a publish token out. It creates rows, so it shares the
// token-creation rate limit.
func (s *Server) handleTrustPubExchange(w http.ResponseWriter, r *http.Request) error {
	tp, err := s.trustPub()
	if err != nil {
		return err
	}
	if err := limited(s.limits.token, clientKey(s.clientAddr(r)), "token requests from your address"); err != nil {
		return err
	}
	var body struct {
		JWT string `json:"jwt"`
	}
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.JWT == "" {
		return crated.Errorf(crated.EINVALID, "the request body needs a `jwt`")
	}
	token, err := tp.Exchange(r.Context(), body.JWT)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenResponse{Token: token})
	return nil
}

// handleTrustPubRevoke is DELETE /api/v1/trusted_publishing/tokens with
// Authorization: Bearer TOKEN.
func (s *Server) handleTrustPubRevoke(w http.ResponseWriter, r *http.Request) error {
	tp, err := s.trustPub()
	if err != nil {
		return err
	}
	if err := tp.Revoke(r.Context(), r.Header.Get("Authorization")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleCratePatch is PATCH /api/v1/crates/{name} with
// {"crate": {"trustpub_only": bool}}, as crates.io; owners only.
func (s *Server) handleCratePatch(w http.ResponseWriter, r *http.Request, u *crated.User) error {
	tp, err := s.trustPub()
	if err != nil {
		return err
	}
	var body struct {
		Crate *struct {
			TrustpubOnly *bool `json:"trustpub_only"`
		} `json:"crate"`
	}
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Crate == nil || body.Crate.TrustpubOnly == nil {
		return crated.Errorf(crated.EINVALID, "the request body needs `crate.trustpub_only` (true or false)")
	}
	c, err := tp.SetTrustedOnly(r.Context(), u, r.PathValue("name"), *body.Crate.TrustpubOnly)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"crate": map[string]any{"id": c.Name, "name": c.Name, "trustpub_only": *body.Crate.TrustpubOnly}})
	return nil
}
