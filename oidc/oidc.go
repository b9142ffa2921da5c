// Package oidc is crated's OpenID Connect login: Ktra's "/me" and
// "/replace_token" flows on top of github.com/coreos/go-oidc and
// golang.org/x/oauth2.
//
// A login is the authorization-code flow with PKCE (S256), a random
// single-use state that expires, and a nonce checked in the ID token. The
// pending login lives in the metadata store (StateStore), keyed by the
// SHA-256 of the state, so any replica can finish a login another replica
// started and a restart loses nothing. The state is also kept in a cookie
// scoped to the callback paths, which ties the login to the browser that
// started it (RFC 6749 section 10.12, login CSRF).
//
// After the code exchange the ID token is verified (signature, issuer,
// audience, expiry, nonce), the userinfo endpoint is read, the allow lists
// are applied, and crated.Accounts finds or creates the user and returns the
// token to show, in Ktra's JSON shapes.
package oidc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/crated/crated"
	"github.com/crated/crated/httpapi"
)

// Callback paths, relative to the redirect base URL. Ktra's book tells
// users to register .../openid/me and .../openid/replace_token, and crated
// sends those as redirect_uri. Ktra 0.7.0's code sent .../openid/replace
// for the replace login instead, so crated also answers there: a provider
// that still calls back on it finishes the login.
const (
	pathCallbackMe           = "/ktra/api/v1/openid/me"
	pathCallbackReplace      = "/ktra/api/v1/openid/replace"
	pathCallbackReplaceToken = "/ktra/api/v1/openid/replace_token"
	callbackDir              = "/ktra/api/v1/openid/"
)

// Login kinds, stored in crated.LoginState.Kind.
const (
	kindMe      = "me"
	kindReplace = "replace"
)

// Config is the [openid_config] section, as plain values.
type Config struct {
	// IssuerURL is the provider's issuer ("https://gitlab.com").
	IssuerURL string
	// RedirectURL is Ktra's redirect_url: the external base URL of the
	// registry. The callbacks are RedirectURL + "/ktra/api/v1/openid/me"
	// and + "/ktra/api/v1/openid/replace_token". A value that already ends
	// in a callback path is accepted and trimmed to the base.
	RedirectURL  string
	ClientID     string
	ClientSecret string
	// AdditionalScopes are requested after "openid", as in Ktra (GitLab:
	// "profile", "email"; Dex: also "groups"). Duplicates are dropped.
	AdditionalScopes []string
	// AuthorizedGroups and AuthorizedUsers restrict who may log in. When
	// both are empty everyone the provider lets in may log in; otherwise a
	// user needs one group in AuthorizedGroups or a user name in
	// AuthorizedUsers.
	AuthorizedGroups, AuthorizedUsers []string
	// GroupsClaim names the claim with the user's groups (default
	// "groups"): a list of strings or a single string.
	GroupsClaim string
	// UsernameClaim names the claim with the login name (default
	// "nickname", GitLab's); "preferred_username" is the fallback (Dex).
	UsernameClaim string
	// StateTTL is how long a started login may take (default 10 minutes).
	StateTTL time.Duration
	// HTTPTimeout bounds each call to the provider: discovery, token
	// exchange, userinfo and the signing keys (default 10 seconds). A login
	// whose call runs out of time gets a 503 page.
	HTTPTimeout time.Duration
	// HTTPClient talks to the provider; default: a client with HTTPTimeout.
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RegistryName is the name the token page tells `cargo login
	// --registry`; empty shows a placeholder.
	RegistryName string
	// Pages renders the result and refusal pages in the site's layout;
	// nil renders them bare.
	Pages httpapi.Pages
}

// StateStore keeps pending logins. crated.Store satisfies it.
type StateStore interface {
	PutLoginState(ctx context.Context, s *crated.LoginState) error
	// TakeLoginState removes and returns a pending login; ENOTFOUND when it
	// does not exist, was already taken or has expired at now.
	TakeLoginState(ctx context.Context, key string, now time.Time) (*crated.LoginState, error)
}

// Login serves the OpenID login pages. Create it with New.
type Login struct {
	cfg        Config
	base       string // redirect base URL, no trailing slash
	cookiePath string
	secure     bool // the registry is reached over https: Secure cookies
	issuerHost string
	scopes     []string
	client     *http.Client
	transport  *watchedTransport
	provider   *gooidc.Provider
	verifier   *gooidc.IDTokenVerifier
	states     StateStore
	accounts   crated.Accounts
	log        *slog.Logger
}

// New checks cfg, reads the provider's discovery document once and returns
// the login. It fails when the provider is unreachable or publishes no
// userinfo_endpoint, so that a broken setup is seen at start rather than at
// the first login.
func New(ctx context.Context, cfg Config, states StateStore, accounts crated.Accounts, log *slog.Logger) (*Login, error) {
	if states == nil || accounts == nil {
		return nil, errors.New("oidc.New: states and accounts are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.IssuerURL == "" {
		return nil, crated.Errorf(crated.EINVALID, "openid_config: issuer_url is required")
	}
	if cfg.ClientID == "" {
		return nil, crated.Errorf(crated.EINVALID, "openid_config: client_id is required")
	}
	base, err := redirectBase(cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	iss, err := url.Parse(cfg.IssuerURL)
	if err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" {
		return nil, crated.Errorf(crated.EINVALID, "openid_config: issuer_url %q is not an http(s) URL", cfg.IssuerURL)
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "nickname"
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 10 * time.Second
	}
	client := &http.Client{Timeout: cfg.HTTPTimeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	watch := &watchedTransport{base: client.Transport}
	if watch.base == nil {
		watch.base = http.DefaultTransport
	}
	client.Transport = watch

	provider, err := discover(gooidc.ClientContext(ctx, client), cfg.IssuerURL)
	if err != nil {
		return nil, err
	}
	if provider.UserInfoEndpoint() == "" {
		return nil, crated.Errorf(crated.EINVALID,
			"openid_config: the provider at %s publishes no userinfo_endpoint; crated needs it to read groups and the user name",
			cfg.IssuerURL)
	}
	u, _ := url.Parse(base) // checked by redirectBase
	l := &Login{
		cfg:        cfg,
		base:       base,
		cookiePath: u.Path + callbackDir,
		secure:     u.Scheme == "https",
		issuerHost: iss.Hostname(),
		scopes:     scopes(cfg.AdditionalScopes),
		client:     client,
		transport:  watch,
		provider:   provider,
		verifier:   provider.Verifier(&gooidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
		states:     states,
		accounts:   accounts,
		log:        log,
	}
	return l, nil
}

// watchedTransport counts the calls to the provider that got no answer (a
// refused connection, a timeout). go-oidc reports a failed download of the
// signing keys as a failed signature check, without the cause in the chain:
// the count tells the two apart, so that an unreachable provider gives a 503
// page rather than "the ID token did not verify".
type watchedTransport struct {
	base     http.RoundTripper
	failures atomic.Int64
}

func (w *watchedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(r)
	if err != nil {
		w.failures.Add(1)
	}
	return resp, err
}

// discover reads the discovery document. An issuer_url that differs from
// the published issuer only by a trailing slash is accepted: go-oidc wants
// the exact string, and "https://gitlab.com/" is an easy thing to write.
func discover(ctx context.Context, issuer string) (*gooidc.Provider, error) {
	p, err := gooidc.NewProvider(ctx, issuer)
	var mismatch *gooidc.IssuerMismatchError
	if errors.As(err, &mismatch) && strings.TrimSuffix(mismatch.Discovered, "/") == strings.TrimSuffix(issuer, "/") {
		p, err = gooidc.NewProvider(ctx, mismatch.Discovered)
	}
	if errors.As(err, &mismatch) {
		return nil, crated.Errorf(crated.EINVALID,
			"openid_config: issuer_url is %q but the provider's discovery document names the issuer %q",
			mismatch.Provided, mismatch.Discovered)
	}
	if err != nil {
		return nil, crated.Errorf(crated.EUNAVAILABLE,
			"openid_config: cannot read %s/.well-known/openid-configuration: %v",
			strings.TrimSuffix(issuer, "/"), err)
	}
	return p, nil
}

// redirectBase returns the registry's external base URL from Ktra's
// redirect_url, without a trailing slash and without a callback path that
// was pasted along with it.
func redirectBase(raw string) (string, error) {
	if raw == "" {
		return "", crated.Errorf(crated.EINVALID, "openid_config: redirect_url is required (the external base URL of the registry)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", crated.Errorf(crated.EINVALID, "openid_config: redirect_url %q is not an http(s) URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", crated.Errorf(crated.EINVALID, "openid_config: redirect_url %q must not have a query or a fragment", raw)
	}
	p := strings.TrimRight(u.Path, "/")
	for _, cb := range []string{pathCallbackMe, pathCallbackReplace, pathCallbackReplaceToken} {
		if strings.HasSuffix(p, cb) {
			p = strings.TrimSuffix(p, cb)
			break
		}
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// scopes is "openid" followed by the additional scopes, without blanks or
// repeats (Ktra's book lists "openid" among additional_scopes).
func scopes(additional []string) []string {
	out := []string{gooidc.ScopeOpenID}
	seen := map[string]bool{gooidc.ScopeOpenID: true}
	for _, s := range additional {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// Routes registers the start pages and the callbacks on mux.
func (l *Login) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /me", l.start(kindMe))
	mux.HandleFunc("GET /replace_token", l.start(kindReplace))
	mux.HandleFunc("GET "+pathCallbackMe, l.callback)
	mux.HandleFunc("GET "+pathCallbackReplace, l.callback)
	mux.HandleFunc("GET "+pathCallbackReplaceToken, l.callback)
}

// CallbackURLs are the redirect URIs to register at the provider.
func (l *Login) CallbackURLs() []string {
	return []string{l.callbackURL(kindMe), l.callbackURL(kindReplace)}
}

// callbackURL is the redirect_uri sent for a login kind. The same value must
// be sent again in the code exchange, so it is derived from the stored kind,
// never from the path the provider called back on.
func (l *Login) callbackURL(kind string) string {
	if kind == kindReplace {
		return l.base + pathCallbackReplaceToken
	}
	return l.base + pathCallbackMe
}

func (l *Login) oauth2Config(kind string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     l.cfg.ClientID,
		ClientSecret: l.cfg.ClientSecret,
		Endpoint:     l.provider.Endpoint(),
		RedirectURL:  l.callbackURL(kind),
		Scopes:       l.scopes,
	}
}
