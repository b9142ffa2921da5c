package httpapi

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/crated/crated"
)

// Pages renders browser pages in the site's layout (web.UI does): the /me
// login pages and the 404 of a browser share the header, navigation and
// colours of the rest of the site. Without it (no UI mounted, package tests)
// the pages are bare.
type Pages interface {
	// Page writes content, already escaped HTML, inside the layout.
	Page(w http.ResponseWriter, r *http.Request, status int, title string, content template.HTML)
	// NotFound writes the 404 page.
	NotFound(w http.ResponseWriter, r *http.Request)
}

// mePage is the password-mode login page that `cargo login` points users
// to: it logs in with a name and password and shows the new token once.
var mePage = template.Must(template.New("me").Parse(`<section class="card">
{{- if .Token}}
<h1>Your cargo token</h1>
<p>Your new token (the previous one no longer works). Copy it now: it is not shown again.</p>
<pre class="token" id="token">{{.Token}}</pre>
<p>Then run:</p>
<pre class="snippet"><code id="login-command">cargo login --registry {{.Registry}}</code></pre>
<p>and paste the token when asked.</p>
{{- else}}
<h1>Log in to get a cargo token</h1>
{{- if .Error}}<p class="error-text" id="error">{{.Error}}</p>{{end}}
{{- if .Enabled}}
<form class="form" method="post" action="{{.Action}}">
<label>User name<input type="text" name="name" autocomplete="username" required value="{{.Name}}"></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in and create a new token</button>
</form>
<p class="muted">Logging in replaces your current token.</p>
{{- else}}
<p>Password login is disabled on this registry.</p>
{{- end}}
{{- end}}
</section>
`))

type mePageData struct {
	Enabled  bool
	Name     string
	Token    string
	Error    string
	Registry string
	Action   string
}

// mePolicy is the Content-Security-Policy of the login pages: the site's
// stylesheet and icon, a form that posts only here, no framing.
const mePolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) renderMe(w http.ResponseWriter, r *http.Request, status int, d mePageData) {
	d.Enabled = s.cfg.PasswordLogin
	d.Registry = s.cfg.RegistryName
	if d.Registry == "" {
		d.Registry = "crated"
	}
	d.Action = basePath(s.cfg.BaseURL) + "/me"
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", mePolicy)
	var buf bytes.Buffer
	if err := mePage.Execute(&buf, d); err != nil {
		s.writeError(w, r, err)
		return
	}
	title := "Log in"
	if d.Token != "" {
		title = "Your cargo token"
	}
	s.page(w, r, status, title, template.HTML(buf.String())) // escaped by mePage
}

// page writes content inside the site's layout, or bare without a UI.
func (s *Server) page(w http.ResponseWriter, r *http.Request, status int, title string, content template.HTML) {
	if s.cfg.Pages != nil {
		s.cfg.Pages.Page(w, r, status, title, content)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	bareLayout.Execute(w, struct {
		Title   string
		Content template.HTML
	}{title, content})
}

var bareLayout = template.Must(template.New("bare").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>{{.Content}}</main></body></html>
`))

// basePath is the path of the external URL ("" at the root): links and
// form actions carry it, as the web UI's do, for a registry served under a
// path of a proxy.
func basePath(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.EscapedPath(), "/")
}

func (s *Server) handleMePage(w http.ResponseWriter, r *http.Request) error {
	s.renderMe(w, r, http.StatusOK, mePageData{})
	return nil
}

func (s *Server) handleMeLogin(w http.ResponseWriter, r *http.Request) error {
	s.limitBodyTime(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := r.ParseForm(); err != nil {
		s.renderMe(w, r, http.StatusBadRequest, mePageData{Error: "The form could not be read."})
		return nil
	}
	name := r.PostForm.Get("name")
	token, err := s.svc.PasswordLogin(r.Context(), name, r.PostForm.Get("password"))
	if err != nil {
		if Status(err) >= 500 {
			s.log.ErrorContext(r.Context(), "login failed", "err", err)
		}
		s.renderMe(w, r, Status(err), mePageData{Name: name, Error: crated.ErrorMessage(err)})
		return nil
	}
	s.renderMe(w, r, http.StatusOK, mePageData{Token: token})
	return nil
}
