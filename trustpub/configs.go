package trustpub

import (
	"context"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

func canonical(name string) string { return cargo.CanonicalName(name) }

// NewConfig is a configuration as a crate owner asks for it, in
// provider-neutral terms.
type NewConfig struct {
	Provider string
	// Issuer picks a GitLab instance; "" is the first configured one.
	Issuer      string
	Crate       string
	Owner       string // repository_owner / namespace
	Project     string // repository_name / project
	Workflow    string // workflow_filename / workflow_filepath
	Environment string
}

// maxField bounds every text field of a configuration.
const maxField = 255

// CreateConfig adds a trusted publisher for a crate u owns, or for a crate
// that does not exist yet (a pending publisher, which reserves the name for
// u).
func (s *Service) CreateConfig(ctx context.Context, u *crated.User, in NewConfig) (*crated.TrustPubConfig, error) {
	iss, err := s.issuerFor(in.Provider, in.Issuer)
	if err != nil {
		return nil, err
	}
	if err := checkFields(in); err != nil {
		return nil, err
	}
	canon := canonical(in.Crate)
	name := in.Crate
	c, err := s.store.CrateByName(ctx, canon)
	switch {
	case crated.IsCode(err, crated.ENOTFOUND):
		// A pending publisher: one user's reservation at a time.
		others, err := s.store.TrustPubConfigsByCrate(ctx, canon)
		if err != nil {
			return nil, err
		}
		for _, o := range others {
			if o.CreatedBy != u.ID {
				return nil, crated.Errorf(crated.ECONFLICT, "the crate name `%s` is already reserved by another user's pending trusted publisher", o.Crate)
			}
		}
	case err != nil:
		return nil, err
	default:
		if err := s.requireOwner(ctx, c, u); err != nil {
			return nil, err
		}
		name = c.Name
	}
	cfg := &crated.TrustPubConfig{
		Provider: in.Provider, Issuer: iss, Crate: name, CrateCanon: canon,
		Owner: in.Owner, Project: in.Project, RepoKey: strings.ToLower(in.Owner + "/" + in.Project),
		Workflow: in.Workflow, Environment: in.Environment, CreatedBy: u.ID,
	}
	if err := s.store.CreateTrustPubConfig(ctx, cfg); err != nil {
		return nil, err
	}
	s.audit(ctx, u.ID, "trustpub_config_add", name, "", describe(cfg))
	return cfg, nil
}

// Configs lists the configurations of one provider for a crate; owners only
// (for a pending crate, its reserving user).
func (s *Service) Configs(ctx context.Context, u *crated.User, provider, crate string) ([]*crated.TrustPubConfig, error) {
	if crate == "" {
		return nil, crated.Errorf(crated.EINVALID, "the `crate` query parameter is required")
	}
	canon := canonical(crate)
	all, err := s.store.TrustPubConfigsByCrate(ctx, canon)
	if err != nil {
		return nil, err
	}
	if err := s.mayManage(ctx, u, canon, crate, all); err != nil {
		return nil, err
	}
	out := []*crated.TrustPubConfig{}
	for _, c := range all {
		if c.Provider == provider {
			out = append(out, c)
		}
	}
	return out, nil
}

// DeleteConfig removes a configuration of its crate's owners (or, pending,
// of its creator). Tokens issued through it stop granting its crate.
func (s *Service) DeleteConfig(ctx context.Context, u *crated.User, provider string, id int64) error {
	cfg, err := s.store.TrustPubConfig(ctx, id)
	if err == nil && cfg.Provider != provider {
		err = crated.Errorf(crated.ENOTFOUND, "trusted publishing configuration %d does not exist", id)
	}
	if err != nil {
		return err
	}
	if err := s.mayManage(ctx, u, cfg.CrateCanon, cfg.Crate, []*crated.TrustPubConfig{cfg}); err != nil {
		return err
	}
	if err := s.store.DeleteTrustPubConfig(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, u.ID, "trustpub_config_remove", cfg.Crate, "", describe(cfg))
	return nil
}

// SetTrustedOnly turns a crate's "trusted publishing only" switch; owners
// only.
func (s *Service) SetTrustedOnly(ctx context.Context, u *crated.User, crate string, on bool) (*crated.Crate, error) {
	c, err := s.store.CrateByName(ctx, canonical(crate))
	if crated.IsCode(err, crated.ENOTFOUND) {
		return nil, crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist", crate)
	} else if err != nil {
		return nil, err
	}
	if err := s.requireOwner(ctx, c, u); err != nil {
		return nil, err
	}
	if err := s.store.SetTrustPubOnly(ctx, c.ID, on); err != nil {
		return nil, err
	}
	detail := "off"
	if on {
		detail = "on"
	}
	s.audit(ctx, u.ID, "trustpub_only", c.Name, "", detail)
	return c, nil
}

// TrustedOnly reports a crate's switch.
func (s *Service) TrustedOnly(ctx context.Context, c *crated.Crate) (bool, error) {
	return s.store.TrustPubOnly(ctx, c.ID)
}

// mayManage allows the owners of an existing crate, and the creators of
// the configurations of a pending one.
func (s *Service) mayManage(ctx context.Context, u *crated.User, canon, name string, configs []*crated.TrustPubConfig) error {
	c, err := s.store.CrateByName(ctx, canon)
	if err == nil {
		return s.requireOwner(ctx, c, u)
	}
	if !crated.IsCode(err, crated.ENOTFOUND) {
		return err
	}
	for _, cfg := range configs {
		if cfg.CreatedBy == u.ID {
			return nil
		}
	}
	if len(configs) == 0 {
		return crated.Errorf(crated.ENOTFOUND, "crate `%s` does not exist", name)
	}
	return crated.Errorf(crated.EFORBIDDEN, "you did not configure the pending trusted publisher of `%s`", name)
}

func (s *Service) requireOwner(ctx context.Context, c *crated.Crate, u *crated.User) error {
	ok, err := s.store.IsOwner(ctx, c.ID, u.ID)
	if err != nil {
		return err
	}
	if !ok {
		return crated.Errorf(crated.EFORBIDDEN, "you are not an owner of crate `%s`", c.Name)
	}
	return nil
}

// issuerFor returns the issuer a new configuration of provider accepts.
func (s *Service) issuerFor(provider, want string) (string, error) {
	switch provider {
	case crated.TrustPubGitHub:
		if s.github == "" {
			return "", crated.Errorf(crated.EINVALID, "trusted publishing from GitHub is turned off on this registry")
		}
		return s.github, nil
	case crated.TrustPubGitLab:
		if len(s.cfg.GitLabIssuers) == 0 {
			return "", crated.Errorf(crated.EINVALID, "trusted publishing from GitLab is turned off on this registry")
		}
		if want == "" {
			return strings.TrimSuffix(s.cfg.GitLabIssuers[0], "/"), nil
		}
		want = strings.TrimSuffix(want, "/")
		if !s.gitlab[want] {
			return "", crated.Errorf(crated.EINVALID, "GitLab instance `%s` is not one this registry trusts (trusted_publishing.gitlab_issuers)", want)
		}
		return want, nil
	}
	return "", crated.Errorf(crated.EINVALID, "unknown trusted publishing provider %q", provider)
}

// checkFields validates a new configuration's text.
func checkFields(in NewConfig) error {
	if err := cargo.ValidateName(in.Crate); err != nil {
		return err
	}
	owner, project, workflow := "repository_owner", "repository_name", "workflow_filename"
	if in.Provider == crated.TrustPubGitLab {
		owner, project, workflow = "namespace", "project", "workflow_filepath"
	}
	for _, f := range []struct{ key, v string }{{owner, in.Owner}, {project, in.Project}, {workflow, in.Workflow}} {
		if strings.TrimSpace(f.v) == "" {
			return crated.Errorf(crated.EINVALID, "`%s` is required", f.key)
		}
	}
	for _, f := range []struct{ key, v string }{{owner, in.Owner}, {project, in.Project}, {workflow, in.Workflow}, {"environment", in.Environment}} {
		if len(f.v) > maxField {
			return crated.Errorf(crated.EINVALID, "`%s` is longer than %d bytes", f.key, maxField)
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
			return crated.Errorf(crated.EINVALID, "`%s` must not contain spaces or control characters", f.key)
		}
	}
	if in.Provider == crated.TrustPubGitHub {
		if strings.Contains(in.Owner, "/") || strings.Contains(in.Project, "/") {
			return crated.Errorf(crated.EINVALID, "`repository_owner` and `repository_name` must not contain `/`")
		}
		if strings.Contains(in.Workflow, "/") || !(strings.HasSuffix(in.Workflow, ".yml") || strings.HasSuffix(in.Workflow, ".yaml")) {
			return crated.Errorf(crated.EINVALID, "`workflow_filename` must be the file name of a workflow in .github/workflows/, ending in .yml or .yaml (e.g. `release.yml`)")
		}
	} else if strings.Contains(in.Project, "/") {
		return crated.Errorf(crated.EINVALID, "`project` must not contain `/` (nested groups belong in `namespace`)")
	}
	return nil
}

// describe is a configuration in the audit log.
func describe(c *crated.TrustPubConfig) string {
	d := c.Provider + ":" + c.Owner + "/" + c.Project + " workflow " + c.Workflow
	if c.Environment != "" {
		d += " environment " + c.Environment
	}
	return d
}
