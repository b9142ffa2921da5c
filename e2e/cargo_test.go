package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

const alphaToml = `[package]
name = "alpha"
version = "0.1.0"
edition = "2021"
description = "The first letter, shared by everyone"
license = "MIT"
keywords = ["letters", "greek"]

[features]
extra = []
`

const gammaToml = `[package]
name = "gamma"
version = "0.1.0"
edition = "2021"
description = "An optional unix-only helper"
license = "MIT"
`

// betaToml uses every dependency shape the index must carry.
const betaToml = `[package]
name = "beta"
version = "0.1.0"
edition = "2021"
description = "Depends on alpha in every way"
license = "MIT"

[dependencies]
al = { package = "alpha", version = "0.1", registry = "crated", features = ["extra"] }

[target.'cfg(unix)'.dependencies]
gamma = { version = "0.1", registry = "crated", optional = true }

[build-dependencies]
gamma = { version = "0.1", registry = "crated" }

[dev-dependencies]
al = { package = "alpha", version = "0.1", registry = "crated" }

[features]
fancy = ["dep:gamma"]
`

const betaLib = `pub fn sum() -> u32 {
    let g = 0;
    #[cfg(all(unix, feature = "fancy"))]
    let g = gamma::hello();
    al::hello() + g
}
`

const consumerToml = `[package]
name = "consumer"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
beta = { version = "0.1", registry = "crated", features = ["fancy"] }
`

const consumerMain = `fn main() { println!("sum={}", beta::sum()); }
`

func publish(t *testing.T, c *testenv.Cargo, dir, token string, extra ...string) string {
	t.Helper()
	args := append([]string{"publish", "--registry", "crated", "--token", token, "--allow-dirty"}, extra...)
	return c.MustRun(dir, args...)
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, body)
		}
	}
	return resp.StatusCode
}

func indexFile(t *testing.T, srv *testenv.Crated, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/index/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCargoLifecycle drives the core registry with stock cargo: publish with
// every dependency shape, build a consumer, yank, owners, search, refusals,
// a canonical-name collision and a restart.
func TestCargoLifecycle(t *testing.T) {
	srv := testenv.StartCrated(t)
	alice := srv.AddUser("alice")
	bob := srv.AddUser("bob")
	c := testenv.NewCargo(t, srv.IndexURL(), "")

	publish(t, c, testenv.Package(t, alphaToml, nil), alice)
	publish(t, c, testenv.Package(t, gammaToml, nil), alice)
	// beta is verified: cargo builds it against alpha and gamma downloaded
	// from crated.
	beta := testenv.Package(t, betaToml, map[string]string{"src/lib.rs": betaLib, "build.rs": "fn main() { let _ = gamma::hello(); }\n"})
	publish(t, c, beta, alice)

	status, body := indexFile(t, srv, "be/ta/beta")
	if status != 200 {
		t.Fatalf("index file of beta: %d %s", status, body)
	}
	var entry struct {
		Name      string              `json:"name"`
		Vers      string              `json:"vers"`
		Cksum     string              `json:"cksum"`
		Features  map[string][]string `json:"features"`
		Features2 map[string][]string `json:"features2"`
		V         int                 `json:"v"`
		Pubtime   string              `json:"pubtime"`
		Deps      []struct {
			Name     string   `json:"name"`
			Req      string   `json:"req"`
			Kind     string   `json:"kind"`
			Optional bool     `json:"optional"`
			Target   *string  `json:"target"`
			Package  *string  `json:"package"`
			Registry *string  `json:"registry"`
			Features []string `json:"features"`
		} `json:"deps"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &entry); err != nil {
		t.Fatalf("index line: %v: %s", err, body)
	}
	if entry.V != 2 || len(entry.Features2["fancy"]) != 1 || entry.Features2["fancy"][0] != "dep:gamma" {
		t.Errorf("dep: feature should be in features2 with v=2: %s", body)
	}
	if len(entry.Pubtime) != 20 || !strings.HasSuffix(entry.Pubtime, "Z") {
		t.Errorf("pubtime %q is not YYYY-MM-DDTHH:MM:SSZ", entry.Pubtime)
	}
	kinds := map[string]bool{}
	for _, d := range entry.Deps {
		kinds[d.Name+"/"+d.Kind] = true
		if d.Registry != nil {
			t.Errorf("dep %s on this registry has registry %q, want null", d.Name, *d.Registry)
		}
		switch {
		case d.Name == "al" && d.Kind == "normal":
			if d.Package == nil || *d.Package != "alpha" || len(d.Features) != 1 {
				t.Errorf("renamed dep: %+v", d)
			}
		case d.Name == "gamma" && d.Kind == "normal":
			if !d.Optional || d.Target == nil || *d.Target != "cfg(unix)" {
				t.Errorf("optional target dep: %+v", d)
			}
		}
	}
	for _, k := range []string{"al/normal", "gamma/normal", "gamma/build", "al/dev"} {
		if !kinds[k] {
			t.Errorf("index line lacks dependency %s: %s", k, body)
		}
	}

	// A consumer builds from the registry alone.
	consumer := testenv.Package(t, consumerToml, map[string]string{"src/main.rs": consumerMain})
	out := c.MustRun(consumer, "run", "-q")
	if !strings.Contains(out, "sum=2") {
		t.Errorf("consumer output: %s", out)
	}

	// Yank and unyank.
	c.MustRun(beta, "yank", "--registry", "crated", "--token", alice, "beta@0.1.0")
	if _, body := indexFile(t, srv, "be/ta/beta"); !strings.Contains(body, `"yanked":true`) {
		t.Errorf("after yank the index line is %s", body)
	}
	c.MustRun(beta, "yank", "--undo", "--registry", "crated", "--token", alice, "beta@0.1.0")
	if _, body := indexFile(t, srv, "be/ta/beta"); !strings.Contains(body, `"yanked":false`) {
		t.Errorf("after unyank the index line is %s", body)
	}

	// A non-owner can neither publish a new version nor yank.
	alpha2 := testenv.Package(t, strings.Replace(alphaToml, "0.1.0", "0.2.0", 1), nil)
	out = c.MustFail(alpha2, "publish", "--registry", "crated", "--token", bob, "--allow-dirty", "--no-verify")
	if !strings.Contains(out, "403") || !strings.Contains(out, "not an owner") {
		t.Errorf("non-owner publish: %s", out)
	}
	out = c.MustFail(beta, "yank", "--registry", "crated", "--token", bob, "alpha@0.1.0")
	if !strings.Contains(out, "not an owner") {
		t.Errorf("non-owner yank: %s", out)
	}

	// Owners: add bob by bare name, list, then bob can publish; remove him.
	out = c.MustRun(beta, "owner", "--registry", "crated", "--token", alice, "--add", "bob", "alpha")
	if !strings.Contains(out, "bob") {
		t.Errorf("owner --add: %s", out)
	}
	out = c.MustRun(beta, "owner", "--registry", "crated", "--token", alice, "--list", "alpha")
	if !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Errorf("owner --list: %s", out)
	}
	publish(t, c, alpha2, bob, "--no-verify")
	c.MustRun(beta, "owner", "--registry", "crated", "--token", alice, "--remove", "bob", "alpha")
	out = c.MustRun(beta, "owner", "--registry", "crated", "--token", alice, "--list", "alpha")
	if strings.Contains(out, "bob") {
		t.Errorf("bob still listed after --remove: %s", out)
	}
	out = c.MustFail(beta, "owner", "--registry", "crated", "--token", alice, "--remove", "alice", "alpha")
	if !strings.Contains(out, "owner") {
		t.Errorf("removing the last owner: %s", out)
	}
	out = c.MustFail(beta, "owner", "--registry", "crated", "--token", alice, "--add", "nobody", "alpha")
	if !strings.Contains(out, "nobody") {
		t.Errorf("unknown login should be named: %s", out)
	}

	// Search by name and description; exact name first.
	out = c.MustRun(beta, "search", "--registry", "crated", "alpha")
	if !strings.HasPrefix(strings.TrimSpace(out), `alpha = "0.2.0"`) {
		t.Errorf("search alpha: %s", out)
	}
	out = c.MustRun(beta, "search", "--registry", "crated", "unix-only")
	if !strings.Contains(out, "gamma") {
		t.Errorf("search by description: %s", out)
	}

	// Canonical-name collision: foo-bar then foo_bar by someone else.
	fooBar := `[package]
name = "foo-bar"
version = "1.0.0"
edition = "2021"
description = "dashes"
license = "MIT"
`
	publish(t, c, testenv.Package(t, fooBar, nil), alice, "--no-verify")
	fooUnder := strings.Replace(fooBar, "foo-bar", "foo_bar", 1)
	out = c.MustFail(testenv.Package(t, fooUnder, nil), "publish", "--registry", "crated", "--token", bob, "--allow-dirty", "--no-verify")
	if !strings.Contains(out, "409") || !strings.Contains(out, "foo-bar") {
		t.Errorf("canonical collision: %s", out)
	}
	if status, _ := indexFile(t, srv, "fo/o_/foo_bar"); status != 404 {
		t.Errorf("foo_bar index file: %d, want 404", status)
	}

	// The data survives a restart; a fresh cargo builds the consumer again.
	srv.Restart()
	c2 := testenv.NewCargo(t, srv.IndexURL(), "")
	out = c2.MustRun(consumer, "run", "-q")
	if !strings.Contains(out, "sum=2") {
		t.Errorf("consumer after restart: %s", out)
	}
	var owners struct {
		Users []struct{ Login string } `json:"users"`
	}
	if code := getJSON(t, srv.URL+"/api/v1/crates/alpha/owners", &owners); code != 200 || len(owners.Users) != 1 {
		t.Errorf("owners after restart: %d %+v", code, owners)
	}
}

// TestPrivateRegistry runs cargo against auth_required = true.
func TestPrivateRegistry(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.AuthRequired = true })
	token := srv.AddUser("alice")

	resp, err := http.Get(srv.URL + "/index/config.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `Cargo login_url="`+srv.URL+`/me"`) {
		t.Fatalf("anonymous config.json: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	providers := "\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n"
	c := testenv.NewCargo(t, srv.IndexURL(), providers)
	c.Env = []string{"CARGO_REGISTRIES_CRATED_TOKEN=" + token}
	publish(t, c, testenv.Package(t, alphaToml, nil), token)
	consumer := testenv.Package(t, strings.Replace(consumerToml, `beta = { version = "0.1", registry = "crated", features = ["fancy"] }`, `alpha = { version = "0.1", registry = "crated" }`, 1),
		map[string]string{"src/main.rs": "fn main() { println!(\"{}\", alpha::hello()); }\n"})
	out := c.MustRun(consumer, "run", "-q")
	if strings.TrimSpace(out) != "1" {
		t.Errorf("private build output: %q", out)
	}
	out = c.MustRun(consumer, "search", "--registry", "crated", "alpha")
	if !strings.Contains(out, "alpha") {
		t.Errorf("private search: %s", out)
	}

	// Without a token cargo cannot even read the index.
	anon := testenv.NewCargo(t, srv.IndexURL(), providers)
	out = anon.MustFail(consumer, "generate-lockfile")
	if !strings.Contains(out, "token") {
		t.Errorf("anonymous cargo: %s", out)
	}
	// A wrong token is rejected too.
	bad := testenv.NewCargo(t, srv.IndexURL(), providers)
	bad.Env = []string{"CARGO_REGISTRIES_CRATED_TOKEN=crated_wrong"}
	out = bad.MustFail(consumer, "generate-lockfile")
	if !strings.Contains(out, "token rejected") {
		t.Errorf("wrong-token cargo: %s", out)
	}
}
