package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
	"github.com/crated/crated/registryimport"
)

const importUsage = `Usage: crated import --index DIR --crates DIR --owner LOGIN [-c FILE] [flags]

Brings an existing registry (Ktra, Kellnr, cargo-local-registry, panamax, a
copy of crates.io's index) into the store and crate files named by the
configuration. --index is a checkout of its git index or a sparse layout
(1/a, 2/ab, 3/a/abc, ab/cd/abcd; config.json and .git are ignored); --crates
holds its .crate files as {name}-{version}.crate anywhere below,
{name}/{version}/download (Ktra) or {name}/{name}-{version}.crate.

Index lines are kept byte for byte, with their yanked flag and pubtime. A
.crate that does not match its line's cksum, or is missing, is reported and
its version skipped. Versions already in crated with the same cksum are
skipped, so the command can be run again. LOGIN (an existing user, see
"crated user add") owns every crate the import creates; crates that exist
keep their owners. With SQLite, stop "crated serve" first. See docs/import.md.

Flags:
`

// summaryLines is how many problems the summary shows without --verbose.
const summaryLines = 20

// runImport is `crated import`.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("crated import", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, importUsage)
		fl.PrintDefaults()
	}
	flags := config.RegisterFlags(fl)
	indexDir := fl.String("index", "", "the source index: a git checkout or a sparse-layout directory")
	cratesDir := fl.String("crates", "", "the directory holding the source's .crate files")
	owner := fl.String("owner", "", "login of the user who owns the crates the import creates")
	verbose := fl.Bool("verbose", false, "list every version skipped, not only the first "+fmt.Sprint(summaryLines))
	reportFile := fl.String("report", "", "also write every version skipped to this file")
	quiet := fl.Bool("quiet", false, "show no progress bar")
	workers := fl.Int("workers", 0, "crate files read, hashed and stored at once (default: max(4, CPUs))")
	logLevel := fl.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fl.Parse(args); err != nil {
		return err
	}
	// Everything the user typed is checked before anything is opened: a
	// usage error must not create a database or a data directory.
	if fl.NArg() > 0 {
		return fmt.Errorf("import: unexpected argument %q", fl.Arg(0))
	}
	if *indexDir == "" || *cratesDir == "" || *owner == "" {
		fl.Usage()
		return errors.New("import: --index, --crates and --owner are required (the owner is the user who can publish the next versions of the imported crates)")
	}
	for _, d := range []struct{ flag, path string }{{"--index", *indexDir}, {"--crates", *cratesDir}} {
		if fi, err := os.Stat(d.path); err != nil || !fi.IsDir() {
			return fmt.Errorf("import: %s %s is not a directory", d.flag, d.path)
		}
	}
	cfg, err := config.Load(flags.ConfigFile(), os.Environ(), flags)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	if cfg.DB.PostgresURL == "" {
		// A SQLite store that does not exist has no users yet: say how to
		// make the owner instead of creating an empty database.
		db := filepath.Join(cfg.DB.DBDirPath, "crated.db")
		if _, err := os.Stat(db); err != nil {
			return fmt.Errorf("import: there is no crated database at %s yet: create the owner first with `crated user add %s` (same -c and flags)", db, *owner)
		}
	}

	m := app.NewMain()
	m.Config = cfg
	m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := m.OpenStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	u, err := m.NewService().ResolveLogin(ctx, *owner)
	if err != nil {
		return fmt.Errorf("import: --owner: %w (create it with `crated user add`)", err)
	}

	opt := registryimport.Options{
		IndexDir: *indexDir, CratesDir: *cratesDir,
		Owner: u, Store: m.Store, Blobs: m.Blobs,
		Workers: *workers,
	}
	if !*quiet && isTerminal(stderr) {
		opt.Progress = stderr
	}
	rep, err := registryimport.Run(ctx, opt)
	printImportReport(stdout, rep, *verbose)
	if *reportFile != "" {
		if werr := writeImportReport(*reportFile, rep); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("import interrupted; run the same command again to finish (what is already imported is skipped): %w", err)
		}
		return err
	}
	if rep.Imported > 0 {
		if cfg.DB.PostgresURL == "" {
			fmt.Fprintln(stdout, "restart a running `crated serve` on this database so that its index cache sees the imported crates")
		}
		if cfg.Index != nil {
			fmt.Fprintln(stdout, "the git index ([index_config]) catches up when `crated serve` starts, or now with `crated index rebuild`")
		}
	}
	return nil
}

func printImportReport(w io.Writer, rep *registryimport.Report, verbose bool) {
	if rep == nil {
		return
	}
	fmt.Fprintf(w, "index: %d files, %d lines\n", rep.IndexFiles, rep.Lines)
	fmt.Fprintf(w, "imported: %d versions of %d crates\n", rep.Imported, len(rep.CratesChanged))
	fmt.Fprintf(w, "skipped as identical (already in crated): %d\n", rep.Identical)
	skipped := rep.Skipped()
	for _, k := range []registryimport.Kind{registryimport.InvalidLine, registryimport.MissingFile,
		registryimport.ChecksumMismatch, registryimport.UnreadableFile, registryimport.Conflict} {
		if skipped[k] > 0 {
			fmt.Fprintf(w, "skipped, %s: %d\n", k, skipped[k])
		}
	}
	if rep.UnmatchedFiles > 0 {
		fmt.Fprintf(w, "crate files in no index line (ignored): %d\n", rep.UnmatchedFiles)
	}
	if rep.Elapsed > 0 && rep.Lines > 0 {
		fmt.Fprintf(w, "time: %s (%.0f versions/s)\n", rep.Elapsed.Round(1e6), float64(rep.Lines)/rep.Elapsed.Seconds())
	}
	n := len(rep.Problems)
	if !verbose {
		n = min(n, summaryLines)
	}
	for _, p := range rep.Problems[:n] {
		fmt.Fprintln(w, "  "+p.String())
	}
	if n < len(rep.Problems) {
		fmt.Fprintf(w, "  ... and %d more (--verbose or --report FILE lists them all)\n", len(rep.Problems)-n)
	}
}

func writeImportReport(path string, rep *registryimport.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("import: --report: %w", err)
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(f, p.String())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("import: --report: %w", err)
	}
	return nil
}

// isTerminal reports whether w is a terminal, where a progress bar helps
// rather than fills a log.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
