package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/cratecorpus"
	"github.com/crated/crated/internal/testenv"
)

// corpusDir is where the real crates come from: Debian's librust-*-dev
// packages (.ci/run installs those the program below needs), or
// CRATED_CORPUS_DIR.
func corpusDir(t *testing.T) string {
	dir := os.Getenv("CRATED_CORPUS_DIR")
	if dir == "" {
		dir = cratecorpus.DebianRegistry
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "clap-4.*", "Cargo.toml")); len(m) == 0 {
		testenv.Need(t, "the crate corpus in "+dir+" (apt-get install librust-clap-dev and the other packages .ci/run installs)")
	}
	return dir
}

// TestRealCrates publishes every crate of the corpus, as crates.io
// published them (crates.io's exceptions included: winapi's 399 features,
// compiler_builtins), then has stock cargo, with crates-io replaced by
// crated, resolve, download and build a program using clap 4 with derive,
// regex, rand, serde_json, itertools, anyhow and log.
func TestRealCrates(t *testing.T) {
	dir := corpusDir(t)
	dirs, err := cratecorpus.Dirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A whole distribution published at once is an import, not a team's
	// CI: the publish rate limit is off.
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.PublishRateLimit = 0 })
	token := srv.AddUser("debian")

	type refusal struct{ crate, why string }
	var (
		mu          sync.Mutex
		refused     []refusal
		notPackaged []string
		accepted    int
	)
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				c, err := cratecorpus.Build(d)
				why := ""
				switch {
				case errors.Is(err, cratecorpus.ErrNotPackaged):
					mu.Lock()
					notPackaged = append(notPackaged, filepath.Base(d)+": "+err.Error())
					mu.Unlock()
					continue
				case err != nil:
					why = "cannot build the publish: " + err.Error()
				default:
					status, body, _ := do(t, "PUT", srv.URL+"/api/v1/crates/new", token, testenv.Frame(c.Meta, c.Tarball))
					if status != 200 {
						why = strings.TrimSpace(string(body))
					}
				}
				mu.Lock()
				if why != "" {
					refused = append(refused, refusal{filepath.Base(d), why})
				} else {
					accepted++
				}
				mu.Unlock()
			}
		}()
	}
	for _, d := range dirs {
		jobs <- d
	}
	close(jobs)
	wg.Wait()
	sort.Slice(refused, func(i, j int) bool { return refused[i].crate < refused[j].crate })
	sort.Strings(notPackaged)
	t.Logf("%d crates in %s: %d accepted, %d refused, %d left out as not packaged by cargo %q",
		len(dirs), dir, accepted, len(refused), len(notPackaged), notPackaged)
	for _, r := range refused {
		t.Errorf("%s refused: %s", r.crate, r.why)
	}

	// Stock cargo builds a program from crated alone.
	c := testenv.NewCargo(t, srv.IndexURL(), `
[source.crates-io]
replace-with = "crated-mirror"
[source.crated-mirror]
registry = "`+srv.IndexURL()+`"
`)
	c.Env = append(c.Env, "CARGO_REGISTRIES_CRATED_TOKEN="+token)
	app := testenv.Package(t, `[package]
name = "realapp"
version = "0.1.0"
edition = "2021"

[dependencies]
clap = { version = "4", features = ["derive"] }
regex = "1"
rand = "0.8"
serde_json = "1"
itertools = "0.10"
anyhow = "1"
log = "0.4"
`, map[string]string{"src/main.rs": realAppMain})
	c.MustRun(app, "build")
	out := c.MustRun(app, "run", "-q", "--", "--name", "crated", "--count", "3")
	var got struct {
		Greeting string   `json:"greeting"`
		Words    []string `json:"words"`
		Roll     int      `json:"roll"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &got); err != nil {
		t.Fatalf("program output %q: %v", out, err)
	}
	if got.Greeting != "hello crated" || strings.Join(got.Words, ",") != "crated,crated,crated" || got.Roll < 1 || got.Roll > 6 {
		t.Errorf("program output %q", out)
	}
	// Every package in the lock file came from crated.
	lock, err := os.ReadFile(filepath.Join(app, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var resolved []string
	name := ""
	for _, line := range strings.Split(string(lock), "\n") {
		if strings.HasPrefix(line, "source = ") && !strings.Contains(line, srv.URL) && !strings.Contains(line, "crates.io-index") {
			t.Errorf("Cargo.lock: %s", line)
		}
		if n, ok := strings.CutPrefix(line, "name = "); ok {
			name = strings.Trim(n, `"`)
		}
		if v, ok := strings.CutPrefix(line, "version = "); ok && name != "" && name != "realapp" {
			resolved = append(resolved, name+"-"+strings.Trim(v, `"`))
		}
	}
	// The list .ci/run's packages must cover.
	t.Logf("cargo resolved %d packages: %s", len(resolved), strings.Join(resolved, " "))
}

const realAppMain = `use anyhow::Result;
use clap::Parser;
use itertools::Itertools;
use rand::Rng;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    name: String,
    #[arg(long, default_value_t = 1)]
    count: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    log::info!("starting");
    let re = regex::Regex::new(r"^[a-z]+$")?;
    anyhow::ensure!(re.is_match(&args.name), "bad name");
    let words = std::iter::repeat(args.name.clone()).take(args.count).collect_vec();
    let roll: u32 = rand::thread_rng().gen_range(1..=6);
    let v = serde_json::json!({"greeting": format!("hello {}", args.name), "words": words, "roll": roll});
    println!("{}", v);
    Ok(())
}
`
