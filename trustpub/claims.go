package trustpub

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/crated/crated"
)

// leeway is the clock skew allowed on exp, nbf and iat (crates.io's).
const leeway = 60 * time.Second

// audience is the "aud" claim: a string or a list of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// claims are the ID token's claims of both providers; each uses its own.
type claims struct {
	Issuer    string   `json:"iss"`
	Audience  audience `json:"aud"`
	Expiry    *float64 `json:"exp"`
	NotBefore *float64 `json:"nbf"`
	IssuedAt  *float64 `json:"iat"`
	ID        string   `json:"jti"`

	// GitHub Actions.
	Repository        string `json:"repository"`
	RepositoryOwnerID string `json:"repository_owner_id"`
	WorkflowRef       string `json:"workflow_ref"`
	EventName         string `json:"event_name"`

	// GitLab CI.
	ProjectPath     string `json:"project_path"`
	NamespaceID     string `json:"namespace_id"`
	CIConfigRefURI  string `json:"ci_config_ref_uri"`
	EnvironmentName string `json:"environment"`
}

func invalid(format string, args ...any) error {
	return crated.Errorf(crated.EINVALID, format, args...)
}

func unix(f float64) time.Time { return time.Unix(int64(f), 0) }

// checkCommon checks the claims every provider shares: audience, time
// window (with leeway) and a jti to make the token single-use.
func (c *claims) checkCommon(aud string, now time.Time) error {
	ok := false
	for _, a := range c.Audience {
		ok = ok || a == aud
	}
	if !ok {
		return invalid("the JWT's audience (`aud`) is not this registry's: expected `%s`", aud)
	}
	if c.Expiry == nil {
		return invalid("the JWT has no expiry (`exp`)")
	}
	if now.After(unix(*c.Expiry).Add(leeway)) {
		return invalid("the JWT has expired")
	}
	if c.NotBefore != nil && now.Add(leeway).Before(unix(*c.NotBefore)) {
		return invalid("the JWT is not valid yet (`nbf`)")
	}
	if c.IssuedAt != nil && now.Add(leeway).Before(unix(*c.IssuedAt)) {
		return invalid("the JWT was issued in the future (`iat`)")
	}
	if c.ID == "" {
		return invalid("the JWT has no id (`jti`)")
	}
	return nil
}

// refusedEvents are GitHub events that run a workflow with the base
// repository's permissions for code from somewhere else.
var refusedEvents = map[string]bool{"pull_request_target": true, "workflow_run": true}

// identity is what a checked ID token says about the CI job, in the
// provider-neutral terms of a TrustPubConfig.
type identity struct {
	provider    string
	repoKey     string // lowercase owner/project
	ownerID     string
	workflow    string // file name (GitHub) or path (GitLab)
	environment string
	// publisher is the audit log's "how authenticated".
	publisher string
}

// githubIdentity reads a GitHub Actions ID token.
func (c *claims) githubIdentity() (*identity, error) {
	if refusedEvents[c.EventName] {
		return nil, invalid("Trusted Publishing tokens are not allowed for the `%s` event", c.EventName)
	}
	owner, name, ok := strings.Cut(c.Repository, "/")
	if !ok || owner == "" || name == "" {
		return nil, invalid("the JWT's `repository` claim is not `owner/name`")
	}
	if c.RepositoryOwnerID == "" {
		return nil, invalid("the JWT has no `repository_owner_id` claim")
	}
	file, ok := githubWorkflowFile(c.WorkflowRef)
	if !ok {
		return nil, invalid("the JWT's `workflow_ref` claim does not name a workflow file under .github/workflows/")
	}
	pub := "github:" + c.Repository + " workflow " + c.WorkflowRef
	if c.EnvironmentName != "" {
		pub += " environment " + c.EnvironmentName
	}
	return &identity{
		provider: crated.TrustPubGitHub, repoKey: strings.ToLower(c.Repository), ownerID: c.RepositoryOwnerID,
		workflow: file, environment: c.EnvironmentName, publisher: pub,
	}, nil
}

// githubWorkflowFile extracts "release.yml" from
// "owner/repo/.github/workflows/release.yml@refs/heads/main".
func githubWorkflowFile(ref string) (string, bool) {
	path, _, _ := strings.Cut(ref, "@")
	_, file, ok := strings.Cut(path, "/.github/workflows/")
	if !ok || file == "" || strings.Contains(file, "/") {
		return "", false
	}
	return file, true
}

// gitlabIdentity reads a GitLab CI ID token.
func (c *claims) gitlabIdentity() (*identity, error) {
	i := strings.LastIndexByte(c.ProjectPath, '/')
	if i <= 0 || i == len(c.ProjectPath)-1 {
		return nil, invalid("the JWT's `project_path` claim is not `namespace/project`")
	}
	if c.NamespaceID == "" {
		return nil, invalid("the JWT has no `namespace_id` claim")
	}
	file, ok := gitlabConfigPath(c.CIConfigRefURI)
	if !ok {
		return nil, invalid("the JWT's `ci_config_ref_uri` claim does not name a CI configuration file")
	}
	pub := "gitlab:" + c.ProjectPath + " ci_config " + c.CIConfigRefURI
	if c.EnvironmentName != "" {
		pub += " environment " + c.EnvironmentName
	}
	return &identity{
		provider: crated.TrustPubGitLab, repoKey: strings.ToLower(c.ProjectPath), ownerID: c.NamespaceID,
		workflow: file, environment: c.EnvironmentName, publisher: pub,
	}, nil
}

// gitlabConfigPath extracts ".gitlab-ci.yml" from
// "gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main".
func gitlabConfigPath(uri string) (string, bool) {
	path, _, _ := strings.Cut(uri, "@")
	_, file, ok := strings.Cut(path, "//")
	return file, ok && file != ""
}

// mismatch says why config c does not accept identity id, "" when it does.
func (id *identity) mismatch(c *crated.TrustPubConfig) string {
	what := "workflow filename"
	if id.provider == crated.TrustPubGitLab {
		what = "CI configuration path"
	}
	switch {
	case c.OwnerID != "" && c.OwnerID != id.ownerID:
		return "the repository owner's id does not match the one recorded for the configuration (was the account re-created?)"
	case c.Workflow != id.workflow:
		return "the " + what + " `" + id.workflow + "` does not match"
	case c.Environment != "" && !strings.EqualFold(c.Environment, id.environment):
		return "the environment `" + id.environment + "` does not match"
	}
	return ""
}
