package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// readPassword reads a new password for user. On a terminal (unless
// fromStdin) it prompts on stderr without echo, twice; otherwise it reads the
// first line of stdin. An empty answer means no password, which only
// `user add` accepts (required false): the user then logs in with its token
// alone. With fromStdin the line must not be empty.
func readPassword(stdin io.Reader, stderr io.Writer, user string, fromStdin, required bool) (string, error) {
	if f, ok := stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		return promptPassword(int(f.Fd()), stderr, user, required)
	}
	if f, ok := stdin.(*os.File); ok && !fromStdin {
		// A pipe or socket that stays open (ssh host crated user add NAME,
		// without a terminal) would wait silently: say what it waits for.
		if fi, err := f.Stat(); err == nil && fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0 {
			fmt.Fprintf(stderr, "reading the password for %s from standard input (end of input: no password)\n", user)
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" && (fromStdin || required) {
		return "", errors.New("no password on standard input: give it as the first line, e.g. from a file: < password.txt")
	}
	return pw, nil
}

func promptPassword(fd int, stderr io.Writer, user string, required bool) (string, error) {
	prompt := fmt.Sprintf("Password for %s: ", user)
	if !required {
		prompt = fmt.Sprintf("Password for %s (Enter for none: token only): ", user)
	}
	fmt.Fprint(stderr, prompt)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if len(pw) == 0 {
		if required {
			return "", errors.New("no password given")
		}
		return "", nil
	}
	fmt.Fprint(stderr, "Again: ")
	again, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if string(again) != string(pw) {
		return "", errors.New("the two passwords differ; nothing was changed")
	}
	return string(pw), nil
}
