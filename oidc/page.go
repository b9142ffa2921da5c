package oidc

import (
	"bytes"
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/httpapi"
)

// wantsJSON reports whether the client asked for JSON rather than a page:
// `curl -H 'Accept: application/json'` does, browsers (text/html) do not.
func wantsJSON(r *http.Request) bool {
	json, html := false, false
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch mt {
		case "application/json":
			json = true
		case "text/html":
			html = true
		}
	}
	return json && !html
}

// noStore sets the headers of every page of the login: no page is cached
// and no token or state travels on in a Referer.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'")
}

// fail writes the error page. Internal errors are logged and shown as a
// generic text; all others carry a message written for the user.
func (l *Login) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := crated.ErrorCode(err)
	st := httpapi.Status(err) // the one table from the vocabulary to HTTP
	msg := crated.ErrorMessage(err)
	if st >= 500 {
		l.log.ErrorContext(r.Context(), "openid login failed", "status", st, "err", err)
		if code == crated.EINTERNAL {
			msg = "Something went wrong on the registry's side. The error has been logged; try again later or ask the registry's administrator."
		}
	} else {
		l.log.InfoContext(r.Context(), "openid login failed", "status", st, "err", msg)
	}
	noStore(w)
	if wantsJSON(r) {
		type detail struct {
			Detail string `json:"detail"`
		}
		writeJSON(w, st, struct {
			Errors []detail `json:"errors"`
		}{[]detail{{msg}}})
		return
	}
	l.render(w, r, st, page{Title: "Login failed", Message: msg, StartURL: l.base + "/me"})
}

// showResult writes the token: the JSON of Ktra for API clients, else a page
// that shows the JSON and how to hand the token to cargo.
func (l *Login) showResult(w http.ResponseWriter, r *http.Request, res *crated.LoginResult) {
	noStore(w)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, res)
		return
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		l.fail(w, r, err)
		return
	}
	token := res.ExistingToken
	if res.NewToken != "" {
		token = res.NewToken
	}
	l.render(w, r, http.StatusOK, page{
		Title:      "Logged in as " + res.Username,
		Registry:   l.cfg.RegistryName,
		Result:     true,
		Username:   res.Username,
		Token:      token,
		New:        res.NewToken != "",
		Revoked:    res.RevokedToken != "",
		JSON:       string(js),
		ReplaceURL: l.base + "/replace_token",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

type page struct {
	Title, Message, StartURL string

	Result           bool
	Username, Token  string
	New, Revoked     bool
	JSON, ReplaceURL string
	Registry         string
}

func (l *Login) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		l.log.ErrorContext(r.Context(), "openid login page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	content := template.HTML(buf.String()) // escaped by pageTemplate
	if l.cfg.Pages != nil {
		l.cfg.Pages.Page(w, r, status, p.Title, content)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	bareTemplate.Execute(w, struct {
		Title   string
		Content template.HTML
	}{p.Title, content})
}

// bareTemplate is the page around the content when no UI is mounted.
var bareTemplate = template.Must(template.New("bare").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
</head>
<body><main>{{.Content}}</main></body>
</html>
`))

// pageTemplate is html/template, so the provider's error text, the user
// name and the token are all escaped.
var pageTemplate = template.Must(template.New("page").Parse(`<section class="card">
{{- if .Result}}
<h1>Logged in as {{.Username}}</h1>
{{- if .New}}
<p>A new token was issued for you{{if .Revoked}}; your previous token no longer works{{end}}.</p>
{{- else}}
<p>You already have a token; here it is again.</p>
{{- end}}
<p>Your token:</p>
<pre id="token">{{.Token}}</pre>
{{- if .Registry}}
<p>Run</p>
<pre class="snippet"><code id="login-command">cargo login --registry {{.Registry}}</code></pre>
<p>and paste the token when cargo asks for it.</p>
{{- else}}
<p>Run <code>cargo login --registry &lt;name&gt;</code>, where <code>&lt;name&gt;</code> is this
registry's name in your Cargo configuration (or plain <code>cargo login</code> if it is your default
registry), and paste the token when cargo asks for it.</p>
{{- end}}
<p>The registry's answer:</p>
<pre id="result">{{.JSON}}</pre>
<p>If this token leaked, <a href="{{.ReplaceURL}}">get a new one</a>: that revokes this one at once.</p>
{{- else}}
<h1>{{.Title}}</h1>
<p id="message" class="error-text">{{.Message}}</p>
<p><a href="{{.StartURL}}">Log in again</a></p>
{{- end}}
</section>
`))
