package trustpub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"github.com/crated/crated"
)

// issuer is one OpenID issuer whose ID tokens are accepted: its discovery
// document names its key set (JWKS), whose keys are cached by key id. An ID
// token signed with a key id the cache does not hold makes it fetch the key
// set again (the issuer rotated its keys), at most once per minRefresh so
// that tokens with made-up key ids cannot turn the registry into a
// hammer on the issuer.
type issuer struct {
	url        string
	client     *http.Client
	timeout    time.Duration
	minRefresh time.Duration
	now        func() time.Time

	mu        sync.Mutex
	keys      map[string]*jose.JSONWebKey
	fetchedAt time.Time // of the last attempt, successful or not
	fetch     singleflight.Group
}

// maxDocument bounds the discovery document and the key set.
const maxDocument = 1 << 20

// key returns the issuer's public key with id kid.
func (is *issuer) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	is.mu.Lock()
	k, ok := is.keys[kid]
	refresh := is.fetchedAt.IsZero() || is.now().Sub(is.fetchedAt) >= is.minRefresh
	is.mu.Unlock()
	if ok {
		return k, nil
	}
	if !refresh {
		return nil, crated.Errorf(crated.EINVALID, "the JWT is signed with key `%s`, which issuer %s does not publish", kid, is.url)
	}
	// One fetch for every caller waiting on it, under a deadline of its own:
	// one caller's cancellation must not fail the others.
	_, err, _ := is.fetch.Do("keys", func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), is.timeout)
		defer cancel()
		keys, err := is.fetchKeys(ctx)
		is.mu.Lock()
		defer is.mu.Unlock()
		is.fetchedAt = is.now()
		if err == nil {
			is.keys = keys
		}
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	is.mu.Lock()
	k, ok = is.keys[kid]
	is.mu.Unlock()
	if !ok {
		return nil, crated.Errorf(crated.EINVALID, "the JWT is signed with key `%s`, which issuer %s does not publish", kid, is.url)
	}
	return k, nil
}

// fetchKeys reads the discovery document, checks that it is the issuer's,
// and reads the key set it names.
func (is *issuer) fetchKeys(ctx context.Context) (map[string]*jose.JSONWebKey, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := is.getJSON(ctx, strings.TrimSuffix(is.url, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	if strings.TrimSuffix(disc.Issuer, "/") != strings.TrimSuffix(is.url, "/") {
		return nil, crated.Errorf(crated.EBADGATEWAY, "the discovery document of issuer %s names issuer %q", is.url, disc.Issuer)
	}
	if disc.JWKSURI == "" {
		return nil, crated.Errorf(crated.EBADGATEWAY, "the discovery document of issuer %s has no jwks_uri", is.url)
	}
	var set jose.JSONWebKeySet
	if err := is.getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return nil, err
	}
	keys := map[string]*jose.JSONWebKey{}
	for i := range set.Keys {
		k := &set.Keys[i]
		if k.KeyID == "" || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys[k.KeyID] = k
	}
	return keys, nil
}

func (is *issuer) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return crated.Errorf(crated.EBADGATEWAY, "issuer %s: bad URL %q", is.url, url)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := is.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w (%w)", crated.Errorf(crated.EBADGATEWAY, "could not reach the OpenID issuer %s", is.url), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return crated.Errorf(crated.EBADGATEWAY, "the OpenID issuer %s answered %s for %s", is.url, resp.Status, url)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		return fmt.Errorf("%w (%w)", crated.Errorf(crated.EBADGATEWAY, "could not read from the OpenID issuer %s", is.url), err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return crated.Errorf(crated.EBADGATEWAY, "the OpenID issuer %s sent invalid JSON for %s", is.url, url)
	}
	return nil
}

// verify checks the JWT's RS256 signature with the issuer's key named by
// its kid, and returns its payload.
func (is *issuer) verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	kid := jws.Signatures[0].Header.KeyID
	if kid == "" {
		return nil, crated.Errorf(crated.EINVALID, "the JWT has no key id (`kid`)")
	}
	k, err := is.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(k)
	if err != nil {
		return nil, crated.Errorf(crated.EINVALID, "the JWT signature is not valid")
	}
	return payload, nil
}
