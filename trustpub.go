package crated

import "time"

// Trusted publishing (RFC 3691): a CI workflow proves who it is with its
// provider's OpenID Connect ID token and gets a short-lived token that may
// only publish the crates whose owners configured that workflow. The rules
// live in package trustpub; these are the records the stores keep.

// Trusted-publishing providers, the values of TrustPubConfig.Provider.
const (
	TrustPubGitHub = "github"
	TrustPubGitLab = "gitlab"
)

// TrustPubConfig is one trusted publisher: the CI workflow allowed to
// publish one crate.
type TrustPubConfig struct {
	ID int64
	// Provider is TrustPubGitHub or TrustPubGitLab.
	Provider string
	// Issuer is the OpenID issuer whose ID tokens the config accepts (one
	// config per GitLab instance).
	Issuer string
	// Crate is the crate's name as given, CrateCanon its canonical name
	// (cargo.CanonicalName). The crate may not exist yet: then the config is
	// a pending publisher and reserves the name for its creator.
	Crate      string
	CrateCanon string
	// Owner is GitHub's repository owner or GitLab's namespace; Project is
	// the repository or project name.
	Owner   string
	Project string
	// RepoKey is lowercase "owner/project", what an exchange looks configs
	// up by: repositories match case-insensitively.
	RepoKey string
	// OwnerID is the provider's numeric id of the owner (repository_owner_id
	// or namespace_id), "" until the first exchange pins it: it stops a
	// deleted and re-created account of the same name from publishing.
	OwnerID string
	// Workflow is the workflow file name (GitHub, "release.yml") or the CI
	// configuration path (GitLab, ".gitlab-ci.yml").
	Workflow string
	// Environment, when not "", is the deployment environment the job must
	// run in (compared case-insensitively).
	Environment string
	CreatedBy   int64 // user id; the first owner of a pending crate
	CreatedAt   time.Time
}

// TrustPubToken is an issued trusted-publishing token. Only its hash is
// kept.
type TrustPubToken struct {
	// Hash is the lowercase hex SHA-256 of the token string.
	Hash string
	// ConfigIDs are the configs that matched the exchange: the token may
	// publish their crates, and only while they exist.
	ConfigIDs []int64
	// Publisher says which CI job got it, for the audit log
	// ("github:owner/repo workflow release.yml").
	Publisher string
	ExpiresAt time.Time
}
