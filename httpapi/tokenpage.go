package httpapi

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/registry"
)

// The browser pages for API tokens and a crate's audit log.
//
// crated has no browser session: cargo tokens are its only credential. So
// the pages ask for a token once and keep it in a cookie that is HttpOnly
// (no script reads it; the pages have none anyway), SameSite=Strict (no
// other site's page or link sends it), Secure on https, limited to the
// /me/ pages and to uiTokenLife. Every form posts to the same origin,
// which the crossOrigin middleware enforces for each POST as well. A new
// token's value is written once into the answer to the POST that created
// it, never into a URL, a cookie or a log.

// uiCookie names the cookie holding the token the pages act with.
const uiCookie = "crated_ui_token"

// uiTokenLife is how long the pages remember the token.
const uiTokenLife = 15 * time.Minute

var tokenPage = template.Must(template.New("tokens").Funcs(template.FuncMap{
	// ptr lets a time.Time use the *time.Time formatter.
	"ptr": func(t time.Time) *time.Time { return &t },
	"when": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"scopes": func(s []string, all string) string {
		if s == nil {
			return all
		}
		if len(s) == 0 {
			return "none (read-only)"
		}
		return strings.Join(s, ", ")
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crated: {{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
input[type=text],input[type=password],input[type=number]{padding:.3rem;width:100%;box-sizing:border-box;margin:.2rem 0 .8rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}
pre{background:#f4f4f4;padding:1rem;overflow-x:auto}.err{color:#a00}form.inline{display:inline}fieldset{margin:.5rem 0 1rem}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
{{if not .User}}
<p>These pages act with one of your cargo tokens. Paste a token without scopes (from <a href="/me">/me</a>); it is kept
for {{.Minutes}} minutes in a cookie that only these pages receive.</p>
<form method="post" action="/me/tokens"><input type="hidden" name="op" value="signin">
<input type="hidden" name="next" value="{{.Next}}">
<label>Token<input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Continue</button></form>
{{else}}
<p>Acting as <b>{{.User}}</b>. <form class="inline" method="post" action="/me/tokens"><input type="hidden" name="op" value="forget"><button type="submit">Forget my token</button></form></p>
{{if .Audit}}
<table><tr><th>Time</th><th>Action</th><th>Actor</th><th>Version</th><th>Detail</th><th>Authenticated by</th><th>Client</th></tr>
{{range .Audit}}<tr><td>{{.Time.UTC.Format "2006-01-02 15:04:05"}}</td><td>{{.Action}}</td><td>{{.Actor}}</td><td>{{.Version}}</td><td>{{.Detail}}</td>
<td>{{.Auth}}{{if .TokenID}} token {{.TokenID}} “{{.TokenName}}”{{end}}{{if .AuthDetail}} {{.AuthDetail}}{{end}}</td><td>{{.Client}}</td></tr>{{end}}
</table>
{{else if .TokensPage}}
{{if .NewToken}}<p>Your new token <b>{{.NewName}}</b>. Copy it now: it is not shown again.</p><pre>{{.NewToken}}</pre>{{end}}
<table><tr><th>Name</th><th>Endpoint scopes</th><th>Crate scopes</th><th>Created</th><th>Last used</th><th>Expires</th><th></th></tr>
{{range .Tokens}}<tr><td>{{.Name}}</td><td>{{scopes .EndpointScopes "all"}}</td><td>{{scopes .CrateScopes "all crates"}}</td>
<td>{{when (ptr .CreatedAt)}}</td><td>{{when .LastUsedAt}}</td><td>{{when .ExpiredAt}}</td>
<td><form method="post" action="/me/tokens"><input type="hidden" name="op" value="revoke"><input type="hidden" name="id" value="{{.ID}}">
<button type="submit">Revoke</button></form></td></tr>{{end}}
</table>
<h2>New token</h2>
<form method="post" action="/me/tokens"><input type="hidden" name="op" value="create">
<label>Name<input type="text" name="name" required maxlength="100"></label>
<fieldset><legend>What it may do (none checked: read-only, for builds on a private registry)</legend>
<label><input type="checkbox" name="scope" value="all"> everything (no endpoint scopes)</label><br>
<label><input type="checkbox" name="scope" value="publish-new"> publish new crates</label><br>
<label><input type="checkbox" name="scope" value="publish-update"> publish new versions of existing crates</label><br>
<label><input type="checkbox" name="scope" value="yank"> yank and unyank</label><br>
<label><input type="checkbox" name="scope" value="change-owners"> change owners</label></fieldset>
<label>Crates (names separated by spaces or commas, a trailing * matches a prefix; empty: all crates)<input type="text" name="crates"></label>
<label>Expires after days (empty: never)<input type="number" name="days" min="1" max="3650"></label>
<button type="submit">Create token</button></form>
{{end}}
{{end}}
</body></html>
`))

type tokenPageData struct {
	Title   string
	Error   string
	User    string
	Next    string
	Minutes int
	// TokensPage shows the token list and form (Tokens may be empty).
	TokensPage bool
	Tokens     []apiTokenJSON
	NewToken   string
	NewName    string
	Audit      []*crated.AuditEntry
}

func (s *Server) tokenPageRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /me/tokens", s.handle(s.handleTokensPage))
	m.HandleFunc("POST /me/tokens", s.handle(s.handleTokensForm))
	m.HandleFunc("GET /me/audit/{name}", s.handle(s.handleAuditPage))
}

func (s *Server) renderTokenPage(w http.ResponseWriter, status int, d tokenPageData) {
	d.Minutes = int(uiTokenLife / time.Minute)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	tokenPage.Execute(w, d)
}

// pageUser authenticates the cookie's token: ctx carries it as for the API.
// No cookie, or a token that no longer works, is no user (the page asks).
func (s *Server) pageUser(r *http.Request) (context.Context, *crated.User, error) {
	c, err := r.Cookie(uiCookie)
	if err != nil || c.Value == "" {
		return r.Context(), nil, nil
	}
	ctx, u, err := s.svc.Authorize(r.Context(), c.Value)
	if crated.IsCode(err, crated.EFORBIDDEN) || crated.IsCode(err, crated.EUNAUTHORIZED) {
		return r.Context(), nil, nil
	}
	return ctx, u, err
}

func (s *Server) setUICookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: value, Path: "/me/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.HasPrefix(s.cfg.BaseURL, "https:")})
}

func (s *Server) handleTokensPage(w http.ResponseWriter, r *http.Request) error {
	ctx, u, err := s.pageUser(r)
	if err != nil {
		return err
	}
	return s.showTokens(w, r.WithContext(ctx), u, tokenPageData{})
}

func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, u *crated.User, d tokenPageData) error {
	d.Title = "API tokens"
	if u == nil {
		d.Next = "/me/tokens"
		s.renderTokenPage(w, http.StatusOK, d)
		return nil
	}
	d.User, d.TokensPage = u.Login, true
	ts, err := s.svc.APITokens(r.Context(), u)
	if crated.IsCode(err, crated.EFORBIDDEN) {
		d.Error, d.User, d.TokensPage = crated.ErrorMessage(err), "", false
		s.setUICookie(w, r, "", -1)
		s.renderTokenPage(w, http.StatusForbidden, d)
		return nil
	} else if err != nil {
		return err
	}
	for _, t := range ts {
		d.Tokens = append(d.Tokens, tokenJSON(t))
	}
	s.renderTokenPage(w, http.StatusOK, d)
	return nil
}

func (s *Server) handleTokensForm(w http.ResponseWriter, r *http.Request) error {
	s.limitBodyTime(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := r.ParseForm(); err != nil {
		s.renderTokenPage(w, http.StatusBadRequest, tokenPageData{Title: "API tokens", Error: "The form could not be read."})
		return nil
	}
	f := r.PostForm
	switch f.Get("op") {
	case "signin":
		token := strings.TrimSpace(f.Get("token"))
		if _, _, err := s.svc.Authorize(r.Context(), token); err != nil {
			if Status(err) >= 500 {
				return err
			}
			s.renderTokenPage(w, Status(err), tokenPageData{Title: "API tokens", Next: f.Get("next"), Error: crated.ErrorMessage(err)})
			return nil
		}
		s.setUICookie(w, r, token, int(uiTokenLife/time.Second))
		next := f.Get("next")
		if !strings.HasPrefix(next, "/me/") || strings.HasPrefix(next, "//") {
			next = "/me/tokens"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	case "forget":
		s.setUICookie(w, r, "", -1)
		http.Redirect(w, r, "/me/tokens", http.StatusSeeOther)
		return nil
	}
	ctx, u, err := s.pageUser(r)
	if err != nil {
		return err
	}
	r = r.WithContext(ctx)
	if u == nil {
		return s.showTokens(w, r, nil, tokenPageData{Error: "Your token expired or was revoked: paste a token again."})
	}
	var d tokenPageData
	switch f.Get("op") {
	case "create":
		req, perr := tokenRequestFromForm(f)
		if perr != nil {
			d.Error = crated.ErrorMessage(perr)
			break
		}
		if err := limited(s.limits.token, clientKey(s.clientAddr(r)), "new tokens or logins from your address"); err != nil {
			d.Error = crated.ErrorMessage(err)
			break
		}
		value, t, err := s.svc.CreateAPIToken(r.Context(), u, req)
		if err != nil {
			if Status(err) >= 500 {
				return err
			}
			d.Error = crated.ErrorMessage(err)
			break
		}
		s.log.InfoContext(r.Context(), "token created", "user", u.Login, "token_id", t.ID, "token_name", t.Name)
		d.NewToken, d.NewName = value, t.Name
	case "revoke":
		id, _ := strconv.ParseInt(f.Get("id"), 10, 64)
		if err := s.svc.RevokeAPIToken(r.Context(), u, id); err != nil {
			if Status(err) >= 500 {
				return err
			}
			d.Error = crated.ErrorMessage(err)
			break
		}
		s.log.InfoContext(r.Context(), "token revoked", "user", u.Login, "token_id", id)
		http.Redirect(w, r, "/me/tokens", http.StatusSeeOther)
		return nil
	default:
		d.Error = "Unknown action."
	}
	return s.showTokens(w, r, u, d)
}

// tokenRequestFromForm reads the new-token form: no endpoint box checked
// is a read-only token, "all" is no endpoint scopes at all.
func tokenRequestFromForm(f url.Values) (registry.NewAPIToken, error) {
	req := registry.NewAPIToken{Name: strings.TrimSpace(f.Get("name")), EndpointScopes: []string{}}
	for _, sc := range f["scope"] {
		if sc == "all" {
			req.EndpointScopes = nil
			break
		}
		req.EndpointScopes = append(req.EndpointScopes, sc)
	}
	if crates := strings.Fields(strings.ReplaceAll(f.Get("crates"), ",", " ")); len(crates) > 0 {
		req.CrateScopes = crates
	}
	if days := strings.TrimSpace(f.Get("days")); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 3650 {
			return req, crated.Errorf(crated.EINVALID, "expiry: give a number of days from 1 to 3650, or nothing")
		}
		req.ExpiresAt = time.Now().Add(time.Duration(n) * 24 * time.Hour)
	}
	return req, nil
}

func (s *Server) handleAuditPage(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	d := tokenPageData{Title: "Audit log of " + name}
	ctx, u, err := s.pageUser(r)
	if err != nil {
		return err
	}
	if u == nil {
		d.Next = "/me/audit/" + url.PathEscape(name)
		s.renderTokenPage(w, http.StatusOK, d)
		return nil
	}
	d.User = u.Login
	es, err := s.svc.CrateAudit(ctx, u, name, maxAuditPage)
	if err != nil {
		if Status(err) >= 500 {
			return err
		}
		d.Error = crated.ErrorMessage(err)
		s.renderTokenPage(w, Status(err), d)
		return nil
	}
	if len(es) == 0 {
		d.Error = "No events recorded for this crate."
	}
	d.Audit = es
	s.renderTokenPage(w, http.StatusOK, d)
	return nil
}
