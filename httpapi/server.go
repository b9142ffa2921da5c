// Package httpapi is crated's HTTP layer: routes, middleware and the
// handlers of the sparse index, cargo's web API, downloads, Ktra's password
// API and operations endpoints. Handlers return errors; one adapter renders
// them.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/index/sparse"
	"github.com/crated/crated/registry"
	"github.com/crated/crated/trustpub"
)

// Config holds the HTTP layer's plain settings.
type Config struct {
	// BaseURL is the external URL of the registry, without trailing slash.
	BaseURL string
	// DLPath is Ktra's download path prefix, as segments (default ["dl"]).
	DLPath []string
	// AuthRequired makes every read need a token too (private registry).
	AuthRequired bool
	// PasswordLogin serves Ktra's password API and the password /me page.
	PasswordLogin bool
	// OpenIDLogin means /me and /replace_token belong to the OpenID login.
	OpenIDLogin bool
	// Checks are what /readyz looks at.
	Checks []ReadyCheck
	// RegistryName is the name the /me page tells `cargo login --registry`.
	RegistryName string
	// Pages renders the /me pages and a browser's 404 in the site's layout.
	Pages Pages

	// ReadTimeout is the server's read_timeout (0: none); small bodies get
	// a shorter deadline than a long one.
	ReadTimeout time.Duration
	// SpoolDir holds publish bodies larger than spoolMemory while they
	// arrive; "" is the system's temporary directory.
	SpoolDir string

	// MetricsToken, when set, is the bearer token /metrics needs.
	MetricsToken string
	// MetricsElsewhere means /metrics is served on a listener of its own
	// (MetricsHandler): the main one answers 404.
	MetricsElsewhere bool

	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Rate limits, requests per minute per client (0: none): password
	// logins, token and pending-login creation, publishes (also per user).
	LoginRateLimit, TokenRateLimit, PublishRateLimit int

	// TrustedPublishing serves trusted publishing (trustpub.go); nil: off.
	TrustedPublishing *trustpub.Service
}

// Server is the HTTP API.
type Server struct {
	svc   *registry.Service
	index *sparse.Index
	blobs crated.BlobStore
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux

	configJSON []byte
	configETag string

	metrics *metrics
	limits  limits

	dlMu      sync.Mutex
	downloads map[int64]int64
	crates    *crateCache
}

// New builds the server and its routes.
func New(svc *registry.Service, index *sparse.Index, blobs crated.BlobStore, cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(LogHandler(log.Handler()))
	if len(cfg.DLPath) == 0 {
		cfg.DLPath = []string{"dl"}
	}
	s := &Server{svc: svc, index: index, blobs: blobs, cfg: cfg, log: log, mux: http.NewServeMux(), downloads: map[int64]int64{}, crates: newCrateCache()}
	s.configJSON, s.configETag = renderConfig(cfg)
	s.metrics = newMetrics(s)
	s.limits = limits{
		login:   newLimiter(cfg.LoginRateLimit),
		token:   newLimiter(cfg.TokenRateLimit),
		publish: newLimiter(cfg.PublishRateLimit),
	}
	s.routes()
	return s
}

// Mux returns the router, so the OpenID login can add its routes.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Handler returns the root handler with middleware.
func (s *Server) Handler() http.Handler {
	ms := []Middleware{s.recoverPanics, s.logRequests, securityHeaders}
	if s.cfg.AuthRequired {
		ms = append(ms, privateCaching)
	}
	ms = append(ms, s.crossOrigin, s.rateLimit)
	return chain(s.mux, ms...)
}

// handlerFunc is a handler that returns its error for one adapter to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// authedFunc is a handler that needs a logged-in user.
type authedFunc func(w http.ResponseWriter, r *http.Request, u *crated.User) error

// authed resolves the token before calling fn, and hands fn a request
// whose context carries the token: the registry checks its scopes there.
func (s *Server) authed(fn authedFunc) http.HandlerFunc {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		// Only publish accepts trusted-publishing tokens (publishAuthed).
		if err := refuseTrustedToken(r); err != nil {
			return err
		}
		ctx, u, err := s.svc.Authorize(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		return fn(w, r.WithContext(ctx), u)
	})
}

// read wraps a read-only handler: open to everyone, unless the registry is
// private, where a valid token is needed and its absence answers 401 with
// cargo's login challenge.
func (s *Server) read(fn handlerFunc) http.HandlerFunc {
	if !s.cfg.AuthRequired {
		return s.handle(fn)
	}
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		// cargo publish reads the index with the token it publishes with.
		if s.trustedRead(r) {
			return fn(w, r)
		}
		if _, err := s.svc.Authenticate(r.Context(), r.Header.Get("Authorization")); err != nil {
			if crated.IsCode(err, crated.EFORBIDDEN) {
				// cargo answers a 401 on a sent token with "token rejected,
				// please run cargo login": the most useful message here.
				return crated.Errorf(crated.EUNAUTHORIZED, "%s", crated.ErrorMessage(err))
			}
			return err
		}
		return fn(w, r)
	})
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /index/config.json", s.read(s.handleConfig))
	m.HandleFunc("GET /index/{path...}", s.read(s.handleIndexFile))

	m.HandleFunc("PUT /api/v1/crates/new", s.publishAuthed(s.handlePublish)) // trusted publishing too
	m.HandleFunc("DELETE /api/v1/crates/{name}/{version}/yank", s.authed(s.handleYank(true)))
	m.HandleFunc("PUT /api/v1/crates/{name}/{version}/unyank", s.authed(s.handleYank(false)))
	m.HandleFunc("GET /api/v1/crates/{name}/owners", s.read(s.handleOwnersList))
	m.HandleFunc("PUT /api/v1/crates/{name}/owners", s.authed(s.handleOwnersChange(true)))
	m.HandleFunc("DELETE /api/v1/crates/{name}/owners", s.authed(s.handleOwnersChange(false)))
	m.HandleFunc("GET /api/v1/crates", s.read(s.handleSearch))
	s.tokenRoutes(m) // apitoken.go
	m.HandleFunc("GET /api/v1/crates/{name}/{version}/download", s.read(s.handleDownload))
	// crates.io's read API for tools beside cargo (crates_api.go).
	m.HandleFunc("GET /api/v1/crates/{name}", s.read(s.handleCrateInfo))
	m.HandleFunc("GET /api/v1/crates/{name}/versions", s.read(s.handleCrateVersions))
	m.HandleFunc("GET /api/v1/crates/{name}/{version}", s.read(s.handleCrateVersion))
	m.HandleFunc("GET /api/v1/crates/{name}/{version}/dependencies", s.read(s.handleCrateDependencies))
	m.HandleFunc("GET /api/v1/crates/{name}/{version}/readme", s.read(s.handleCrateReadme))
	m.HandleFunc("GET /api/v1/auth", s.read(s.handleAuthCheck))
	// Trusted publishing (trustpub.go).
	m.HandleFunc("PATCH /api/v1/crates/{name}", s.authed(s.handleCratePatch))
	for _, p := range []string{crated.TrustPubGitHub, crated.TrustPubGitLab} {
		m.HandleFunc("POST /api/v1/trusted_publishing/"+p+"_configs", s.authed(s.handleTrustPubCreate(p)))
		m.HandleFunc("GET /api/v1/trusted_publishing/"+p+"_configs", s.authed(s.handleTrustPubList(p)))
		m.HandleFunc("DELETE /api/v1/trusted_publishing/"+p+"_configs/{id}", s.authed(s.handleTrustPubDelete(p)))
	}
	m.HandleFunc("POST /api/v1/trusted_publishing/tokens", s.handle(s.handleTrustPubExchange))
	m.HandleFunc("DELETE /api/v1/trusted_publishing/tokens", s.handle(s.handleTrustPubRevoke))
	dl := "/" + strings.Join(s.cfg.DLPath, "/")
	if dl != "/api/v1/crates" {
		m.HandleFunc("GET "+dl+"/{name}/{version}/download", s.read(s.handleDownload))
	}

	m.HandleFunc("POST /ktra/api/v1/new_user/{name}", s.handle(s.handleNewUser))
	m.HandleFunc("POST /ktra/api/v1/login/{name}", s.handle(s.handleLogin))
	m.HandleFunc("POST /ktra/api/v1/change_password/{name}", s.handle(s.handleChangePassword))
	if !s.cfg.OpenIDLogin {
		m.HandleFunc("GET /me", s.handle(s.handleMePage))
		m.HandleFunc("POST /me", s.handle(s.handleMeLogin))
	}

	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", s.handle(s.handleReady))
	m.Handle("GET /metrics", s.metricsGuard(true))
	// Anything else gets cargo's error body too, not net/http's text; a
	// browser gets a page.
	m.HandleFunc("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.Pages != nil && s.browserPage(r) {
			s.cfg.Pages.NotFound(w, r)
			return nil
		}
		return crated.Errorf(crated.ENOTFOUND, "not found: %s %s", r.Method, r.URL.Path)
	}))
}
