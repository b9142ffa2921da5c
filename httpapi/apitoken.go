package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/registry"
)

// tokenRoutes are crates.io's token API and the crate audit log. They
// authenticate with a token only: crated has no browser session (the web
// page /me/tokens sends the token the user pastes, from JavaScript).
func (s *Server) tokenRoutes(m *http.ServeMux) {
	m.HandleFunc("PUT /api/v1/me/tokens", s.authed(s.handleTokenCreate))
	m.HandleFunc("GET /api/v1/me/tokens", s.authed(s.handleTokenList))
	m.HandleFunc("DELETE /api/v1/me/tokens/{id}", s.authed(s.handleTokenRevoke))
	m.HandleFunc("GET /api/v1/crates/{name}/audit", s.authed(s.handleCrateAudit))
	s.tokenPageRoutes(m) // tokenpage.go
}

// apiTokenJSON is crates.io's token shape; Token is set only in the answer
// to the creation.
type apiTokenJSON struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	Token          string     `json:"token,omitempty"`
	Kind           string     `json:"kind"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	ExpiredAt      *time.Time `json:"expired_at"`
	CrateScopes    []string   `json:"crate_scopes"`
	EndpointScopes []string   `json:"endpoint_scopes"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func tokenJSON(t *crated.Token) apiTokenJSON {
	kind, name := t.Kind, t.Name
	if kind == "" {
		kind = crated.TokenLogin
	}
	if kind == crated.TokenLogin && name == "" {
		name = "login token (/me)"
	}
	return apiTokenJSON{ID: t.ID, Name: name, Kind: kind, CreatedAt: t.CreatedAt.UTC(),
		LastUsedAt: timePtr(t.LastUsedAt), ExpiredAt: timePtr(t.ExpiresAt),
		CrateScopes: t.CrateScopes, EndpointScopes: t.EndpointScopes}
}

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request, u *crated.User) error {
	if err := limited(s.limits.token, clientKey(s.clientAddr(r)), "new tokens or logins from your address"); err != nil {
		return err
	}
	var body struct {
		APIToken *struct {
			Name           string     `json:"name"`
			CrateScopes    []string   `json:"crate_scopes"`
			EndpointScopes []string   `json:"endpoint_scopes"`
			ExpiredAt      *time.Time `json:"expired_at"`
		} `json:"api_token"`
	}
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.APIToken == nil {
		return crated.Errorf(crated.EINVALID, `expected {"api_token": {"name": ..., "crate_scopes": ..., "endpoint_scopes": ..., "expired_at": ...}}`)
	}
	req := registry.NewAPIToken{Name: body.APIToken.Name, CrateScopes: body.APIToken.CrateScopes,
		EndpointScopes: body.APIToken.EndpointScopes}
	if body.APIToken.ExpiredAt != nil {
		req.ExpiresAt = *body.APIToken.ExpiredAt
	}
	value, t, err := s.svc.CreateAPIToken(r.Context(), u, req)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "token created", "user", u.Login, "token_id", t.ID, "token_name", t.Name)
	out := tokenJSON(t)
	out.Token = value
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]apiTokenJSON{"api_token": out})
	return nil
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request, u *crated.User) error {
	ts, err := s.svc.APITokens(r.Context(), u)
	if err != nil {
		return err
	}
	out := make([]apiTokenJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenJSON(t))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string][]apiTokenJSON{"api_tokens": out})
	return nil
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request, u *crated.User) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return crated.Errorf(crated.ENOTFOUND, "no token with id %q", r.PathValue("id"))
	}
	if err := s.svc.RevokeAPIToken(r.Context(), u, id); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "token revoked", "user", u.Login, "token_id", id)
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// auditEventJSON is one entry of GET /api/v1/crates/{name}/audit.
type auditEventJSON struct {
	Time       time.Time `json:"time"`
	Action     string    `json:"action"`
	Actor      string    `json:"actor"`
	Version    string    `json:"version,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	Auth       string    `json:"auth,omitempty"`
	TokenID    int64     `json:"token_id,omitempty"`
	TokenName  string    `json:"token_name,omitempty"`
	AuthDetail string    `json:"auth_detail,omitempty"`
	Client     string    `json:"client,omitempty"`
}

// maxAuditPage bounds one answer of the crate audit API.
const maxAuditPage = 1000

func (s *Server) handleCrateAudit(w http.ResponseWriter, r *http.Request, u *crated.User) error {
	limit, err := intParam(r.URL.Query().Get("limit"), 100)
	if err != nil {
		return err
	}
	if limit == 0 || limit > maxAuditPage {
		limit = maxAuditPage
	}
	es, err := s.svc.CrateAudit(r.Context(), u, r.PathValue("name"), limit)
	if err != nil {
		return err
	}
	out := make([]auditEventJSON, 0, len(es))
	for _, e := range es {
		out = append(out, auditEventJSON{Time: e.Time.UTC(), Action: e.Action, Actor: e.Actor, Version: e.Version,
			Detail: e.Detail, Auth: e.Auth, TokenID: e.TokenID, TokenName: e.TokenName, AuthDetail: e.AuthDetail, Client: e.Client})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string][]auditEventJSON{"events": out})
	return nil
}
