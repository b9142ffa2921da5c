package trustpub

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/crated/crated"
)

// FuzzClaims feeds the claim checks the payload of a JWT, which comes from
// the network: whatever it holds, they answer a verdict (an EINVALID error
// or an identity) and never panic.
func FuzzClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"https://token.actions.githubusercontent.com","aud":"crates.example.com","exp":1e10,"iat":1,"nbf":1,"jti":"x",` +
		`"repository":"org/repo","repository_owner_id":"42","workflow_ref":"org/repo/.github/workflows/release.yml@refs/tags/v1","event_name":"push"}`))
	f.Add([]byte(`{"iss":"https://gitlab.com","aud":["a","crates.example.com"],"exp":1e10,"iat":1,"jti":"y",` +
		`"project_path":"group/sub/project","namespace_id":"7","ci_config_ref_uri":"gitlab.com/group/sub/project//.gitlab-ci.yml@refs/heads/main","environment":"release"}`))
	f.Add([]byte(`{"aud":17,"exp":-1e300,"workflow_ref":"@@/.github/workflows/","ci_config_ref_uri":"//"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var c claims
		if err := json.Unmarshal(payload, &c); err != nil {
			return
		}
		if err := c.checkCommon("crates.example.com", time.Unix(1_700_000_000, 0)); err != nil && !crated.IsCode(err, crated.EINVALID) {
			t.Fatalf("checkCommon: %v is not EINVALID", err)
		}
		for _, get := range []func() (*identity, error){c.githubIdentity, c.gitlabIdentity} {
			id, err := get()
			if err != nil {
				if !crated.IsCode(err, crated.EINVALID) {
					t.Fatalf("identity: %v is not EINVALID", err)
				}
				continue
			}
			id.mismatch(&crated.TrustPubConfig{Provider: id.provider, RepoKey: id.repoKey})
		}
	})
}
