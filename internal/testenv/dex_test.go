package testenv

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// TestDex starts Dex, logs a password user in through a plain OAuth client
// and reads the claims crated relies on from userinfo.
func TestDex(t *testing.T) {
	var mu sync.Mutex
	var got []string // state and code of each callback
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Query().Get("state"), r.URL.Query().Get("code"))
		mu.Unlock()
		io.WriteString(w, "callback reached")
	}))
	defer cb.Close()

	d := StartDex(t, DexOptions{
		RedirectURIs: []string{cb.URL + "/callback"},
		Users: []DexUser{{
			Email: "alice@example.com", Password: "wonderland",
			Username: "Alice", PreferredUsername: "alice", UserID: "u-alice",
			Groups: []string{"crate-owners", "staff"},
		}},
	})

	resp, err := http.Get(d.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		UserinfoEndpoint string `json:"userinfo_endpoint"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc.UserinfoEndpoint == "" {
		t.Fatal("Dex publishes no userinfo_endpoint")
	}

	conf := &oauth2.Config{
		ClientID:     d.ClientID,
		ClientSecret: d.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: d.Issuer + "/auth", TokenURL: d.Issuer + "/token"},
		RedirectURL:  cb.URL + "/callback",
		Scopes:       []string{"openid", "profile", "email", "groups"},
	}

	t.Run("wrong password", func(t *testing.T) {
		resp := d.Login(t, &http.Client{}, conf.AuthCodeURL("state-1"), "alice@example.com", "looking-glass")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !d.IsLoginPage(body) {
			t.Errorf("status %d, want Dex's login form again:\n%s", resp.StatusCode, body)
		}
	})

	t.Run("login", func(t *testing.T) {
		resp := d.Login(t, &http.Client{}, conf.AuthCodeURL("state-2"), "alice@example.com", "wonderland")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "callback reached" {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		mu.Lock()
		state, code := got[len(got)-2], got[len(got)-1]
		mu.Unlock()
		if state != "state-2" || code == "" {
			t.Fatalf("callback got state %q code %q", state, code)
		}

		ctx := context.Background()
		tok, err := conf.Exchange(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		resp, err = conf.Client(ctx, tok).Get(doc.UserinfoEndpoint)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var claims struct {
			Sub               string   `json:"sub"`
			Email             string   `json:"email"`
			PreferredUsername string   `json:"preferred_username"`
			Groups            []string `json:"groups"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&claims); err != nil {
			t.Fatal(err)
		}
		if claims.Sub == "" || claims.Email != "alice@example.com" || claims.PreferredUsername != "alice" ||
			!slices.Equal(claims.Groups, []string{"crate-owners", "staff"}) {
			t.Errorf("userinfo = %+v", claims)
		}
	})
}
