// Command crated is a private Cargo registry server.
//
//	crated serve [-c FILE] [flags]   run the registry
//	crated user add NAME             add a password user and print its token
//	crated user list                 list users
//	crated user passwd NAME          set a user's password (read from stdin)
//	crated token rotate LOGIN        issue a new token for a user, revoking the old one
//	crated migrate                   apply database migrations and exit
//	crated index rebuild             rewrite the git index from the store
//	crated migrate-store ...         copy a registry between stores
//	crated version
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "crated:", err)
		}
		os.Exit(1)
	}
}

const usage = `crated: a private Cargo registry

Usage:
  crated serve [-c FILE] [flags]   run the registry (default: SQLite + files under ./crated-data on 127.0.0.1:8000)
  crated user add NAME             add a password user and print its first token
  crated user list                 list users
  crated user passwd NAME          set a user's password, read from standard input
  crated token rotate LOGIN        issue a new token for a user; the old one stops working
  crated migrate                   apply database migrations and exit
  crated index rebuild             rewrite the git index ([index_config]) from the store and push it
  crated migrate-store --from STORE --to STORE [blob flags]
                                   copy a registry to another store (e.g. SQLite to PostgreSQL),
                                   resumable, verified at the end; see docs/deploy.md
  crated version                   print the version

Every subcommand takes -c FILE and the same configuration flags as serve;
run "crated serve -h" to list them.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no subcommand given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		m, _, err := load("serve", rest, stderr)
		if err != nil {
			return err
		}
		return m.Run(ctx)
	case "user":
		return runUser(ctx, rest, stdin, stdout, stderr)
	case "token":
		return runToken(ctx, rest, stdout, stderr)
	case "migrate-store":
		return runMigrateStore(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "migrate":
		m, _, err := load("migrate", rest, stderr)
		if err != nil {
			return err
		}
		if err := m.OpenStores(ctx); err != nil {
			return err
		}
		defer m.Close()
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "index":
		if len(rest) == 0 || rest[0] != "rebuild" {
			return errors.New("usage: crated index rebuild")
		}
		m, _, err := load("index rebuild", rest[1:], stderr)
		if err != nil {
			return err
		}
		if err := m.OpenStores(ctx); err != nil {
			return err
		}
		defer m.Close()
		if err := m.RebuildGitIndex(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "git index rebuilt")
		return nil
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "crated", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown subcommand %q", cmd)
}

// load parses the configuration flags of a subcommand and returns a Main
// configured from file, environment and flags, and the remaining arguments.
func load(name string, args []string, stderr io.Writer) (*app.Main, []string, error) {
	fs := flag.NewFlagSet("crated "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := config.RegisterFlags(fs)
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(flags.ConfigFile(), os.Environ(), flags)
	if err != nil {
		return nil, nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return nil, nil, fmt.Errorf("-log-level: %w", err)
	}
	m := app.NewMain()
	m.Config = cfg
	m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return m, fs.Args(), nil
}

func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: crated user add NAME | list | passwd NAME")
	}
	if args[0] != "add" && args[0] != "list" && args[0] != "passwd" {
		// Refuse before opening anything: a typo must not create a data dir.
		return fmt.Errorf("unknown user subcommand %q (usage: crated user add NAME | list | passwd NAME)", args[0])
	}
	m, rest, err := load("user "+args[0], args[1:], stderr)
	if err != nil {
		return err
	}
	if err := m.OpenStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	svc := m.NewService()
	switch args[0] {
	case "add":
		if len(rest) != 1 {
			return errors.New("usage: crated user add NAME")
		}
		u, token, err := svc.CreateUser(ctx, rest[0], "")
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created user %s; its token (shown once):\n", u.Login)
		fmt.Fprintln(stdout, token)
		return nil
	case "list":
		users, err := m.Store.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLOGIN\tKIND\tCREATED")
		for _, u := range users {
			kind := "password"
			if u.Issuer != "" {
				kind = "openid"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", u.ID, u.Login, kind, u.CreatedAt.Format("2006-01-02"))
		}
		return tw.Flush()
	case "passwd":
		if len(rest) != 1 {
			return errors.New("usage: crated user passwd NAME (the password is read from standard input)")
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := svc.SetPassword(ctx, rest[0], strings.TrimRight(line, "\r\n")); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "password set")
		return nil
	}
	return fmt.Errorf("unknown user subcommand %q", args[0])
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("usage: crated token rotate LOGIN")
	}
	m, rest, err := load("token rotate", args[1:], stderr)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("usage: crated token rotate LOGIN")
	}
	if err := m.OpenStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	token, err := m.NewService().RotateToken(ctx, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "new token (shown once; the old one no longer works):")
	fmt.Fprintln(stdout, token)
	return nil
}
