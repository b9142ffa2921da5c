package trustpub_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/sqlite"
	"github.com/crated/crated/trustpub"
)

const aud = "crates.example.com"

// clock is a settable time for the key-refresh rate limit.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc    *trustpub.Service
	store  *sqlite.Store
	github *testenv.CIIssuer
	gitlab *testenv.CIIssuer
	clock  *clock
	alice  *crated.User
}

func newFixture(t *testing.T) *fixture {
	store, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{store: store, github: testenv.StartCIIssuer(t), gitlab: testenv.StartCIIssuer(t), clock: &clock{t: time.Now()}}
	f.svc = trustpub.New(store, trustpub.Config{
		GitHubIssuer: f.github.URL, GitLabIssuers: []string{f.gitlab.URL}, Audience: aud,
		HTTPTimeout: 5 * time.Second, MinKeyRefresh: 30 * time.Second, Now: f.clock.now,
	})
	f.alice = &crated.User{Login: "alice", Name: "alice"}
	if err := store.CreateUser(t.Context(), f.alice); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) config(t *testing.T, in trustpub.NewConfig) *crated.TrustPubConfig {
	t.Helper()
	c, err := f.svc.CreateConfig(t.Context(), f.alice, in)
	if err != nil {
		t.Fatalf("CreateConfig(%+v): %v", in, err)
	}
	return c
}

func wantRefused(t *testing.T, what string, err error, detail string) {
	t.Helper()
	if !crated.IsCode(err, crated.EINVALID) || !strings.Contains(crated.ErrorMessage(err), detail) {
		t.Errorf("%s: got %v (code %q), want a 400 saying %q", what, err, crated.ErrorCode(err), detail)
	}
}

// Each of crates.io's checks refuses the ID token with a 400 that says why;
// the same token passes once the one thing wrong is put right.
func TestExchangeChecks(t *testing.T) {
	f := newFixture(t)
	f.config(t, trustpub.NewConfig{Provider: crated.TrustPubGitHub, Crate: "foo", Owner: "Org", Project: "Repo", Workflow: "release.yml"})
	f.config(t, trustpub.NewConfig{Provider: crated.TrustPubGitHub, Crate: "envcrate", Owner: "org", Project: "envrepo", Workflow: "release.yml", Environment: "Release"})
	gh := func(edit func(map[string]any)) string {
		c := f.github.GitHubClaims(aud, "org/repo", "release.yml")
		if edit != nil {
			edit(c)
		}
		return f.github.Sign(t, c)
	}
	ctx := t.Context()

	// Repository names compare case-insensitively (config "Org/Repo").
	good := gh(nil)
	token, err := f.svc.Exchange(ctx, good)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if !strings.HasPrefix(token, "crated_tp_") {
		t.Errorf("token %q lacks the prefix", token)
	}
	_, err = f.svc.Exchange(ctx, good)
	wantRefused(t, "replayed jti", err, "JWT has already been used")

	cases := []struct {
		name   string
		edit   func(map[string]any)
		detail string
	}{
		{"wrong repository", func(c map[string]any) { c["repository"] = "org/other" }, "No Trusted Publishing config found for repository `org/other`"},
		{"wrong workflow", func(c map[string]any) { c["workflow_ref"] = "org/repo/.github/workflows/ci.yml@refs/heads/main" }, "workflow filename `ci.yml` does not match"},
		{"wrong audience", func(c map[string]any) { c["aud"] = "crates.io" }, "audience"},
		{"expired", func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }, "expired"},
		{"not yet valid", func(c map[string]any) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() }, "not valid yet"},
		{"pull_request_target", func(c map[string]any) { c["event_name"] = "pull_request_target" }, "`pull_request_target` event"},
		{"workflow_run", func(c map[string]any) { c["event_name"] = "workflow_run" }, "`workflow_run` event"},
		{"no jti", func(c map[string]any) { delete(c, "jti") }, "jti"},
		{"unknown issuer", func(c map[string]any) { c["iss"] = "https://token.example" }, "unsupported JWT issuer"},
	}
	for _, tc := range cases {
		_, err := f.svc.Exchange(ctx, gh(tc.edit))
		wantRefused(t, tc.name, err, tc.detail)
	}
	// Within the leeway, expiry is forgiven.
	if _, err := f.svc.Exchange(ctx, gh(func(c map[string]any) { c["exp"] = time.Now().Add(-30 * time.Second).Unix() })); err != nil {
		t.Errorf("expired 30 s ago (leeway 60 s): %v", err)
	}

	// Environment: required when configured, compared ignoring case.
	env := func(e string) string {
		return gh(func(c map[string]any) {
			c["repository"], c["workflow_ref"] = "org/envrepo", "org/envrepo/.github/workflows/release.yml@refs/tags/v1"
			if e != "" {
				c["environment"] = e
			}
		})
	}
	_, err = f.svc.Exchange(ctx, env(""))
	wantRefused(t, "no environment", err, "environment")
	_, err = f.svc.Exchange(ctx, env("staging"))
	wantRefused(t, "wrong environment", err, "environment `staging` does not match")
	if _, err := f.svc.Exchange(ctx, env("release")); err != nil {
		t.Errorf("environment in another case: %v", err)
	}

	// A key the issuer does not publish, with its key id or another.
	stranger := testenv.NewKey(t)
	_, err = f.svc.Exchange(ctx, testenv.SignJWT(t, stranger, "key-1", f.github.GitHubClaims(aud, "org/repo", "release.yml")))
	wantRefused(t, "forged signature", err, "signature is not valid")
	_, err = f.svc.Exchange(ctx, testenv.SignJWT(t, stranger, "nobody", f.github.GitHubClaims(aud, "org/repo", "release.yml")))
	wantRefused(t, "unknown key", err, "does not publish")

	// The owner id is pinned at first use: a re-created account with the
	// same name (another id) is refused.
	_, err = f.svc.Exchange(ctx, gh(func(c map[string]any) { c["repository_owner_id"] = "9999" }))
	wantRefused(t, "other owner id", err, "owner's id does not match")
}

func TestExchangeGitLab(t *testing.T) {
	f := newFixture(t)
	f.config(t, trustpub.NewConfig{Provider: crated.TrustPubGitLab, Crate: "glcrate", Owner: "group/sub", Project: "proj", Workflow: ".gitlab-ci.yml", Environment: "production"})
	gl := func(edit func(map[string]any)) string {
		c := f.gitlab.GitLabClaims(aud, "group/sub/proj", ".gitlab-ci.yml")
		c["environment"] = "production"
		if edit != nil {
			edit(c)
		}
		return f.gitlab.Sign(t, c)
	}
	if _, err := f.svc.Exchange(t.Context(), gl(nil)); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	_, err := f.svc.Exchange(t.Context(), gl(func(c map[string]any) {
		c["ci_config_ref_uri"] = "gitlab.example/group/sub/proj//ci/other.yml@refs/heads/main"
	}))
	wantRefused(t, "other CI file", err, "CI configuration path `ci/other.yml` does not match")
	_, err = f.svc.Exchange(t.Context(), gl(func(c map[string]any) { c["project_path"] = "group/proj" }))
	wantRefused(t, "other project", err, "No Trusted Publishing config found")
	// A GitHub-shaped token from the GitLab issuer does not pass either.
	_, err = f.svc.Exchange(t.Context(), f.gitlab.Sign(t, f.gitlab.GitHubClaims(aud, "group/sub", "release.yml")))
	wantRefused(t, "GitHub claims from GitLab", err, "project_path")
}

// The issuer rotates its key: a token with the new key id makes crated
// fetch the key set again, but unknown key ids cannot make it fetch more
// than once per MinKeyRefresh.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	f.config(t, trustpub.NewConfig{Provider: crated.TrustPubGitHub, Crate: "foo", Owner: "org", Project: "repo", Workflow: "release.yml"})
	ex := func() error {
		_, err := f.svc.Exchange(t.Context(), f.github.Sign(t, f.github.GitHubClaims(aud, "org/repo", "release.yml")))
		return err
	}
	if err := ex(); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	if err := ex(); err != nil {
		t.Fatalf("second exchange: %v", err)
	}
	if n := f.github.JWKSFetches.Load(); n != 1 {
		t.Errorf("key set fetched %d times for two tokens with one key, want 1", n)
	}

	f.github.Rotate(t)
	// Just after a fetch: the new key id is not fetched yet.
	wantRefused(t, "new key within the refresh interval", ex(), "does not publish")
	if n := f.github.JWKSFetches.Load(); n != 1 {
		t.Errorf("key set fetched %d times, want still 1 (rate-limited)", n)
	}
	f.clock.add(31 * time.Second)
	if err := ex(); err != nil {
		t.Fatalf("exchange after rotation: %v", err)
	}
	if n := f.github.JWKSFetches.Load(); n != 2 {
		t.Errorf("key set fetched %d times after rotation, want 2", n)
	}

	// A flood of made-up key ids costs at most one fetch per interval.
	f.clock.add(31 * time.Second)
	stranger := testenv.NewKey(t)
	for i := range 5 {
		_, err := f.svc.Exchange(t.Context(), testenv.SignJWT(t, stranger, "made-up-"+string(rune('a'+i)), f.github.GitHubClaims(aud, "org/repo", "release.yml")))
		wantRefused(t, "made-up key id", err, "does not publish")
	}
	if n := f.github.JWKSFetches.Load(); n != 3 {
		t.Errorf("key set fetched %d times after five made-up key ids, want 3", n)
	}
}
