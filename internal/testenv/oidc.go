package testenv

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crated/crated/config"
)

// OIDC is crated with an [openid_config] that points at a real Dex, both on
// loopback.
type OIDC struct {
	*Crated
	Dex *Dex
}

// OIDCOptions configure StartOIDC.
type OIDCOptions struct {
	// Users are Dex's password users.
	Users []DexUser
	// OpenID is TOML appended to the [openid_config] section StartOIDC
	// writes, which sets issuer_url, redirect_url, client_id, client_secret
	// and additional_scopes = ["profile", "email", "groups"]: allow lists,
	// username_claim, allow_password_login and so on.
	OpenID string
	// Edit changes the rest of crated's configuration.
	Edit []func(*config.Config)
}

// StartOIDC starts Dex and crated so that crated logs users in through Dex.
//
// Dex must know the exact redirect URIs, port included, before it starts,
// and crated needs Dex's discovery document when it starts. So crated's port
// is reserved first and its base URL written into Dex's client; the
// reservation is held while Dex starts (Dex cannot pick the same port) and
// released just before crated listens on it. Another process could take
// the port in that instant; on a test machine that is rare enough.
func StartOIDC(t *testing.T, opts OIDCOptions) *OIDC {
	t.Helper()
	if os.Getenv("CRATED_TEST_DEX_BIN") == "" {
		Need(t, "Dex (set CRATED_TEST_DEX_BIN; `.ci/tools/dex.sh build` builds it and prints the export line)")
	}
	addr, release := ReserveAddr(t)
	base := "http://" + addr
	dex := StartDex(t, DexOptions{RedirectURIs: CallbackURLs(base), Users: opts.Users})
	openid := LoadOpenID(t, fmt.Sprintf(`[openid_config]
issuer_url = %q
redirect_url = %q
client_id = %q
client_secret = %q
additional_scopes = ["profile", "email", "groups"]
%s`, dex.Issuer, base, dex.ClientID, dex.ClientSecret, opts.OpenID))

	_, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	edits := append([]func(*config.Config){func(c *config.Config) {
		c.Server.Port = port
		c.Server.BaseURL = base
		c.OpenID = openid
	}}, opts.Edit...)
	release()
	return &OIDC{Crated: StartCrated(t, edits...), Dex: dex}
}

// CallbackURLs are the redirect URIs a provider must accept for a registry
// at base: Ktra's /me and /replace_token callbacks.
func CallbackURLs(base string) []string {
	return []string{base + "/ktra/api/v1/openid/me", base + "/ktra/api/v1/openid/replace_token"}
}

// ReserveAddr returns a free loopback address, 127.0.0.1:PORT, held until
// release is called (release is also called when the test ends).
func ReserveAddr(t testing.TB) (addr string, release func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String(), func() { l.Close() }
}

// LoadOpenID loads TOML text that holds an [openid_config] section through
// config.Load, the path a configuration file takes (key names, aliases,
// validation), and returns that section. The test's environment is not
// consulted.
func LoadOpenID(t testing.TB, toml string) *config.OpenIDConfig {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crated.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, []string{}, nil)
	if err != nil {
		t.Fatalf("loading [openid_config]: %v\n%s", err, toml)
	}
	if cfg.OpenID == nil {
		t.Fatalf("no [openid_config] in\n%s", toml)
	}
	return cfg.OpenID
}

// Browser returns a fresh browser for one login: a cookie jar of its own
// and a timeout. With json, its requests to crated ask for JSON, as
// `curl -H 'Accept: application/json'` would; Dex's pages are fetched as
// plain pages either way.
func (o *OIDC) Browser(t testing.TB, json bool) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	if json {
		u, err := url.Parse(o.URL)
		if err != nil {
			t.Fatal(err)
		}
		c.Transport = acceptJSON{host: u.Host, next: http.DefaultTransport}
	}
	return c
}

// acceptJSON adds Accept: application/json to the requests sent to host.
type acceptJSON struct {
	host string
	next http.RoundTripper
}

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == a.host {
		r = r.Clone(r.Context())
		r.Header.Set("Accept", "application/json")
	}
	return a.next.RoundTrip(r)
}

// ServeDiscovery serves a minimal OpenID discovery document from a new
// loopback server and returns its issuer URL. Only discovery is served: it
// is enough for crated to start, not for a login. With userinfo false the
// document has no userinfo_endpoint, which crated must refuse.
func ServeDiscovery(t testing.TB, userinfo bool) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		doc := map[string]any{
			"issuer":                                issuer,
			"authorization_endpoint":                issuer + "/authorize",
			"token_endpoint":                        issuer + "/token",
			"jwks_uri":                              issuer + "/keys",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		}
		if userinfo {
			doc["userinfo_endpoint"] = issuer + "/userinfo"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}
