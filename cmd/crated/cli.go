package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
)

// progName is how the operator runs the program, for commands that crated
// suggests (os.Args[0] when run from main).
var progName = "crated"

// cmdSpec describes one command line: its synopsis, what it does, its
// positional arguments and its own flags.
type cmdSpec struct {
	name     string // "user add"
	synopsis string // "NAME [--password-stdin]"
	about    string // what it does, for -h
	// nargs is the exact number of positional arguments, or the least
	// number when variadic is set.
	nargs    int
	variadic bool
	// flags defines the command's own flags, besides the configuration
	// flags every command takes.
	flags func(fs *flag.FlagSet)
	// allFlags shows every configuration flag in -h (serve); the other
	// commands show -c and point at `crated serve -h`.
	allFlags bool
}

// cmdLine is a parsed command line.
type cmdLine struct {
	spec     *cmdSpec
	flags    *config.Flags
	logLevel string
	args     []string // positional arguments
	fs       *flag.FlagSet
}

// boolFlag returns the value of one of the command's own boolean flags.
func (cl *cmdLine) boolFlag(name string) bool {
	f := cl.fs.Lookup(name)
	return f != nil && f.Value.String() == "true"
}

// stringFlag returns the value of one of the command's own flags.
func (cl *cmdLine) stringFlag(name string) string {
	if f := cl.fs.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// usageError is a mistake on the command line, reported with the way to
// get help. It is returned before anything is opened or written.
func (s *cmdSpec) usageError(format string, args ...any) error {
	return fmt.Errorf("%s\nusage: %s %s %s (run \"%s %s -h\" for help)",
		fmt.Sprintf(format, args...), progName, s.name, s.synopsis, progName, s.name)
}

// parse parses args, with flags allowed before, between and after the
// positional arguments ("--" ends the flags). -h, -help and --help print
// the command's help on stdout and return flag.ErrHelp, which main turns
// into exit status 0.
func (s *cmdSpec) parse(args []string, stdout, stderr io.Writer) (*cmdLine, error) {
	fs := flag.NewFlagSet(progName+" "+s.name, flag.ContinueOnError)
	// Help is printed below, on stdout; a mistake is returned with a hint.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	cl := &cmdLine{spec: s, flags: config.RegisterFlags(fs), fs: fs}
	fs.StringVar(&cl.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	own := map[string]bool{"c": true, "config": true, "log-level": true}
	if s.flags != nil {
		before := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
		s.flags(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if !before[f.Name] {
				own[f.Name] = true
			}
		})
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		s.printHelp(stdout, fs, own)
		return nil, flag.ErrHelp
	}
	if err != nil {
		// flag has printed the problem on stderr already.
		return nil, s.usageError("%v", err)
	}
	if len(pos) != s.nargs && !(s.variadic && len(pos) > s.nargs) {
		switch {
		case len(pos) > s.nargs:
			return nil, s.usageError("unexpected argument %q", pos[s.nargs])
		default:
			return nil, s.usageError("missing %s", strings.Fields(s.synopsis)[len(pos)])
		}
	}
	cl.args = pos
	return cl, nil
}

// parseInterspersed parses flags anywhere among the arguments and returns
// the positional ones in order. The standard flag package stops at the
// first non-flag, which made `crated user add carol -c crated.toml` ignore
// its -c.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (s *cmdSpec) printHelp(w io.Writer, fs *flag.FlagSet, own map[string]bool) {
	fmt.Fprintf(w, "Usage: %s %s %s\n\n%s\n", progName, s.name, s.synopsis, strings.TrimSpace(s.about))
	show := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	show.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if s.allFlags || own[f.Name] {
			show.Var(f.Value, f.Name, f.Usage)
		}
	})
	fmt.Fprintf(w, "\n%s\n\nFlags (anywhere on the command line):\n", configHelp)
	show.PrintDefaults()
	if !s.allFlags {
		fmt.Fprintf(w, "  ... and every configuration flag of serve (%s serve -h)\n", progName)
	}
}

// configHelp says how every command finds its configuration: the one rule
// that makes the admin commands open the server's registry.
const configHelp = `Configuration: the file given with -c FILE (or --config), else the one named by
CRATED_CONFIG, else ./crated.toml when it exists, else the embedded default (SQLite
and crate files under ./crated-data); then CRATED_* variables and flags override it.
Relative paths in the file are relative to the current directory, as in Ktra.`

// main builds the configured app.Main of a parsed command line. Nothing is
// opened yet.
func (cl *cmdLine) main(stderr io.Writer) (*app.Main, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cl.logLevel)); err != nil {
		return nil, cl.spec.usageError("-log-level: %v", err)
	}
	file, how, err := config.Locate(cl.flags, os.Environ())
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(file, os.Environ(), cl.flags)
	if err != nil {
		return nil, err
	}
	logger := app.NewLogger(stderr, cfg.Server.LogFormat, level)
	if file != "" {
		logger.Debug("configuration file", "file", file, "how", how)
	}
	m := app.NewMain()
	m.Config = cfg
	m.Logger = logger
	return m, nil
}

// load parses the configuration flags of a subcommand and returns a Main
// configured from file, environment and flags, and the positional
// arguments. For commands without a cmdSpec of their own.
func load(name string, args []string, stderr io.Writer) (*app.Main, []string, error) {
	s := &cmdSpec{name: name, synopsis: "[flags]", about: "See " + progName + " -h."}
	fs := flag.NewFlagSet(progName+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cl := &cmdLine{spec: s, flags: config.RegisterFlags(fs)}
	fs.StringVar(&cl.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, err
	}
	m, err := cl.main(stderr)
	return m, pos, err
}

// start is how every "crated GROUP SUBCOMMAND" begins: find the
// subcommand, parse its command line, and build its app.Main (nothing is
// opened yet).
func start(name string, specs []*cmdSpec, args []string, stdout, stderr io.Writer) (*cmdLine, *app.Main, error) {
	spec, rest, err := group(name, specs, args, stdout)
	if err != nil {
		return nil, nil, err
	}
	cl, err := spec.parse(rest, stdout, stderr)
	if err != nil {
		return nil, nil, err
	}
	m, err := cl.main(stderr)
	if err != nil {
		return nil, nil, err
	}
	return cl, m, nil
}
