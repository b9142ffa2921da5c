package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// TestOpenIDLoginAcrossReplicas starts a login on replica A and lets the
// provider send the browser back to replica B, as a load balancer may: the
// pending login lives in the shared PostgreSQL store, so B completes it, and
// the token it issues works on A at once.
func TestOpenIDLoginAcrossReplicas(t *testing.T) {
	pg := testenv.PostgresURL(t)
	alice := dexUser("alice")

	// Both replicas share the database and the seal key, as docs/deploy.md
	// asks; the provider's redirect URIs point at B.
	key := make([]byte, 32)
	rand.Read(key)
	shared := func(c *config.Config) {
		c.DB.PostgresURL = pg
		if c.OpenID != nil {
			c.OpenID.TokenSealKey = base64.StdEncoding.EncodeToString(key)
		}
	}
	b := testenv.StartOIDC(t, testenv.OIDCOptions{Users: []testenv.DexUser{alice}, Edit: []func(*config.Config){shared}})
	openid := *b.Config.OpenID
	a := testenv.StartCrated(t, func(c *config.Config) {
		c.OpenID = &openid
		shared(c)
	})

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: time.Minute}
	resp := b.Dex.Login(t, browser, a.URL+"/me", alice.Email, alice.Password)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Host != b.Main.URL[len("http://"):] {
		t.Fatalf("the login should finish on replica B, ended at %s", resp.Request.URL)
	}
	res := parseResult(t, resp, body, false)
	token := res.str("new_token")
	if token == "" {
		t.Fatalf("no new token from a login started on A and finished on B: %s", body)
	}
	u, err := a.Service.Authenticate(context.Background(), token)
	if err != nil || u.Login != "127.0.0.1:alice" {
		t.Fatalf("B's token on A: %+v %v", u, err)
	}

	// The next /me on A shows the same token: the sealed copy opens there.
	jar2, _ := cookiejar.New(nil)
	resp = b.Dex.Login(t, &http.Client{Jar: jar2, Timeout: time.Minute}, a.URL+"/me", alice.Email, alice.Password)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := parseResult(t, resp, body, false).str("existing_token"); got != token {
		t.Errorf("second login shows %q, want the existing token", got)
	}
}
