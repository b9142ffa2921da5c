package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

func tpManifest(name, vers string) string {
	return fmt.Sprintf("[package]\nname = %q\nversion = %q\nedition = \"2021\"\ndescription = \"trusted\"\nlicense = \"MIT\"\n", name, vers)
}

// tpFrame is a publish body for name@vers.
func tpFrame(t *testing.T, name, vers string) []byte {
	return testenv.Frame(testenv.Metadata(name, vers), testenv.Tarball(t, testenv.CrateFiles(name, vers)...))
}

func jsonBody(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantStatus checks a response's status and that its cargo error detail (or
// body) contains detail.
func wantStatus(t *testing.T, what string, status int, body []byte, wantCode int, detail string) {
	t.Helper()
	if status != wantCode || !strings.Contains(string(body), detail) {
		t.Errorf("%s: %d %s, want %d with %q", what, status, body, wantCode, detail)
	}
	if status >= 400 {
		var e struct {
			Errors []struct{ Detail string } `json:"errors"`
		}
		if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
			t.Errorf("%s: error body is not cargo's: %s", what, body)
		}
	}
}

// TestTrustedPublishing drives trusted publishing end to end against local
// GitHub- and GitLab-shaped issuers: configuration by an owner, exchange,
// stock cargo publishing with the short-lived token for that crate only,
// refusals elsewhere, revocation, a pending publisher creating its crate,
// the trusted-only switch, and the audit log.
func TestTrustedPublishing(t *testing.T) {
	github := testenv.StartCIIssuer(t)
	gitlab := testenv.StartCIIssuer(t)
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.TrustedPublishing.GitHubIssuer = github.URL
		c.TrustedPublishing.GitLabIssuers = []string{gitlab.URL}
	})
	// The default audience: base_url without its scheme, as
	// crates-io-auth-action asks for.
	aud := strings.TrimPrefix(srv.URL, "http://")
	api := srv.URL + "/api/v1"
	alice, bob, carol := srv.AddUser("alice"), srv.AddUser("bob"), srv.AddUser("carol")
	c := testenv.NewCargo(t, srv.IndexURL(), "")

	publish(t, c, testenv.Package(t, tpManifest("tpfoo", "0.1.0"), nil), alice, "--no-verify")
	publish(t, c, testenv.Package(t, tpManifest("tpother", "0.1.0"), nil), alice, "--no-verify")

	// Configuration: owners only, crates.io's shapes.
	ghConfig := jsonBody(t, map[string]any{"github_config": map[string]any{
		"crate": "tpfoo", "repository_owner": "Org", "repository_name": "Repo", "workflow_filename": "release.yml"}})
	status, body, _ := do(t, "POST", api+"/trusted_publishing/github_configs", bob, ghConfig)
	wantStatus(t, "config by a non-owner", status, body, 403, "not an owner of crate `tpfoo`")
	status, body, _ = do(t, "POST", api+"/trusted_publishing/github_configs", alice, ghConfig)
	var created struct {
		C struct {
			ID                int64   `json:"id"`
			Crate             string  `json:"crate"`
			RepositoryOwner   string  `json:"repository_owner"`
			RepositoryOwnerID *int64  `json:"repository_owner_id"`
			RepositoryName    string  `json:"repository_name"`
			WorkflowFilename  string  `json:"workflow_filename"`
			Environment       *string `json:"environment"`
			CreatedAt         string  `json:"created_at"`
		} `json:"github_config"`
	}
	if status != 200 || json.Unmarshal(body, &created) != nil || created.C.ID == 0 || created.C.Crate != "tpfoo" ||
		created.C.RepositoryName != "Repo" || created.C.WorkflowFilename != "release.yml" || created.C.Environment != nil || created.C.CreatedAt == "" {
		t.Fatalf("create config: %d %s", status, body)
	}
	status, body, _ = do(t, "GET", api+"/trusted_publishing/github_configs?crate=tpfoo", alice, nil)
	if status != 200 || !strings.Contains(string(body), `"github_configs":[{"id":`) {
		t.Errorf("list configs: %d %s", status, body)
	}
	status, body, _ = do(t, "GET", api+"/trusted_publishing/github_configs?crate=tpfoo", bob, nil)
	wantStatus(t, "list by a non-owner", status, body, 403, "not an owner")

	exchange := func(jwt string) (int, []byte, string) {
		t.Helper()
		status, body, _ := do(t, "POST", api+"/trusted_publishing/tokens", "", jsonBody(t, map[string]string{"jwt": jwt}))
		var out struct {
			Token string `json:"token"`
		}
		json.Unmarshal(body, &out)
		return status, body, out.Token
	}
	jwt := github.Sign(t, github.GitHubClaims(aud, "org/repo", "release.yml"))
	status, body, token := exchange(jwt)
	if status != 200 || token == "" {
		t.Fatalf("exchange: %d %s", status, body)
	}
	status, body, _ = exchange(jwt)
	wantStatus(t, "replayed jti", status, body, 400, "JWT has already been used")
	status, body, _ = exchange(github.Sign(t, github.GitHubClaims("crates.io", "org/repo", "release.yml")))
	wantStatus(t, "wrong audience", status, body, 400, "audience")
	status, body, _ = exchange(github.Sign(t, github.GitHubClaims(aud, "org/repo", "ci.yml")))
	wantStatus(t, "wrong workflow", status, body, 400, "workflow filename `ci.yml` does not match")

	// Stock cargo publishes with the short-lived token, for that crate only.
	publish(t, c, testenv.Package(t, tpManifest("tpfoo", "0.2.0"), nil), token)
	if _, entry := indexFile(t, srv, "tp/fo/tpfoo"); !strings.Contains(entry, `"vers":"0.2.0"`) {
		t.Errorf("tpfoo 0.2.0 is not in the index: %s", entry)
	}
	out, err := c.Run(testenv.Package(t, tpManifest("tpother", "0.2.0"), nil),
		"publish", "--registry", "crated", "--token", token, "--allow-dirty", "--no-verify")
	if err == nil || !strings.Contains(out, "The provided access token is not valid for crate `tpother`") {
		t.Errorf("publish of another crate with the token: %v\n%s", err, out)
	}
	// It cannot yank or change owners.
	status, body, _ = do(t, "DELETE", api+"/crates/tpfoo/0.1.0/yank", token, nil)
	wantStatus(t, "yank with the token", status, body, 403, "trusted publishing tokens can only publish")
	status, body, _ = do(t, "PUT", api+"/crates/tpfoo/owners", token, []byte(`{"users":["bob"]}`))
	wantStatus(t, "owners with the token", status, body, 403, "trusted publishing tokens can only publish")

	// Revocation, as the action's post step does it.
	status, body, _ = do(t, "DELETE", api+"/trusted_publishing/tokens", "Bearer "+token, nil)
	if status != 204 {
		t.Errorf("revoke: %d %s", status, body)
	}
	status, body, _ = do(t, "PUT", api+"/crates/new", token, tpFrame(t, "tpfoo", "0.2.1"))
	wantStatus(t, "publish with a revoked token", status, body, 403, "Invalid authentication token")
	status, body, _ = do(t, "DELETE", api+"/trusted_publishing/tokens", "Bearer "+token, nil)
	wantStatus(t, "revoke twice", status, body, 403, "Invalid authentication token")

	// A pending publisher (GitLab): the name is bob's reservation.
	status, body, _ = do(t, "POST", api+"/trusted_publishing/gitlab_configs", bob, jsonBody(t, map[string]any{"gitlab_config": map[string]any{
		"crate": "tp-pending", "namespace": "group/sub", "project": "proj", "workflow_filepath": ".gitlab-ci.yml"}}))
	if status != 200 || !strings.Contains(string(body), `"gitlab_config":{"id":`) {
		t.Fatalf("create pending gitlab config: %d %s", status, body)
	}
	status, body, _ = do(t, "POST", api+"/trusted_publishing/github_configs", carol, jsonBody(t, map[string]any{"github_config": map[string]any{
		"crate": "tp_pending", "repository_owner": "carol", "repository_name": "x", "workflow_filename": "release.yml"}}))
	wantStatus(t, "second user's pending config for the name", status, body, 409, "already reserved")
	status, body, _ = do(t, "PUT", api+"/crates/new", carol, tpFrame(t, "tp-pending", "1.0.0"))
	wantStatus(t, "ordinary publish of a reserved name", status, body, 403, "reserved by a pending trusted publisher")
	_, _, glToken := exchange(gitlab.Sign(t, gitlab.GitLabClaims(aud, "group/sub/proj", ".gitlab-ci.yml")))
	if glToken == "" {
		t.Fatal("GitLab exchange gave no token")
	}
	status, body, _ = do(t, "PUT", api+"/crates/new", glToken, tpFrame(t, "tp-pending", "1.0.0"))
	if status != 200 {
		t.Fatalf("trusted publish creating tp-pending: %d %s", status, body)
	}
	var owners struct {
		Users []struct{ Login string } `json:"users"`
	}
	if getJSON(t, api+"/crates/tp-pending/owners", &owners); len(owners.Users) != 1 || owners.Users[0].Login != "bob" {
		t.Errorf("owners of tp-pending = %+v, want bob alone", owners.Users)
	}

	// Trusted publishing only: ordinary tokens are refused on publish.
	patch := []byte(`{"crate":{"trustpub_only":true}}`)
	status, body, _ = do(t, "PATCH", api+"/crates/tpfoo", bob, patch)
	wantStatus(t, "trustpub_only by a non-owner", status, body, 403, "not an owner")
	status, body, _ = do(t, "PATCH", api+"/crates/tpfoo", alice, patch)
	if status != 200 || !strings.Contains(string(body), `"trustpub_only":true`) {
		t.Fatalf("trustpub_only: %d %s", status, body)
	}
	out, err = c.Run(testenv.Package(t, tpManifest("tpfoo", "0.3.0"), nil),
		"publish", "--registry", "crated", "--token", alice, "--allow-dirty", "--no-verify")
	if err == nil || !strings.Contains(out, "can only be published through trusted publishing") {
		t.Errorf("ordinary publish of a trusted-only crate: %v\n%s", err, out)
	}
	_, _, token = exchange(github.Sign(t, github.GitHubClaims(aud, "org/repo", "release.yml")))
	status, body, _ = do(t, "PUT", api+"/crates/new", token, tpFrame(t, "tpfoo", "0.3.0"))
	if status != 200 {
		t.Errorf("trusted publish of a trusted-only crate: %d %s", status, body)
	}

	// The audit log names the CI job as the way the publisher logged in.
	entries, err := srv.Store.Audit(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "trustpub") {
			seen = append(seen, e.Action+" "+e.Crate+" "+e.Version+" "+e.Detail)
		}
	}
	all := strings.Join(seen, "\n")
	for _, want := range []string{
		"trustpub_config_add tpfoo  github:Org/Repo workflow release.yml",
		"trustpub_publish tpfoo 0.2.0 github:org/repo workflow org/repo/.github/workflows/release.yml@refs/heads/main",
		"trustpub_publish tp-pending 1.0.0 gitlab:group/sub/proj ci_config",
		"trustpub_only tpfoo  on",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("audit log lacks %q; trusted publishing entries:\n%s", want, all)
		}
	}

	// Deleting the configuration ends it, for tokens already issued too.
	_, _, token = exchange(github.Sign(t, github.GitHubClaims(aud, "org/repo", "release.yml")))
	status, body, _ = do(t, "DELETE", fmt.Sprintf("%s/trusted_publishing/github_configs/%d", api, created.C.ID), alice, nil)
	if status != 204 {
		t.Fatalf("delete config: %d %s", status, body)
	}
	status, body, _ = do(t, "PUT", api+"/crates/new", token, tpFrame(t, "tpfoo", "0.4.0"))
	wantStatus(t, "token of a deleted config", status, body, 403, "deleted")
	status, body, _ = exchange(github.Sign(t, github.GitHubClaims(aud, "org/repo", "release.yml")))
	wantStatus(t, "exchange after delete", status, body, 400, "No Trusted Publishing config found")
}

// On a private registry (auth_required), cargo reads the index with the
// token it publishes with: a trusted-publishing token must be able to read.
// An explicit audience replaces the default one.
func TestTrustedPublishingPrivateRegistry(t *testing.T) {
	github := testenv.StartCIIssuer(t)
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.Server.AuthRequired = true
		c.TrustedPublishing.GitHubIssuer = github.URL
		c.TrustedPublishing.GitLabIssuers = nil
		c.TrustedPublishing.Audience = "crates.example.com"
	})
	api := srv.URL + "/api/v1"
	alice := srv.AddUser("alice")
	providers := "\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n"
	c := testenv.NewCargo(t, srv.IndexURL(), providers)
	publish(t, c, testenv.Package(t, tpManifest("private-tp", "0.1.0"), nil), alice, "--no-verify")
	status, body, _ := do(t, "POST", api+"/trusted_publishing/github_configs", alice, jsonBody(t, map[string]any{"github_config": map[string]any{
		"crate": "private-tp", "repository_owner": "org", "repository_name": "repo", "workflow_filename": "release.yml"}}))
	if status != 200 {
		t.Fatalf("create config: %d %s", status, body)
	}
	status, body, _ = do(t, "POST", api+"/trusted_publishing/gitlab_configs", alice, jsonBody(t, map[string]any{"gitlab_config": map[string]any{
		"crate": "private-tp", "namespace": "g", "project": "p", "workflow_filepath": ".gitlab-ci.yml"}}))
	wantStatus(t, "GitLab turned off", status, body, 400, "GitLab is turned off")

	exchange := func(aud string) (int, []byte, string) {
		jwt := github.Sign(t, github.GitHubClaims(aud, "org/repo", "release.yml"))
		status, body, _ := do(t, "POST", api+"/trusted_publishing/tokens", "", jsonBody(t, map[string]string{"jwt": jwt}))
		var out struct {
			Token string `json:"token"`
		}
		json.Unmarshal(body, &out)
		return status, body, out.Token
	}
	status, body, _ = exchange(strings.TrimPrefix(srv.URL, "http://"))
	wantStatus(t, "default audience when audience is set", status, body, 400, "audience")
	status, body, token := exchange("crates.example.com")
	if status != 200 {
		t.Fatalf("exchange: %d %s", status, body)
	}
	c.Env = []string{"CARGO_REGISTRIES_CRATED_TOKEN=" + token}
	c.MustRun(testenv.Package(t, tpManifest("private-tp", "0.2.0"), nil), "publish", "--registry", "crated", "--allow-dirty", "--no-verify")
	if status, _, _ := do(t, "GET", srv.URL+"/index/pr/iv/private-tp", token, nil); status != 200 {
		t.Errorf("index read with the trusted-publishing token: %d", status)
	}
	do(t, "DELETE", api+"/trusted_publishing/tokens", "Bearer "+token, nil)
	if status, _, _ := do(t, "GET", srv.URL+"/index/pr/iv/private-tp", token, nil); status != 401 {
		t.Errorf("index read with a revoked token: %d, want 401", status)
	}
}

// trusted_publishing.http_timeout bounds the calls to an issuer: one that
// never answers costs the exchange a 502, not a request that hangs.
func TestTrustedPublishingIssuerTimeout(t *testing.T) {
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hanging.Close()
	signer := testenv.StartCIIssuer(t)
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.TrustedPublishing.GitHubIssuer = hanging.URL
		c.TrustedPublishing.HTTPTimeout = time.Second
	})
	claims := signer.GitHubClaims(strings.TrimPrefix(srv.URL, "http://"), "org/repo", "release.yml")
	claims["iss"] = hanging.URL
	// A generous client deadline: without http_timeout the request would
	// hang past it and fail here rather than stall the suite.
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Post(srv.URL+"/api/v1/trusted_publishing/tokens", "application/json",
		bytes.NewReader(jsonBody(t, map[string]string{"jwt": signer.Sign(t, claims)})))
	if err != nil {
		t.Fatalf("exchange against a hanging issuer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	wantStatus(t, "hanging issuer", resp.StatusCode, body, 502, "could not reach the OpenID issuer")
}
