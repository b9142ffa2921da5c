// Command crated is a private Cargo registry server.
//
//	crated serve [-c FILE] [flags]   run the registry
//	crated user add NAME             add a user (optionally with a password) and print its token
//	crated user list                 list users
//	crated user passwd NAME          set a user's password (prompted, or read from stdin)
//	crated token rotate LOGIN        issue a new token for a user, revoking the old one
//	crated migrate                   apply database migrations and exit
//	crated index rebuild             rewrite the git index from the store
//	crated migrate-store ...         copy a registry between stores
//	crated backup DIR                copy the embedded registry while it serves
//	crated gc [--delete]             find (and remove) unreferenced crate files
//	crated crate delete NAME [VERS]  remove a version or a crate for good (--force)
//	crated mirror prefetch LOCK...   fill the mirror's cache from Cargo.lock files
//	crated static rebuild            rewrite the static files from the store
//	crated nginx-config --listen A   print nginx's configuration for the static files
//	crated downloads ingest LOG...   count the downloads nginx served
//	crated version
//
// Every command finds its configuration the same way (see configHelp), so
// that the admin commands open the registry the server uses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// Suggested commands use the name the operator typed (./crated), except
	// under `go run`, whose binary is in a temporary directory.
	if !strings.Contains(os.Args[0], "go-build") {
		progName = os.Args[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // help was asked for and printed
		}
		fmt.Fprintln(os.Stderr, "crated:", err)
		os.Exit(1)
	}
}

const usage = `crated: a private Cargo registry

Usage:
  crated serve [-c FILE] [flags]   run the registry (default: SQLite + files under ./crated-data on 127.0.0.1:8000)
  crated user add NAME             add a user, optionally with a password, and print its first token
  crated user list                 list users
  crated user passwd NAME          set a user's password (prompted without echo, or read from standard input)
  crated token rotate LOGIN        issue a new token for a user; the old one stops working
  crated migrate                   apply database migrations and exit
  crated index rebuild             rewrite the git index ([index_config]) from the store and push it
  crated migrate-store --from STORE --to STORE [blob flags]
                                   copy a registry to another store (e.g. SQLite to PostgreSQL),
                                   resumable, verified at the end; see docs/deploy.md
  crated backup DIR                copy the embedded registry (SQLite + crate files) into DIR while it serves
  crated gc [--delete]             list (or delete) crate files no version refers to, and stale temporary files
  crated audit [--crate NAME]      show the audit log: who changed what, how authenticated, from where
  crated crate delete NAME [VERSION] --force
                                   remove a version, or a whole crate, for good (a leaked secret, a legal request)
  crated mirror prefetch LOCKFILE...
                                   cache every crates.io package of Cargo.lock files in the mirror
  crated import --index DIR --crates DIR --owner LOGIN
                                   bring an existing registry's crates into crated; see docs/import.md
  crated static rebuild [--verify] rewrite the static files (server_config.static_dir) from the store
  crated nginx-config --listen ADDR:PORT
                                   print an nginx server block serving the static files, proxying the rest
  crated downloads ingest LOG...   count the downloads nginx served, from its access log
  crated version                   print the version

` + configHelp + `

Flags go anywhere on the command line. Every command but serve and migrate works on an
existing registry and never creates one. "crated COMMAND -h" shows a command's help;
"crated serve -h" lists every configuration flag.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, stdin, stdout, stderr)
	case "token":
		return runToken(ctx, rest, stdout, stderr)
	case "migrate-store":
		return runMigrateStore(ctx, rest, stdout, stderr)
	case "mirror":
		return runMirror(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "index":
		return runIndex(ctx, rest, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, stdout, stderr)
	case "gc":
		return runGC(ctx, rest, stdout, stderr)
	case "static":
		return runStatic(ctx, rest, stdout, stderr)
	case "nginx-config":
		return runNginxConfig(ctx, rest, stdout, stderr)
	case "downloads":
		return runDownloads(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "crate":
		return runCrate(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		if len(rest) > 0 && !isHelp(rest[0]) {
			return fmt.Errorf("unexpected argument %q\nusage: %s version", rest[0], progName)
		}
		fmt.Fprintln(stdout, "crated", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q (run \"%s -h\" for the list of commands)", cmd, progName)
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// group dispatches a command with subcommands (user, token, index): the
// subcommand must be known before anything is parsed or opened, and
// "crated user -h" lists the subcommands on stdout.
func group(name string, specs []*cmdSpec, args []string, stdout io.Writer) (*cmdSpec, []string, error) {
	var list strings.Builder
	for _, s := range specs {
		fmt.Fprintf(&list, "  %s %s %s\n", progName, s.name, s.synopsis)
	}
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintf(stdout, "Usage:\n%s\nRun \"%s %s SUBCOMMAND -h\" for a subcommand's help.\n", list.String(), progName, name)
		return nil, nil, flag.ErrHelp
	}
	if len(args) > 0 {
		for _, s := range specs {
			if s.name == name+" "+args[0] {
				return s, args[1:], nil
			}
		}
		return nil, nil, fmt.Errorf("unknown %s subcommand %q; usage:\n%s", name, args[0], strings.TrimRight(list.String(), "\n"))
	}
	return nil, nil, fmt.Errorf("%s needs a subcommand; usage:\n%s", name, strings.TrimRight(list.String(), "\n"))
}

var serveSpec = &cmdSpec{
	name:     "serve",
	synopsis: "[-c FILE] [flags]",
	about: `Runs the registry until interrupted (SIGINT or SIGTERM). With no configuration file it is a
self-contained development server: SQLite and crate files under ./crated-data, listening on
127.0.0.1:8000. With a file, keys it leaves out take Ktra's defaults (address 0.0.0.0,
db_dir_path "db", dl_dir_path "crates"). serve creates the registry when it does not exist.`,
	allFlags: true,
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, err := serveSpec.parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	m, err := cl.main(stderr)
	if err != nil {
		return err
	}
	return serve(ctx, m)
}

var migrateSpec = &cmdSpec{
	name:     "migrate",
	synopsis: "[-c FILE]",
	about: `Brings the database schema up to date and exits (serve does it too, at start). With
PostgreSQL, run it with a new version before rolling out the replicas. It creates the SQLite
database when there is none.`,
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, err := migrateSpec.parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	m, err := cl.main(stderr)
	if err != nil {
		return err
	}
	if err := m.OpenStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

var indexSpecs = []*cmdSpec{{
	name:     "index rebuild",
	synopsis: "[-c FILE]",
	about:    `Rewrites the git index ([index_config]) from the metadata store and pushes it to remote_url.`,
}}

func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, m, err := start("index", indexSpecs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if m.Config.Index == nil {
		// Before opening anything: there is nothing to rebuild.
		return errors.New("index_config is not set: there is no git index to rebuild (the sparse index needs no rebuild)")
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	if err := m.RebuildGitIndex(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "git index rebuilt")
	return nil
}

var userSpecs = []*cmdSpec{{
	name:     "user add",
	synopsis: "NAME [--password-stdin] [-c FILE]",
	about: `Creates a user and prints its first API token on standard output (shown once), for
"cargo login". On a terminal it asks for a password without echoing it (press Enter for none:
the user then only has the token); otherwise a password is read from the first line of
standard input when there is one. A password lets the user log in at /me to see or replace
the token. With --password-stdin the first line of standard input is the password and must
not be empty.`,
	nargs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	},
}, {
	name:     "user list",
	synopsis: "[-c FILE]",
	about:    `Lists the users: id, login, kind (password or openid) and creation date.`,
}, {
	name:     "user passwd",
	synopsis: "NAME [--password-stdin] [-c FILE]",
	about: `Sets a user's password. On a terminal it is asked for twice, without echo; otherwise (or
with --password-stdin) it is the first line of standard input.`,
	nargs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	},
}}

func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cl, m, err := start("user", userSpecs, args, stdout, stderr)
	if err != nil {
		return err
	}
	fromStdin := cl.boolFlag("password-stdin")
	// The password is read before the store is opened: a refused password
	// must not leave a user behind, and nothing waits on the database
	// while the operator types.
	var password string
	switch cl.spec.name {
	case "user add":
		if password, err = readPassword(stdin, stderr, cl.args[0], fromStdin, false); err != nil {
			return err
		}
	case "user passwd":
		if password, err = readPassword(stdin, stderr, cl.args[0], fromStdin, true); err != nil {
			return err
		}
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	svc := m.NewService()
	switch cl.spec.name {
	case "user add":
		u, token, err := svc.CreateUser(ctx, cl.args[0], password)
		if err != nil {
			return err
		}
		with := "without a password (token only)"
		if password != "" {
			with = "with a password"
		}
		fmt.Fprintf(stderr, "created user %s %s in %s; its token (shown once):\n", u.Login, with, m.StoreName())
		fmt.Fprintln(stdout, token)
		return nil
	case "user list":
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
	case "user passwd":
		if err := svc.SetPassword(ctx, cl.args[0], password); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "password set for %s in %s\n", cl.args[0], m.StoreName())
		return nil
	}
	return fmt.Errorf("unknown user subcommand %q", cl.spec.name)
}

var tokenSpecs = []*cmdSpec{{
	name:     "token rotate",
	synopsis: "LOGIN [-c FILE]",
	about: `Issues a new API token for a user and prints it on standard output (shown once). The old
token stops working at once.`,
	nargs: 1,
}}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, m, err := start("token", tokenSpecs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	token, err := m.NewService().RotateToken(ctx, cl.args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "new token for %s in %s (shown once; the old one no longer works):\n", cl.args[0], m.StoreName())
	fmt.Fprintln(stdout, token)
	return nil
}
