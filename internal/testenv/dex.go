package testenv

import (
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DexUser is a user of Dex's password database.
type DexUser struct {
	Email, Password string
	// Username is Dex's display name (the "name" claim).
	Username string
	// PreferredUsername is the "preferred_username" claim, the login name
	// crated uses for Dex (Dex sends no "nickname").
	PreferredUsername string
	// UserID is hidden inside Dex's opaque "sub".
	UserID string
	// Groups is the "groups" claim (sent when the "groups" scope is asked).
	Groups []string
}

// DexOptions configure StartDex.
type DexOptions struct {
	// ClientID and ClientSecret of the one static client; defaults
	// "crated" and a random secret.
	ClientID, ClientSecret string
	// RedirectURIs are registered exactly as given: Dex compares them
	// byte for byte with the redirect_uri of a login.
	RedirectURIs []string
	Users        []DexUser
}

// Dex is a running Dex OpenID provider.
type Dex struct {
	// Issuer is http://127.0.0.1:PORT/dex.
	Issuer                 string
	ClientID, ClientSecret string
	logPath                string
}

// StartDex runs the Dex binary named by CRATED_TEST_DEX_BIN (built by
// `.ci/tools/dex.sh build`) with an in-memory store, a password database
// with opts.Users and one static client, and stops it when the test ends.
// Without CRATED_TEST_DEX_BIN the test is skipped, or fails when CI=true.
func StartDex(t *testing.T, opts DexOptions) *Dex {
	t.Helper()
	bin := os.Getenv("CRATED_TEST_DEX_BIN")
	if bin == "" {
		Need(t, "Dex (set CRATED_TEST_DEX_BIN; `.ci/tools/dex.sh build` builds it and prints the export line)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("CRATED_TEST_DEX_BIN: %v (build it with .ci/tools/dex.sh build)", err)
	}
	if opts.ClientID == "" {
		opts.ClientID = "crated"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = rand.Text()
	}

	addr := dexFreeAddr(t)
	d := &Dex{
		Issuer:       "http://" + addr + "/dex",
		ClientID:     opts.ClientID,
		ClientSecret: opts.ClientSecret,
	}
	dir := t.TempDir()
	confPath := filepath.Join(dir, "dex.json")
	d.logPath = filepath.Join(dir, "dex.log")
	if err := os.WriteFile(confPath, dexConfig(t, d, addr, opts), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Dex reads YAML; JSON is YAML, and needs no YAML library here.
	cmd := exec.Command(bin, "serve", confPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting Dex: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Dex log:\n%s", d.logTail())
		}
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})

	// Wait until discovery answers. The deadline only bounds a hung start.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("Dex exited at start: %v\n%s", err, d.logTail())
		default:
		}
		if d.discovered() {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("Dex did not serve %s/.well-known/openid-configuration within a minute\n%s", d.Issuer, d.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *Dex) discovered() bool {
	resp, err := http.Get(d.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&doc) == nil && doc.Issuer == d.Issuer
}

func (d *Dex) logTail() string {
	b, _ := os.ReadFile(d.logPath)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// dexConfig writes Dex's configuration (cmd/dex/config.go's fields).
func dexConfig(t *testing.T, d *Dex, addr string, opts DexOptions) []byte {
	t.Helper()
	type password struct {
		Email             string   `json:"email"`
		Hash              string   `json:"hash"`
		Username          string   `json:"username"`
		PreferredUsername string   `json:"preferredUsername,omitempty"`
		UserID            string   `json:"userID"`
		Groups            []string `json:"groups,omitempty"`
	}
	var users []password
	for _, u := range opts.Users {
		// Dex refuses hashes below cost 10.
		hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.DefaultCost)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, password{u.Email, string(hash), u.Username, u.PreferredUsername, u.UserID, u.Groups})
	}
	conf := map[string]any{
		"issuer":           d.Issuer,
		"storage":          map[string]any{"type": "memory"},
		"web":              map[string]any{"http": addr},
		"logger":           map[string]any{"level": "debug", "format": "text"},
		"oauth2":           map[string]any{"skipApprovalScreen": true},
		"enablePasswordDB": true,
		"staticClients": []any{map[string]any{
			"id":           d.ClientID,
			"secret":       d.ClientSecret,
			"name":         "crated test",
			"redirectURIs": opts.RedirectURIs,
		}},
		"staticPasswords": users,
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dexFreeAddr picks a free loopback port. Dex needs its issuer URL, port
// included, before it starts, so it cannot be handed a listener.
func dexFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var (
	dexFormRE      = regexp.MustCompile(`(?is)<form[^>]*\baction="([^"]*)"`)
	dexPasswordRE  = regexp.MustCompile(`(?i)<input[^>]*\bname="password"`)
	dexConnectorRE = regexp.MustCompile(`(?i)\bhref="([^"]*/auth/local[^"]*)"`)
)

// Login drives a browser through a login that starts at startURL (a
// registry's /me, or an authorization URL): it follows the redirects to
// Dex's login form (through the connector chooser if Dex shows one), posts
// login=EMAIL&password=PASSWORD, and follows the redirects back. It returns
// the last response, body unread; the caller closes it. client's redirect
// policy is ignored (redirects are followed) and a cookie jar is added
// when it has none.
func (d *Dex) Login(t *testing.T, client *http.Client, startURL, email, password string) *http.Response {
	t.Helper()
	c := *client
	c.CheckRedirect = nil
	if c.Jar == nil {
		c.Jar, _ = cookiejar.New(nil)
	}
	resp, err := c.Get(startURL)
	if err != nil {
		t.Fatalf("GET %s: %v", startURL, err)
	}
	for range 3 {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		page := resp.Request.URL
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, want Dex's login page\n%s", page, resp.StatusCode, body)
		}
		if m := dexFormRE.FindSubmatch(body); m != nil && dexPasswordRE.Match(body) {
			action, err := page.Parse(html.UnescapeString(string(m[1])))
			if err != nil {
				t.Fatalf("Dex's login form action %q: %v", m[1], err)
			}
			form := url.Values{"login": {email}, "password": {password}}
			resp, err = c.PostForm(action.String(), form)
			if err != nil {
				t.Fatalf("POST %s: %v", action, err)
			}
			return resp
		}
		m := dexConnectorRE.FindSubmatch(body)
		if m == nil {
			t.Fatalf("%s is neither Dex's login form nor its connector chooser:\n%s", page, body)
		}
		next, err := page.Parse(html.UnescapeString(string(m[1])))
		if err != nil {
			t.Fatal(err)
		}
		if resp, err = c.Get(next.String()); err != nil {
			t.Fatalf("GET %s: %v", next, err)
		}
	}
	t.Fatalf("no login form after three pages from %s", startURL)
	return nil
}

// IsLoginPage reports whether body is Dex's password form, which Dex shows
// again after a wrong email or password.
func (d *Dex) IsLoginPage(body []byte) bool {
	return dexFormRE.Match(body) && dexPasswordRE.Match(body)
}
