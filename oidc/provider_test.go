package oidc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProvider is a small OpenID provider for the unit tests: discovery,
// JWKS, /authorize that redirects straight back with a code, /token that
// checks the client, the redirect URI and the PKCE verifier and returns an
// ID token signed here, and /userinfo. Its knobs shape the claims like
// GitLab or Dex and break the ID token in the ways a login must refuse.
type fakeProvider struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey
	now func() time.Time

	clientID, clientSecret string

	mu sync.Mutex
	// Knobs, set before a login.
	subject        string
	userinfo       map[string]any // claims of /userinfo besides sub
	idClaims       map[string]any // extra claims of the ID token
	noUserinfo     bool           // discovery publishes no userinfo_endpoint
	userinfoSub    string         // /userinfo answers for another subject
	wrongNonce     bool
	wrongAudience  bool
	expired        bool
	badSignature   bool // signed with a key that is not in the JWKS
	noIDToken      bool
	stall          string // this path answers nothing until the client gives up
	authorizeError string // /authorize redirects back with error=...
	authorizeDesc  string
	// Records.
	authorizeQueries []url.Values
	grants           map[string]*grant
	accessTokens     map[string]bool
}

type grant struct {
	redirectURI, challenge, method, nonce string
	used                                  bool
}

func newFakeProvider(t *testing.T, now func() time.Time) *fakeProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProvider{
		t:            t,
		key:          key,
		now:          now,
		clientID:     "crated-client",
		clientSecret: "crated-secret",
		subject:      "1001",
		grants:       map[string]*grant{},
		accessTokens: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.keys)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfoHandler)
	closing := make(chan struct{})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		stalled := p.stall != "" && p.stall == r.URL.Path
		p.mu.Unlock()
		if stalled {
			// An unresponsive provider, until the test ends.
			select {
			case <-r.Context().Done():
			case <-closing:
			}
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	t.Cleanup(func() { close(closing) }) // runs first: Close waits for handlers
	return p
}

func (p *fakeProvider) issuer() string { return p.srv.URL }

func (p *fakeProvider) set(f func(p *fakeProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *fakeProvider) lastAuthorize() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.authorizeQueries) == 0 {
		p.t.Fatal("the provider's /authorize was never called")
	}
	return p.authorizeQueries[len(p.authorizeQueries)-1]
}

func (p *fakeProvider) discovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	doc := map[string]any{
		"issuer":                                p.issuer(),
		"authorization_endpoint":                p.issuer() + "/authorize",
		"token_endpoint":                        p.issuer() + "/token",
		"jwks_uri":                              p.issuer() + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
	if !p.noUserinfo {
		doc["userinfo_endpoint"] = p.issuer() + "/userinfo"
	}
	writeTestJSON(w, http.StatusOK, doc)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (p *fakeProvider) keys(w http.ResponseWriter, r *http.Request) {
	pub := p.key.PublicKey
	writeTestJSON(w, http.StatusOK, map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": b64(pub.N.Bytes()),
		"e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (p *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authorizeQueries = append(p.authorizeQueries, q)
	if q.Get("client_id") != p.clientID || q.Get("response_type") != "code" {
		http.Error(w, "bad client_id or response_type", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{}
	v.Set("state", q.Get("state"))
	if p.authorizeError != "" {
		v.Set("error", p.authorizeError)
		if p.authorizeDesc != "" {
			v.Set("error_description", p.authorizeDesc)
		}
	} else {
		code := rand.Text()
		p.grants[code] = &grant{
			redirectURI: q.Get("redirect_uri"),
			challenge:   q.Get("code_challenge"),
			method:      q.Get("code_challenge_method"),
			nonce:       q.Get("nonce"),
		}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, code string) {
	writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": code})
}

func (p *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if id != p.clientID || secret != p.clientSecret {
		writeTestJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, "unsupported_grant_type")
		return
	}
	g := p.grants[r.PostForm.Get("code")]
	if g == nil || g.used || g.redirectURI != r.PostForm.Get("redirect_uri") {
		oauthError(w, "invalid_grant")
		return
	}
	g.used = true
	// PKCE (RFC 7636 4.6): BASE64URL(SHA256(verifier)) must equal the
	// challenge sent to /authorize.
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if g.method != "S256" || g.challenge == "" || b64(sum[:]) != g.challenge {
		oauthError(w, "invalid_grant")
		return
	}
	access := rand.Text()
	p.accessTokens[access] = true
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600}
	if !p.noIDToken {
		resp["id_token"] = p.idToken(g.nonce)
	}
	writeTestJSON(w, http.StatusOK, resp)
}

// idToken signs an RS256 JWT (RFC 7515 compact serialization). Called with
// p.mu held.
func (p *fakeProvider) idToken(nonce string) string {
	now := p.now()
	claims := map[string]any{
		"iss":   p.issuer(),
		"sub":   p.subject,
		"aud":   p.clientID,
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"nonce": nonce,
	}
	if p.wrongNonce {
		claims["nonce"] = "not-the-nonce"
	}
	if p.wrongAudience {
		claims["aud"] = "some-other-client"
	}
	if p.expired {
		claims["iat"] = now.Add(-2 * time.Hour).Unix()
		claims["exp"] = now.Add(-time.Hour).Unix()
	}
	for k, v := range p.idClaims {
		claims[k] = v
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	input := b64(header) + "." + b64(payload)
	key := p.key
	if p.badSignature {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			p.t.Error(err)
		}
	}
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		p.t.Error(err)
	}
	return input + "." + b64(sig)
}

func (p *fakeProvider) userinfoHandler(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !p.accessTokens[access] {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeTestJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	claims := map[string]any{"sub": p.subject}
	if p.userinfoSub != "" {
		claims["sub"] = p.userinfoSub
	}
	for k, v := range p.userinfo {
		claims[k] = v
	}
	writeTestJSON(w, http.StatusOK, claims)
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// gitlabClaims are userinfo claims shaped like GitLab's: nickname, and
// groups as full paths.
func gitlabClaims(nickname string, groups ...string) map[string]any {
	g := make([]any, len(groups))
	for i, s := range groups {
		g[i] = s
	}
	return map[string]any{
		"name":               "Alice Liddell",
		"nickname":           nickname,
		"preferred_username": nickname,
		"email":              nickname + "@example.com",
		"email_verified":     true,
		"groups":             g,
		"sub_legacy":         "c0ffee",
	}
}

// dexClaims are shaped like Dex's: preferred_username and groups, no
// nickname.
func dexClaims(username string, groups ...string) map[string]any {
	g := make([]any, len(groups))
	for i, s := range groups {
		g[i] = s
	}
	return map[string]any{
		"name":               username,
		"preferred_username": username,
		"email":              username + "@example.com",
		"email_verified":     true,
		"groups":             g,
	}
}
