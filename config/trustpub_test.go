package config

import (
	"os"
	"path/filepath"
	"testing"
)

// Trusted publishing is on by default, and each provider is turned off by
// emptying its issuers, in the file or the environment.
func TestTrustedPublishingOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crated.toml")
	if err := os.WriteFile(path, []byte("[trusted_publishing]\ngithub_issuer = \"\"\ngitlab_issuers = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, path, nil, nil)
	eq(t, "github_issuer", c.TrustedPublishing.GitHubIssuer, "")
	eq(t, "gitlab_issuers", len(c.TrustedPublishing.GitLabIssuers), 0)

	c = mustLoad(t, "", []string{
		"CRATED_TRUSTED_PUBLISHING_GITLAB_ISSUERS=https://gitlab.com,https://git.example.com/",
		"CRATED_TRUSTED_PUBLISHING_AUDIENCE=crates.example.com",
	}, nil)
	eq(t, "github_issuer", c.TrustedPublishing.GitHubIssuer, DefaultGitHubIssuer)
	eq(t, "gitlab_issuers", c.TrustedPublishing.GitLabIssuers, []string{"https://gitlab.com", "https://git.example.com/"})
	eq(t, "audience", c.TrustedPublishing.Audience, "crates.example.com")
}
