package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crated/crated/internal/testenv"
)

// The tests in this file run the real binary, built once with go build,
// in the directories an operator would use, as README.md's quick start for
// operators says.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// cratedBin builds the command once per test binary and returns its path.
func cratedBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crated-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "crated")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// result is one finished command.
type result struct {
	stdout, stderr string
	code           int
}

// runBin runs the binary in dir with stdin and extra environment.
func runBin(t *testing.T, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(cratedBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

func mustCrated(t *testing.T, dir, stdin string, env []string, args ...string) string {
	t.Helper()
	r := runBin(t, dir, stdin, env, args...)
	if r.code != 0 {
		t.Fatalf("(in %s) crated %s: exit %d\n%s", dir, strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// cleanEnv is the test's environment without CRATED_* variables, which
// would configure the commands.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRATED_") {
			env = append(env, kv)
		}
	}
	return env
}

// server is a `crated serve` process.
type server struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

var listeningRE = regexp.MustCompile(`msg=listening address=(\S+)`)

// startServer runs `crated serve args...` in dir and waits for its
// "listening" line, which carries the address actually bound.
func startServer(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	s := &server{done: make(chan struct{})}
	s.cmd = exec.Command(cratedBin(t), append([]string{"serve"}, args...)...)
	s.cmd.Dir = dir
	s.cmd.Env = cleanEnv()
	pr, pw := io.Pipe()
	s.cmd.Stderr = pw
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		s.cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.addr = <-addr:
	case <-s.done:
		t.Fatalf("crated serve exited:\n%s", s.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("crated serve did not say where it listens:\n%s", s.logText())
	}
	return s
}

// stop sends SIGTERM and waits for the process; it returns its exit code.
func (s *server) stop(t *testing.T) int {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			t.Errorf("crated serve did not stop on SIGTERM")
		}
	}
	return s.cmd.ProcessState.ExitCode()
}

// files lists the paths under dir, relative, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// readmeConfig is the configuration file of README.md's quick start for
// operators, with its data under root and port 0 for the test.
func readmeConfig(t *testing.T, dir, root string) string {
	t.Helper()
	conf := fmt.Sprintf(`[server_config]
address = "127.0.0.1"
port = 0

[db_config]
db_dir_path = %q

[crate_files_config]
dl_dir_path = %q
`, filepath.Join(root, "db"), filepath.Join(root, "crates"))
	file := filepath.Join(dir, "crated.toml")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestOperatorQuickStart follows README.md's quick start for operators
// literally: serve with a file, then each admin command from the same
// directory without -c, and from another directory with -c (before and
// after the name) or CRATED_CONFIG. The tokens they print are accepted by
// the running server; a wrong directory is refused without creating a
// registry; usage errors write nothing.
func TestOperatorQuickStart(t *testing.T) {
	home := t.TempDir() // where the operator keeps crated.toml
	elsewhere := t.TempDir()
	conf := readmeConfig(t, home, filepath.Join(home, "data"))

	srv := startServer(t, home, "-c", "crated.toml")
	base := "http://" + srv.addr
	if strings.HasSuffix(srv.addr, ":0") {
		t.Fatalf("logged address %s is not the port bound", srv.addr)
	}
	if !strings.Contains(srv.logText(), "user add NAME -c crated.toml") {
		t.Errorf("a first start does not say how to create a user:\n%s", srv.logText())
	}

	// From the server's directory, without -c: ./crated.toml is read.
	alice := strings.TrimSpace(mustCrated(t, home, "", nil, "user", "add", "alice"))
	// Flags after the name, a password from standard input.
	bob := strings.TrimSpace(mustCrated(t, home, "bob-password-42\n", nil, "user", "add", "bob", "-c", "crated.toml", "--password-stdin"))
	// From another directory: -c before the name, and CRATED_CONFIG.
	carol := strings.TrimSpace(mustCrated(t, elsewhere, "", nil, "user", "add", "-c", conf, "carol"))
	dave := strings.TrimSpace(mustCrated(t, elsewhere, "", []string{"CRATED_CONFIG=" + conf}, "user", "add", "dave"))
	list := mustCrated(t, elsewhere, "", []string{"CRATED_CONFIG=" + conf}, "user", "list")
	for _, who := range []string{"alice", "bob", "carol", "dave"} {
		if !strings.Contains(list, who) {
			t.Errorf("user list lacks %s:\n%s", who, list)
		}
	}
	rotated := strings.TrimSpace(mustCrated(t, elsewhere, "", nil, "token", "rotate", "alice", "-c", conf))
	mustCrated(t, elsewhere, "carol-password-42\n", nil, "user", "passwd", "carol", "--config", conf)

	// The running server accepts what the commands printed.
	publishFrame(t, base, rotated, "alpha", "0.1.0")
	publishFrame(t, base, bob, "beta", "0.1.0")
	publishFrame(t, base, carol, "gamma", "0.1.0")
	publishFrame(t, base, dave, "delta", "0.1.0")
	if code := putStatus(t, base, alice, "epsilon", "0.1.0"); code != http.StatusForbidden {
		t.Errorf("publish with alice's rotated-out token: %d, want 403", code)
	}
	for user, pw := range map[string]string{"bob": "bob-password-42", "carol": "carol-password-42"} {
		body := fmt.Sprintf(`{"password":%q}`, pw)
		resp, err := http.Post(base+"/ktra/api/v1/login/"+user, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != 200 || got.Token == "" {
			t.Errorf("password login of %s: %d", user, resp.StatusCode)
		}
	}

	// The wrong directory, no file: refused, names what it looked for,
	// creates nothing.
	r := runBin(t, elsewhere, "", nil, "token", "rotate", "alice")
	if r.code == 0 || !strings.Contains(r.stderr, filepath.Join(elsewhere, "crated-data", "db", "crated.db")) || !strings.Contains(r.stderr, "-c FILE") {
		t.Errorf("token rotate in another directory: exit %d\n%s", r.code, r.stderr)
	}
	// Relative paths from another directory: refused the same way.
	relConf := filepath.Join(elsewhere, "relative.toml")
	os.WriteFile(relConf, []byte("[server_config]\naddress = \"127.0.0.1\"\n[db_config]\ndb_dir_path = \"data/db\"\n"), 0o644)
	r = runBin(t, t.TempDir(), "", nil, "user", "list", "-c", relConf)
	if r.code == 0 || !strings.Contains(r.stderr, "relative to the current directory") {
		t.Errorf("relative paths from another directory: exit %d\n%s", r.code, r.stderr)
	}
	os.Remove(relConf)

	// Usage errors exit non-zero and write nothing, wherever they run.
	for _, args := range [][]string{
		{"user", "add"},
		{"user", "add", "x", "y"},
		{"user", "add", "x", "--no-such-flag"},
		{"user", "passwd"},
		{"user", "frobnicate", "x"},
		{"user"},
		{"token", "rotate"},
		{"token", "revoke", "alice"},
		{"backup"},
		{"gc", "extra"},
		{"gc", "--grace", "soon"},
		{"serve", "extra"},
		{"migrate", "extra"},
		{"index"},
		{"nonsense"},
		{},
	} {
		for _, dir := range []string{elsewhere, home} {
			before := files(t, dir)
			r := runBin(t, dir, "", nil, args...)
			if r.code == 0 {
				t.Errorf("crated %s: exit 0", strings.Join(args, " "))
			}
			if len(args) > 0 && !strings.Contains(r.stderr, "usage") && !strings.Contains(r.stderr, "-h") {
				t.Errorf("crated %s: no usage hint:\n%s", strings.Join(args, " "), r.stderr)
			}
			if after := files(t, dir); dir == elsewhere && !slices.Equal(before, after) {
				t.Errorf("crated %s wrote %v", strings.Join(args, " "), after)
			} else if _, err := os.Stat(filepath.Join(dir, "crated-data")); err == nil {
				t.Errorf("crated %s created crated-data in %s", strings.Join(args, " "), dir)
			}
		}
	}

	if code := srv.stop(t); code != 0 {
		t.Errorf("serve exited %d after SIGTERM", code)
	}
	for _, want := range []string{"configuration file", "shutting down", "stopped"} {
		if !strings.Contains(srv.logText(), want) {
			t.Errorf("server log lacks %q:\n%s", want, srv.logText())
		}
	}
}

// putStatus publishes a minimal crate and returns the status.
func putStatus(t *testing.T, base, token, name, vers string) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", base+"/api/v1/crates/new", bytes.NewReader(frame(t, name, vers)))
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestHelpEverywhere: -h, -help and --help print help on stdout and exit 0
// for every command and subcommand, and write nothing.
func TestHelpEverywhere(t *testing.T) {
	dir := t.TempDir()
	cmds := [][]string{
		{}, {"serve"}, {"user"}, {"user", "add"}, {"user", "list"}, {"user", "passwd"},
		{"token"}, {"token", "rotate"}, {"migrate"}, {"index"}, {"index", "rebuild"},
		{"migrate-store"}, {"backup"}, {"gc"}, {"audit"}, {"crate"}, {"crate", "delete"}, {"mirror"}, {"mirror", "prefetch"}, {"import"}, {"version"},
		{"static"}, {"static", "rebuild"}, {"nginx-config"}, {"downloads"}, {"downloads", "ingest"},
	}
	for _, cmd := range cmds {
		for _, h := range []string{"-h", "-help", "--help"} {
			args := append(slices.Clone(cmd), h)
			r := runBin(t, dir, "", nil, args...)
			if r.code != 0 || !strings.Contains(strings.ToLower(r.stdout), "usage") && !strings.HasPrefix(r.stdout, "crated ") {
				t.Errorf("crated %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
		}
	}
	// Help after the arguments, as a user types it.
	if r := runBin(t, dir, "", nil, "user", "add", "alice", "--help"); r.code != 0 || !strings.Contains(r.stdout, "--password-stdin") {
		t.Errorf("user add alice --help: exit %d\n%s", r.code, r.stdout)
	}
	if r := runBin(t, dir, "", nil, "serve", "-h"); !strings.Contains(r.stdout, "-db-dir-path") {
		t.Errorf("serve -h does not list the configuration flags:\n%s", r.stdout)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if r := runBin(t, dir, "", nil, args...); r.code != 0 || !strings.HasPrefix(r.stdout, "crated ") {
			t.Errorf("crated %s: exit %d %q", args[0], r.code, r.stdout)
		}
	}
	if got := files(t, dir); len(got) > 0 {
		t.Errorf("help wrote %v", got)
	}
}

// TestServeWarnsEveryInterface: a Ktra-style file without address listens
// on every interface, as Ktra did, and says so.
func TestServeWarnsEveryInterface(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ktra.toml"), []byte("[server_config]\nport = 0\n"), 0o644)
	srv := startServer(t, dir, "--config", "ktra.toml")
	if !strings.HasPrefix(srv.addr, "0.0.0.0:") && !strings.HasPrefix(srv.addr, "[::]:") {
		t.Errorf("listening on %s, want every interface", srv.addr)
	}
	if !strings.Contains(srv.logText(), "every network interface") {
		t.Errorf("no warning about listening on every interface:\n%s", srv.logText())
	}
	srv.stop(t)

	os.WriteFile(filepath.Join(dir, "ktra.toml"), []byte("[server_config]\nport = 0\naddress = \"0.0.0.0\"\n"), 0o644)
	srv = startServer(t, dir, "--config", "ktra.toml")
	if strings.Contains(srv.logText(), "every network interface") {
		t.Errorf("warning although address is set:\n%s", srv.logText())
	}
}

func frame(t *testing.T, name, vers string) []byte {
	return testenv.Frame(testenv.Metadata(name, vers), testenv.Tarball(t, testenv.CrateFiles(name, vers)...))
}

// readmeBlocks returns the first n ```sh blocks of README.md's section.
func readmeBlocks(t *testing.T, section string, n int) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, section)
	if i < 0 {
		t.Fatalf("README.md has no %q", section)
	}
	text = text[i:]
	var blocks []string
	for len(blocks) < n {
		start := strings.Index(text, "```sh\n")
		if start < 0 {
			t.Fatalf("README.md's %q has fewer than %d sh blocks", section, n)
		}
		text = text[start+len("```sh\n"):]
		end := strings.Index(text, "```\n")
		blocks = append(blocks, text[:end])
		text = text[end:]
	}
	return blocks
}

// TestREADMEOperatorSteps runs README.md's quick start for operators as
// written, with bash, in a fresh directory; only /srv is moved into the
// test's directory, port 8000 becomes port 0 and the binary is this
// package's. The server runs as the first block says, the admin commands
// run as the second says, and the server accepts the tokens they print.
func TestREADMEOperatorSteps(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	blocks := readmeBlocks(t, "## Quick start for operators", 2)
	root, home := t.TempDir(), t.TempDir()
	edit := func(s string) string {
		s = strings.ReplaceAll(s, "/srv/", root+"/srv/")
		s = strings.ReplaceAll(s, "port = 8000", "port = 0")
		return strings.ReplaceAll(s, "go build -o crated ./cmd/crated", "cp "+cratedBin(t)+" crated")
	}
	setup, serveLine, ok := strings.Cut(strings.TrimRight(blocks[0], "\n"), "\n./crated serve ")
	if !ok {
		t.Fatalf("the first block does not start the server:\n%s", blocks[0])
	}
	bash := func(script string) string {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = home
		cmd.Env = cleanEnv()
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("bash: %v\n%s\n%s\nscript:\n%s", err, out.String(), errOut.String(), script)
		}
		return out.String()
	}
	bash(edit(setup))
	args, _, _ := strings.Cut(serveLine, "#")
	srv := startServer(t, home, strings.Fields(args)...)
	base := "http://" + srv.addr

	os.WriteFile(filepath.Join(home, "bob-password.txt"), []byte("bob-password-42\n"), 0o600)
	out := bash(edit(blocks[1]))
	var tokens []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "crated_") {
			tokens = append(tokens, line)
		}
	}
	if len(tokens) != 3 { // alice, bob, alice rotated
		t.Fatalf("the README's commands printed %d tokens:\n%s", len(tokens), out)
	}
	publishFrame(t, base, tokens[2], "alpha", "0.1.0")
	publishFrame(t, base, tokens[1], "beta", "0.1.0")
	if code := putStatus(t, base, tokens[0], "gamma", "0.1.0"); code != http.StatusForbidden {
		t.Errorf("alice's first token after token rotate: %d, want 403", code)
	}
	for _, want := range []string{"alice", "bob", "would delete 0 unreferenced", "backup of"} {
		if !strings.Contains(out, want) {
			t.Errorf("the README's commands did not print %q:\n%s", want, out)
		}
	}
}
