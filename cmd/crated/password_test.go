package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crated/crated/sqlite"
)

// openPTY opens a pseudo-terminal: the controlling side, which plays the
// operator's keyboard and screen, and the terminal the command reads.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(ctl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ctl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close(); tty.Close() })
	return ctl, tty
}

// screen collects what the terminal shows.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.buf.String() }

// waitFor waits until the screen shows want.
func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows %q", want, s.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPasswordPrompt types a password on a terminal for `user passwd` and
// `user add`: it is asked for twice, never shown, and set.
func TestPasswordPrompt(t *testing.T) {
	dir := t.TempDir()
	conf := configFile(t, dir, "")
	mustRunCmd(t, "", "migrate", "-c", conf)
	mustRunCmd(t, "", "user", "add", "alice", "-c", conf)
	const secret = "typed-on-a-terminal-42"

	for _, args := range [][]string{{"user", "passwd", "alice", "-c", conf}, {"user", "add", "bob", "-c", conf}} {
		ctl, tty := openPTY(t)
		var scr screen
		go func() {
			b := make([]byte, 256)
			for {
				n, err := ctl.Read(b)
				scr.mu.Lock()
				scr.buf.Write(b[:n])
				scr.mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		done := make(chan error, 1)
		var stdout bytes.Buffer
		go func() { done <- run(t.Context(), args, tty, &stdout, tty) }()
		scr.waitFor(t, "Password for")
		ctl.Write([]byte(secret + "\n"))
		scr.waitFor(t, "Again: ")
		ctl.Write([]byte(secret + "\n"))
		if err := <-done; err != nil {
			t.Fatalf("crated %s: %v\n%s", strings.Join(args, " "), err, scr.String())
		}
		time.Sleep(50 * time.Millisecond) // let the reader drain the last output
		if strings.Contains(scr.String(), secret) {
			t.Errorf("crated %s echoed the password:\n%q", strings.Join(args, " "), scr.String())
		}
	}

	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "db", "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, who := range []string{"alice", "bob"} {
		if u, err := st.UserByLogin(t.Context(), who); err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("%s after typing a password: %+v, %v", who, u, err)
		}
	}
}

// TestPasswordStdin: a password piped in is used; --password-stdin without
// one is refused and creates no user.
func TestPasswordStdin(t *testing.T) {
	dir := t.TempDir()
	conf := configFile(t, dir, "")
	mustRunCmd(t, "", "migrate", "-c", conf)
	mustRunCmd(t, "piped-password-42\n", "user", "add", "carol", "-c", conf)
	if _, _, err := runCmd(t, "", "user", "add", "dave", "--password-stdin", "-c", conf); err == nil || !strings.Contains(err.Error(), "standard input") {
		t.Errorf("--password-stdin with nothing on stdin: %v", err)
	}
	if _, _, err := runCmd(t, "", "user", "passwd", "carol", "-c", conf); err == nil {
		t.Errorf("passwd with nothing on stdin succeeded")
	}
	if _, _, err := runCmd(t, "short\n", "user", "add", "erin", "-c", conf); err == nil {
		t.Errorf("a too short password was accepted")
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "db", "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if u, err := st.UserByLogin(t.Context(), "carol"); err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("carol: %+v, %v", u, err)
	}
	for _, who := range []string{"dave", "erin"} {
		if _, err := st.UserByLogin(t.Context(), who); err == nil {
			t.Errorf("%s was created by a refused command", who)
		}
	}
}
