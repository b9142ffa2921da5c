package testenv

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Cargo runs stock cargo with its own CARGO_HOME, configured with one
// registry named "crated". crates.io is never contacted.
type Cargo struct {
	Home string
	// Target is shared by all builds of one Cargo to save compile time.
	Target string
	// Env is added to every command.
	Env []string
	t   testing.TB
}

// NewCargo returns cargo configured for the registry at indexURL. extra is
// appended to the config.toml.
func NewCargo(t testing.TB, indexURL string, extra string) *Cargo {
	t.Helper()
	if _, err := exec.LookPath("cargo"); err != nil {
		Need(t, "cargo")
	}
	home := t.TempDir()
	cfg := fmt.Sprintf(`[registries.crated]
index = %q

[net]
retry = 0

[term]
color = "never"
progress.when = "never"
%s`, indexURL, extra)
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Cargo{Home: home, Target: filepath.Join(home, "target"), t: t}
}

// Run runs cargo in dir and returns its combined output.
func (c *Cargo) Run(dir string, args ...string) (string, error) {
	cmd := exec.Command("cargo", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CARGO_HOME="+c.Home,
		"CARGO_TARGET_DIR="+c.Target,
		"CARGO_TERM_COLOR=never",
		"CARGO_REGISTRIES_CRATES_IO_PROTOCOL=sparse",
		"CARGO_HTTP_TIMEOUT=30",
	)
	cmd.Env = append(cmd.Env, c.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// MustRun runs cargo and fails the test when it fails.
func (c *Cargo) MustRun(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.Run(dir, args...)
	if err != nil {
		c.t.Fatalf("cargo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// MustFail runs cargo, fails the test when it succeeds, and returns the
// output.
func (c *Cargo) MustFail(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.Run(dir, args...)
	if err == nil {
		c.t.Fatalf("cargo %s succeeded, want failure\n%s", strings.Join(args, " "), out)
	}
	return out
}

// Package writes a crate to a new temp dir: Cargo.toml from manifest, and
// the given files (src/lib.rs by default).
func Package(t testing.TB, manifest string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if files == nil {
		files = map[string]string{"src/lib.rs": "pub fn hello() -> u32 { 1 }\n"}
	}
	files["Cargo.toml"] = manifest
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func splitHostPort(raw string) (string, int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, err
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	return host, p, err
}
