// Package app wires crated together from its configuration: it opens the
// stores, builds the service and the HTTP server, and runs them. The command
// and the end-to-end tests both use Main, the tests on port 0 with a temp dir.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/config"
	"github.com/crated/crated/httpapi"
	gitindex "github.com/crated/crated/index/git"
	"github.com/crated/crated/index/sparse"
	"github.com/crated/crated/oidc"
	"github.com/crated/crated/registry"
	"github.com/crated/crated/sqlite"
	"github.com/crated/crated/trustpub"
	"github.com/crated/crated/web"
)

// Main is one running crated.
type Main struct {
	Config *config.Config
	Logger *slog.Logger

	Store   crated.Store
	Blobs   crated.BlobStore
	Service *registry.Service
	Index   *sparse.Index
	HTTP    *httpapi.Server
	// Git is the git index, when [index_config] is set.
	Git *gitindex.Index
	// static publishes the read side as files (server_config.static_dir).
	static *staticState
	// TrustPub is trusted publishing (app/trustpub.go).
	TrustPub *trustpub.Service

	// URL is the base URL clients use, known once Open has run.
	URL string

	ln     net.Listener
	server *http.Server
	// metricsLn and metricsServer serve /metrics on metrics_address.
	metricsLn     net.Listener
	metricsServer *http.Server
	cancel        context.CancelFunc
	wg            sync.WaitGroup
}

// NewMain returns a Main with the embedded default configuration.
func NewMain() *Main {
	return &Main{Config: config.Default(), Logger: slog.Default()}
}

// OpenStores opens the metadata and blob stores named by the configuration.
// The admin subcommands use it without starting the server.
func (m *Main) OpenStores(ctx context.Context) error {
	cfg := m.Config
	var err error
	if m.Store, err = openStore(ctx, cfg); err != nil {
		return err
	}
	if m.Blobs, err = openBlobs(ctx, cfg); err != nil {
		return err
	}
	return nil
}

func openStore(ctx context.Context, cfg *config.Config) (crated.Store, error) {
	if cfg.DB.PostgresURL != "" {
		return openPostgres(ctx, cfg.DB.PostgresURL, cfg.DB.QueryTimeout)
	}
	path := filepath.Join(cfg.DB.DBDirPath, "crated.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("db_config.db_dir_path: open %s: %w", path, err)
	}
	return st, nil
}

func openBlobs(ctx context.Context, cfg *config.Config) (crated.BlobStore, error) {
	if cfg.CrateFiles.S3Bucket != "" {
		return openS3(ctx, cfg)
	}
	b, err := fs.New(cfg.CrateFiles.DLDirPath)
	if err != nil {
		return nil, fmt.Errorf("crate_files_config.dl_dir_path: %w", err)
	}
	return b, nil
}

// openGitIndex opens the Ktra-style git index from [index_config].
func (m *Main) openGitIndex(ctx context.Context, configJSON []byte) (*gitindex.Index, error) {
	x := m.Config.Index
	// With PostgreSQL several replicas share the remote: one writer at a
	// time, through an advisory lock.
	var locker gitindex.Locker
	if l, ok := m.Store.(gitindex.Locker); ok {
		locker = l
	}
	gi, err := gitindex.Open(ctx, gitindex.Config{
		Dir:               x.LocalPath,
		Branch:            x.Branch,
		RemoteURL:         x.RemoteURL,
		HTTPSUsername:     x.HTTPSUsername,
		HTTPSPassword:     x.HTTPSPassword,
		SSHUsername:       x.SSHUsername,
		SSHPrivateKeyPath: x.SSHPrivkeyPath,
		SSHKeyPassphrase:  x.SSHKeyPassphrase,
		AuthorName:        x.Name,
		AuthorEmail:       x.Email,
		ConfigJSON:        configJSON,
		Locker:            locker,
	}, m.Store, m.Logger)
	if err != nil {
		return nil, fmt.Errorf("index_config: %w", err)
	}
	return gi, nil
}

// serviceConfig derives the registry's settings from the configuration.
func (m *Main) serviceConfig() registry.Config {
	cfg := m.Config
	sc := cfg.Server
	lim := cargo.Limits{
		MaxMetadata: sc.MaxMetadataSize, MaxCrate: sc.MaxCrateSize, MaxUnpacked: sc.MaxUnpackedSize,
		MaxEntries: sc.MaxFiles, MaxPath: sc.MaxPathLength, MaxManifest: sc.MaxManifestSize,
		MaxDependencies: sc.MaxDependencies, MaxFeatures: sc.MaxFeatures, MaxFeatureValues: sc.MaxFeatureValues,
		MaxVersionLength: sc.MaxVersionLength, MaxDescription: sc.MaxDescriptionLength,
		MaxKeywords: sc.MaxKeywords, MaxKeywordLength: sc.MaxKeywordLength, MaxCategories: sc.MaxCategories,
		// Not nil: an empty configured list reserves nothing.
		ReservedNames: append([]string{}, sc.ReservedNames...),
	}.WithDefaults()
	return registry.Config{
		IndexURLs:        []string{"sparse+" + m.URL + "/index/"},
		LoginURL:         m.URL + "/me",
		Limits:           lim,
		LoginPrefix:      cfg.DB.LoginPrefix,
		OpenRegistration: cfg.Server.OpenRegistration,
		PasswordLogin:    cfg.OpenID == nil || cfg.OpenID.AllowPasswordLogin,
		Logger:           m.Logger,

		PasswordHashConcurrency: cfg.Server.PasswordHashConcurrency,
		PasswordHashWait:        cfg.Server.PasswordHashWait,
		LoginMaxFailures:        cfg.Server.LoginMaxFailures,
		LoginFailureWindow:      cfg.Server.LoginFailureWindow,
	}
}

// NewService returns a registry service over the opened stores, for the
// admin subcommands.
func (m *Main) NewService() *registry.Service {
	if m.URL == "" {
		m.URL = strings.TrimSuffix(m.Config.Server.BaseURL, "/")
	}
	return registry.New(m.Store, m.Blobs, m.serviceConfig())
}

// Open opens everything and starts listening, without serving yet.
func (m *Main) Open(ctx context.Context) (err error) {
	cfg := m.Config
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	// Every package gets a logger that names the request a line belongs to.
	m.Logger = slog.New(httpapi.LogHandler(m.Logger.Handler()))
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	for _, w := range cfg.Warnings() {
		m.Logger.Warn(w)
	}
	addr := net.JoinHostPort(cfg.Server.Address, strconv.Itoa(cfg.Server.Port))
	if m.ln, err = net.Listen("tcp", addr); err != nil {
		return fmt.Errorf("server_config.address/port: %w", err)
	}
	m.URL = strings.TrimSuffix(cfg.Server.BaseURL, "/")
	if m.URL == "" || cfg.Server.Port == 0 {
		m.URL = "http://" + m.ln.Addr().String()
	}
	if err := m.OpenStores(ctx); err != nil {
		return err
	}

	rcfg := m.serviceConfig()
	if cfg.OpenID != nil {
		if rcfg.Sealer, err = m.sealer(); err != nil {
			return err
		}
	}
	if m.TrustPub = m.openTrustPub(); m.TrustPub != nil {
		rcfg.Trusted = m.TrustPub
	}
	m.Service = registry.New(m.Store, m.Blobs, rcfg)
	m.Index = sparse.New(m.Store, 0)
	m.Service.OnChange(m.Index.Invalidate)

	ui := web.New(m.Service, web.Config{
		BaseURL:      m.URL,
		RegistryName: cfg.Server.RegistryName,
		AuthRequired: cfg.Server.AuthRequired,
		OpenIDLogin:  cfg.OpenID != nil,
	}, m.Logger)
	hcfg := m.httpConfig(rcfg)
	hcfg.RegistryName, hcfg.Pages = cfg.Server.RegistryName, ui
	hcfg.TrustedPublishing = m.TrustPub
	m.HTTP = httpapi.New(m.Service, m.Index, m.Blobs, hcfg, m.Logger)
	ui.Routes(m.HTTP.Mux())

	if o := cfg.OpenID; o != nil {
		login, err := oidc.New(ctx, oidc.Config{
			IssuerURL:        o.IssuerURL,
			RedirectURL:      o.RedirectURL,
			ClientID:         o.ClientID,
			ClientSecret:     o.ClientSecret,
			AdditionalScopes: o.AdditionalScopes,
			AuthorizedGroups: o.AllowedGroups(),
			AuthorizedUsers:  o.AllowedUsers(),
			GroupsClaim:      o.GroupsClaim,
			UsernameClaim:    o.UsernameClaim,
			HTTPTimeout:      o.HTTPTimeout,
			RegistryName:     cfg.Server.RegistryName,
			Pages:            ui,
		}, m.Store, m.Service, m.Logger)
		if err != nil {
			return err
		}
		login.Routes(m.HTTP.Mux())
	}
	if cfg.Index != nil {
		if m.Git, err = m.openGitIndex(ctx, m.HTTP.ConfigJSON()); err != nil {
			return err
		}
		m.Service.OnChange(m.Git.Changed)
		if cfg.Server.AuthRequired {
			// cargo sends no token on git fetches, so a private registry
			// cannot serve its index over plain git HTTP.
			m.Logger.Warn("auth_required is on: the git index is pushed to remote_url but not served at /git/index")
		} else {
			// A full clone has no size bound: write_timeout bounds each
			// write instead of the whole answer.
			m.HTTP.Mux().Handle("/git/index/", httpapi.ProgressDeadline(
				http.StripPrefix("/git/index", m.Git.Handler()), cfg.Server.WriteTimeout))
		}
	}
	if err := m.openStatic(ctx); err != nil {
		return err
	}
	if cfg.Mirror != nil {
		if err := m.mountMirror(ctx); err != nil {
			return err
		}
	}
	if cfg.Server.MetricsAddress != "" {
		if m.metricsLn, err = net.Listen("tcp", cfg.Server.MetricsAddress); err != nil {
			return fmt.Errorf("server_config.metrics_address: %w", err)
		}
		m.metricsServer = m.newServer(m.HTTP.MetricsHandler())
	}
	m.server = m.newServer(m.HTTP.Handler())
	return nil
}

// newServer applies [server_config]'s timeouts. read_timeout bounds a whole
// request, body included, so that a client that declares a body and stalls
// is cut off; write_timeout bounds the answer (see ProgressDeadline for the
// git index); an idle keep-alive connection is closed after idleTimeout.
func (m *Main) newServer(h http.Handler) *http.Server {
	s := m.Config.Server
	header := headerTimeout
	if s.ReadTimeout > 0 && s.ReadTimeout < header {
		header = s.ReadTimeout
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: header,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelDebug),
	}
}

const (
	// headerTimeout bounds the request line and headers, which a client
	// sends at once.
	headerTimeout = 10 * time.Second
	// idleTimeout closes keep-alive connections nobody uses; nginx keeps
	// its own for 60 s (deploy/nginx.conf).
	idleTimeout = 120 * time.Second
)

// httpConfig derives the HTTP layer's settings from the configuration.
func (m *Main) httpConfig(rcfg registry.Config) httpapi.Config {
	cfg := m.Config
	s := cfg.Server
	var proxies []netip.Prefix
	for _, p := range s.TrustedProxies {
		if pr, err := config.ParsePrefix(p); err == nil { // validated at load
			proxies = append(proxies, pr)
		}
	}
	return httpapi.Config{
		BaseURL:       m.URL,
		DLPath:        cfg.CrateFiles.DLPath,
		AuthRequired:  s.AuthRequired,
		PasswordLogin: rcfg.PasswordLogin,
		OpenIDLogin:   cfg.OpenID != nil,
		Checks: []httpapi.ReadyCheck{
			{Name: "metadata_store", Check: m.Store.Ping},
			// Index reads and logins need no blob: a slow object store
			// degrades downloads and publishes but keeps the replica in.
			{Name: "blob_store", Check: m.Blobs.Ping, Degrades: true},
		},
		ReadTimeout:      s.ReadTimeout,
		MetricsToken:     s.MetricsToken,
		MetricsElsewhere: s.MetricsAddress != "",
		TrustedProxies:   proxies,
		LoginRateLimit:   s.LoginRateLimit,
		TokenRateLimit:   s.TokenRateLimit,
		PublishRateLimit: s.PublishRateLimit,
	}
}

// MetricsURL is the URL of /metrics on metrics_address, "" when it is not
// set; known once Open has run.
func (m *Main) MetricsURL() string {
	if m.metricsLn == nil {
		return ""
	}
	return "http://" + m.metricsLn.Addr().String() + "/metrics"
}

// Run opens crated and serves until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Open(ctx); err != nil {
		return err
	}
	m.Start()
	<-ctx.Done()
	return m.Close()
}

// Start serves in the background; Open must have succeeded.
func (m *Main) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if m.Git != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := m.Git.Run(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error("git index stopped", "err", err)
			}
		}()
	}
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		if err := m.server.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("server stopped", "err", err)
		}
	}()
	if m.metricsServer != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := m.metricsServer.Serve(m.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.Logger.Error("metrics server stopped", "err", err)
			}
		}()
	}
	go func() {
		defer m.wg.Done()
		m.background(ctx)
	}()
	if n, ok := m.Store.(crated.ChangeNotifier); ok {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			// Every change hook (sparse cache, git index, ...) runs for
			// the changes of other replicas and processes too.
			if err := n.Listen(ctx, m.Service.Changed); err != nil && ctx.Err() == nil {
				m.Logger.Error("change notifications stopped", "err", err)
			}
		}()
	}
	m.Logger.Info("crated is serving", "url", m.URL, "index", "sparse+"+m.URL+"/index/")
	if m.metricsLn != nil {
		m.Logger.Info("metrics are served on their own listener", "url", m.MetricsURL())
	} else if m.Config.Server.AuthRequired && m.Config.Server.MetricsToken == "" {
		m.Logger.Warn("auth_required is on and neither server_config.metrics_address nor metrics_token is set: /metrics is not served")
	}
}

// background flushes download counts periodically, and resyncs the static
// trees when a publication failed or everything changed.
func (m *Main) background(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	var wake chan struct{} // nil (never ready) without static trees
	if m.static != nil {
		wake = m.static.wake
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			m.staticRetry(ctx)
		case <-t.C:
			if err := m.HTTP.FlushDownloads(ctx); err != nil {
				m.Logger.Warn("could not record download counts", "err", err)
			}
			m.staticRetry(ctx)
		}
	}
}

// Close stops serving, flushes counters and closes the stores.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
		m.server = nil
	} else if m.ln != nil {
		m.ln.Close()
	}
	if m.metricsServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := m.metricsServer.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
		m.metricsServer = nil
	} else if m.metricsLn != nil {
		m.metricsLn.Close()
	}
	m.metricsLn = nil
	if m.cancel != nil {
		m.cancel()
		m.wg.Wait()
		m.cancel = nil
	}
	if m.HTTP != nil && m.Store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := m.HTTP.FlushDownloads(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, err)
		}
		m.Store = nil
	}
	return errors.Join(errs...)
}

// RebuildGitIndex rewrites the git index from the store and pushes it
// (`crated index rebuild`). The stores must be open.
func (m *Main) RebuildGitIndex(ctx context.Context) error {
	if m.Config.Index == nil {
		return errors.New("index_config is not set: there is no git index to rebuild (the sparse index needs no rebuild)")
	}
	svc := m.NewService()
	h := httpapi.New(svc, sparse.New(m.Store, 0), m.Blobs, httpapi.Config{BaseURL: m.URL, AuthRequired: m.Config.Server.AuthRequired}, m.Logger)
	gi, err := m.openGitIndex(ctx, h.ConfigJSON())
	if err != nil {
		return err
	}
	return gi.Sync(ctx, nil)
}
