// Package web is the browser UI of crated: server-rendered pages over the
// registry service's reads for people looking for a crate, how to depend on it and how
// to set cargo up for the registry.
//
// Everything the pages need is embedded: templates (html/template, which
// escapes every value) and one stylesheet. The pages use no JavaScript and
// no external asset, so the Content-Security-Policy can forbid both; README
// images from https URLs are the only thing loaded from elsewhere.
//
// The UI only reads. It never handles credentials: a browser carries no
// cargo token, so when the registry requires authentication for reads the
// pages show a notice instead of crate data.
package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/httpapi"
)

// Registry is the registry service's reads the pages use
// (*registry.Service): the UI reads through the service, so that a page
// resolves names and searches by the same rules as cargo's API.
type Registry interface {
	Search(ctx context.Context, q string, page, perPage int) ([]*crated.Crate, int, error)
	CrateVersions(ctx context.Context, name string) (*crated.Crate, []*crated.Version, error)
	Owners(ctx context.Context, name string) ([]*crated.User, error)
	Publishers(ctx context.Context, ids []int64) (map[int64]*crated.User, error)
	CountCrates(ctx context.Context) (crates, versions int64, err error)
	RecentCrates(ctx context.Context, n int) ([]*crated.Crate, error)
	PopularCrates(ctx context.Context, n int) ([]*crated.Crate, error)
	UserCrates(ctx context.Context, login string) (*crated.User, []*crated.Crate, error)
}

// Config is what the UI needs to know about the registry it shows.
type Config struct {
	// BaseURL is the external URL of the registry, without a trailing
	// slash. When empty, the pages derive it from each request's Host.
	BaseURL string
	// RegistryName is the name suggested in cargo configuration snippets;
	// "crated" when empty.
	RegistryName string
	// AuthRequired marks a private registry: pages show a notice and no
	// crate data, since browsers carry no cargo token.
	AuthRequired bool
	// OpenIDLogin changes the wording of the login link: with OpenID the
	// token page goes through the identity provider.
	OpenIDLogin bool
}

// UI serves the browser pages.
type UI struct {
	reg    Registry
	cfg    Config
	log    *slog.Logger
	prefix string // path of BaseURL, prepended to every link
	pages  map[string]*template.Template
	static *staticFiles
	readme *readmeRenderer
}

// Page sizes.
const (
	searchPageSize = 20
	homeListSize   = 10
)

// securityHeaders are sent with every response of the UI.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' https: data:",
	"X-Content-Type-Options":  "nosniff",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "same-origin",
}

// New returns the UI over the registry's reads. log receives errors that the
// pages hide from the user.
func New(reg Registry, cfg Config, log *slog.Logger) *UI {
	if cfg.RegistryName == "" {
		cfg.RegistryName = "crated"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ui := &UI{
		reg:    reg,
		cfg:    cfg,
		log:    log,
		static: loadStatic(),
		readme: newReadmeRenderer(),
	}
	if u, err := url.Parse(cfg.BaseURL); err == nil {
		ui.prefix = strings.TrimRight(u.EscapedPath(), "/")
	}
	ui.pages = parseTemplates(ui.funcs())
	return ui
}

// Routes registers the UI's pages on mux. It registers nothing else: the
// cargo API, the index, login and operations endpoints belong to other
// packages.
func (ui *UI) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", ui.handle(ui.handleHome))
	mux.HandleFunc("GET /search", ui.handle(ui.private(ui.handleSearch)))
	mux.HandleFunc("GET /crates/{name}", ui.handle(ui.private(ui.handleCrate)))
	mux.HandleFunc("GET /crates/{name}/{version}", ui.handle(ui.private(ui.handleCrate)))
	mux.HandleFunc("GET /users/{login}", ui.handle(ui.private(ui.handleUser)))
	mux.HandleFunc("GET /static/{file...}", ui.handleStatic)
	mux.HandleFunc("GET /favicon.ico", ui.handleFavicon)
}

// handlerFunc is a page handler. It writes the page on success and returns
// an error otherwise; handle turns the error into an error page.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a page handler: it sets the security headers and renders
// errors with the status httpapi.Status gives them, as the API would. Only
// client errors (4xx) show their message; anything else is logged and
// shown as a generic page.
func (ui *UI) handle(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		err := fn(w, r)
		if err == nil {
			return
		}
		if r.Context().Err() != nil {
			// The client went away: nobody reads the page and the error
			// is the cancellation, not a failure of the registry.
			ui.log.DebugContext(r.Context(), "web: request canceled", "path", r.URL.Path, "err", err)
			return
		}
		p := errorPage{common: ui.common(r, ""), Status: httpapi.Status(err)}
		switch {
		case p.Status == http.StatusNotFound:
			p.Title, p.Message = "Not found", crated.ErrorMessage(err)
			ui.log.DebugContext(r.Context(), "web: not found", "path", r.URL.Path, "err", err)
		case p.Status < 500:
			p.Title, p.Message = http.StatusText(p.Status), crated.ErrorMessage(err)
			ui.log.DebugContext(r.Context(), "web: refused", "path", r.URL.Path, "status", p.Status, "err", err)
		case p.Status == http.StatusServiceUnavailable:
			p.Title = "Temporarily unavailable"
			p.Message = "The registry is busy or cannot reach its database. Please try again in a moment."
			ui.log.WarnContext(r.Context(), "web: page unavailable", "path", r.URL.Path, "err", err)
		default:
			p.Title = "Something went wrong"
			p.Message = "The page could not be shown. Please try again later."
			ui.log.ErrorContext(r.Context(), "web: page failed", "path", r.URL.Path, "status", p.Status, "err", err)
		}
		ui.render(w, r, p.Status, "error", p)
	}
}

// private replaces a page of crate data by the private-registry notice when
// reads need a token.
func (ui *UI) private(fn handlerFunc) handlerFunc {
	if !ui.cfg.AuthRequired {
		return fn
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		ui.render(w, r, http.StatusForbidden, "private", privatePage{common: ui.common(r, "Private registry")})
		return nil
	}
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
}

// render executes the named page into a buffer first, so that a template
// failure becomes a clean error page instead of half a page.
func (ui *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := ui.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		ui.log.ErrorContext(r.Context(), "web: template failed", "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "internal error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		// Pages with a secret set no-store before.
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// common is the part of every page the layout uses.
type common struct {
	Site  site
	Title string
	// Query fills the search box of the header.
	Query string
	// HideSearch drops the header's search box from pages that have a
	// bigger one.
	HideSearch bool
}

// site describes the registry to the templates.
type site struct {
	Name      string // registry name for cargo snippets
	BaseURL   string
	Private   bool
	LoginURL  string
	LoginText string // the header link
	LoginHint string // how the token page logs people in
	CSSURL    string
	IconURL   string
}

func (ui *UI) common(r *http.Request, title string) common {
	base := ui.baseURL(r)
	login, hint := "Log in", "log in with your registry user name and password"
	if ui.cfg.OpenIDLogin {
		login, hint = "Log in with SSO", "log in through your organization's identity provider"
	}
	return common{
		Site: site{
			Name:      ui.cfg.RegistryName,
			BaseURL:   base,
			Private:   ui.cfg.AuthRequired,
			LoginURL:  ui.prefix + "/me",
			LoginText: login,
			LoginHint: hint,
			CSSURL:    ui.static.url(ui.prefix, "style.css"),
			IconURL:   ui.static.url(ui.prefix, "icon.svg"),
		},
		Title: title,
	}
}

// baseURL is the configured external URL, or one guessed from the request
// when none is configured (a development server).
func (ui *UI) baseURL(r *http.Request) string {
	if ui.cfg.BaseURL != "" {
		return ui.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// errorPage is shown for 4xx and 5xx answers.
type errorPage struct {
	common
	Status  int
	Message string
}

// privatePage is the notice shown instead of crate data on a private
// registry.
type privatePage struct {
	common
}
