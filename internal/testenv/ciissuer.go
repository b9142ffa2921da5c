package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// CIIssuer is a local OpenID issuer that signs ID tokens shaped like
// GitHub Actions' and GitLab CI's, for trusted-publishing tests. It serves
// /.well-known/openid-configuration and its key set; Rotate replaces the
// key, as real issuers do.
type CIIssuer struct {
	URL string
	// JWKSFetches counts the requests for the key set.
	JWKSFetches atomic.Int64

	mu  sync.Mutex
	key *rsa.PrivateKey
	kid string
	gen int
}

// StartCIIssuer starts an issuer with one fresh key.
func StartCIIssuer(t testing.TB) *CIIssuer {
	t.Helper()
	is := &CIIssuer{}
	is.Rotate(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.URL, "jwks_uri": is.URL + "/.well-known/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /.well-known/jwks", func(w http.ResponseWriter, r *http.Request) {
		is.JWKSFetches.Add(1)
		is.mu.Lock()
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: is.kid, Algorithm: "RS256", Use: "sig"}}}
		is.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	is.URL = srv.URL
	return is
}

// NewKey returns a fresh RSA key, for signing with a key the issuer does
// not publish.
func NewKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Rotate replaces the issuer's key with a new one under a new key id; the
// old key is no longer published.
func (is *CIIssuer) Rotate(t testing.TB) {
	k := NewKey(t)
	is.mu.Lock()
	defer is.mu.Unlock()
	is.gen++
	is.key, is.kid = k, "key-"+strconv.Itoa(is.gen)
}

// Sign signs claims with the issuer's current key.
func (is *CIIssuer) Sign(t testing.TB, claims map[string]any) string {
	is.mu.Lock()
	k, kid := is.key, is.kid
	is.mu.Unlock()
	return SignJWT(t, k, kid, claims)
}

// SignJWT signs claims (RS256) as a JWT with key id kid.
func SignJWT(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// GitHubClaims are the claims of a GitHub Actions ID token for a push to
// main of repository ("owner/name") running .github/workflows/workflow,
// with a fresh jti, valid for 5 minutes from now.
func (is *CIIssuer) GitHubClaims(aud, repository, workflow string) map[string]any {
	now := time.Now().Unix()
	owner := repository
	for i := range repository {
		if repository[i] == '/' {
			owner = repository[:i]
			break
		}
	}
	return map[string]any{
		"iss": is.URL, "aud": aud, "iat": now, "nbf": now - 5, "exp": now + 300, "jti": randomID(),
		"sub":                 "repo:" + repository + ":ref:refs/heads/main",
		"repository":          repository,
		"repository_owner":    owner,
		"repository_owner_id": "4242",
		"repository_id":       "777",
		"workflow_ref":        repository + "/.github/workflows/" + workflow + "@refs/heads/main",
		"job_workflow_ref":    repository + "/.github/workflows/" + workflow + "@refs/heads/main",
		"event_name":          "push",
		"ref":                 "refs/heads/main",
		"sha":                 "0123456789abcdef0123456789abcdef01234567",
		"runner_environment":  "github-hosted",
	}
}

// GitLabClaims are the claims of a GitLab CI ID token of project
// ("group/sub/project") running CI configuration file path.
func (is *CIIssuer) GitLabClaims(aud, projectPath, path string) map[string]any {
	now := time.Now().Unix()
	ns := projectPath
	for i := len(projectPath) - 1; i >= 0; i-- {
		if projectPath[i] == '/' {
			ns = projectPath[:i]
			break
		}
	}
	host := is.URL[len("http://"):]
	return map[string]any{
		"iss": is.URL, "aud": aud, "iat": now, "nbf": now - 5, "exp": now + 300, "jti": randomID(),
		"sub":               "project_path:" + projectPath + ":ref_type:branch:ref:main",
		"project_path":      projectPath,
		"project_id":        "99",
		"namespace_path":    ns,
		"namespace_id":      "55",
		"ci_config_ref_uri": host + "/" + projectPath + "//" + path + "@refs/heads/main",
		"pipeline_source":   "push",
		"ref":               "main",
		"ref_type":          "branch",
	}
}
