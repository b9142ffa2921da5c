package httpapi

import (
	"html/template"
	"net/http"

	"github.com/crated/crated"
)

// mePage is the password-mode login page that `cargo login` points users
// to: it logs in with a name and password and shows the new token once.
var mePage = template.Must(template.New("me").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crated: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
input{display:block;margin:.3rem 0 1rem;padding:.4rem;width:100%;box-sizing:border-box}
pre{background:#f4f4f4;padding:1rem;overflow-x:auto}.err{color:#a00}</style></head>
<body><h1>Log in to get a cargo token</h1>
{{if .Token}}<p>Your new token (the previous one no longer works). Copy it now: it is not shown again.</p>
<pre>{{.Token}}</pre>
<p>Then run:</p><pre>cargo login --registry {{.Registry}}</pre><p>and paste the token when asked.</p>
{{else}}{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
{{if .Enabled}}<form method="post" action="/me">
<label>User name<input name="name" autocomplete="username" required value="{{.Name}}"></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in and create a new token</button></form>
<p>Logging in replaces your current token.</p>
{{else}}<p>Password login is disabled on this registry.</p>{{end}}{{end}}
</body></html>
`))

type mePageData struct {
	Enabled  bool
	Name     string
	Token    string
	Error    string
	Registry string
}

func (s *Server) renderMe(w http.ResponseWriter, status int, d mePageData) {
	d.Enabled = s.cfg.PasswordLogin
	if d.Registry == "" {
		d.Registry = "NAME"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	mePage.Execute(w, d)
}

func (s *Server) handleMePage(w http.ResponseWriter, r *http.Request) error {
	s.renderMe(w, http.StatusOK, mePageData{})
	return nil
}

func (s *Server) handleMeLogin(w http.ResponseWriter, r *http.Request) error {
	s.limitBodyTime(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := r.ParseForm(); err != nil {
		s.renderMe(w, http.StatusBadRequest, mePageData{Error: "The form could not be read."})
		return nil
	}
	name := r.PostForm.Get("name")
	token, err := s.svc.PasswordLogin(r.Context(), name, r.PostForm.Get("password"))
	if err != nil {
		if Status(err) >= 500 {
			s.log.ErrorContext(r.Context(), "login failed", "err", err)
		}
		s.renderMe(w, Status(err), mePageData{Name: name, Error: crated.ErrorMessage(err)})
		return nil
	}
	s.renderMe(w, http.StatusOK, mePageData{Token: token})
	return nil
}
