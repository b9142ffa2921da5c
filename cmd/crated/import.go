package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/crated/crated/registryimport"
)

var importSpec = &cmdSpec{
	name:     "import",
	synopsis: "--index DIR --crates DIR --owner LOGIN [-c FILE]",
	about: `Brings an existing registry (Ktra, Kellnr, cargo-local-registry, panamax, a
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
keep their owners. With SQLite, stop "crated serve" first. See docs/import.md.`,
	flags: func(fs *flag.FlagSet) {
		fs.String("index", "", "the source index: a git checkout or a sparse-layout directory")
		fs.String("crates", "", "the directory holding the source's .crate files")
		fs.String("owner", "", "login of the user who owns the crates the import creates")
		fs.Bool("verbose", false, "list every version skipped, not only the first "+fmt.Sprint(summaryLines))
		fs.String("report", "", "also write every version skipped to this file")
		fs.Bool("quiet", false, "show no progress bar")
		fs.Int("workers", 0, "crate files read, hashed and stored at once (default: max(4, CPUs))")
	},
}

// summaryLines is how many problems the summary shows without --verbose.
const summaryLines = 20

// runImport is `crated import`.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, err := importSpec.parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	indexDir, cratesDir, owner := cl.stringFlag("index"), cl.stringFlag("crates"), cl.stringFlag("owner")
	verbose, quiet := cl.boolFlag("verbose"), cl.boolFlag("quiet")
	reportFile := cl.stringFlag("report")
	workers, err := strconv.Atoi(cl.stringFlag("workers"))
	if err != nil {
		return importSpec.usageError("--workers: %v", err)
	}
	// Everything the user typed is checked before anything is opened: a
	// usage error must not create a database or a data directory.
	if indexDir == "" || cratesDir == "" || owner == "" {
		return importSpec.usageError("--index, --crates and --owner are required (the owner is the user who can publish the next versions of the imported crates)")
	}
	for _, d := range []struct{ flag, path string }{{"--index", indexDir}, {"--crates", cratesDir}} {
		if fi, err := os.Stat(d.path); err != nil || !fi.IsDir() {
			return fmt.Errorf("import: %s %s is not a directory", d.flag, d.path)
		}
	}
	m, err := cl.main(stderr)
	if err != nil {
		return err
	}
	cfg := m.Config
	// The owner must exist already, so the registry must too: never create
	// an empty one here.
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	u, err := m.NewService().ResolveLogin(ctx, owner)
	if err != nil {
		return fmt.Errorf("import: --owner: %w (create it with `crated user add`)", err)
	}

	opt := registryimport.Options{
		IndexDir: indexDir, CratesDir: cratesDir,
		Owner: u, Store: m.Store, Blobs: m.Blobs,
		Workers: workers,
	}
	if !quiet && isTerminal(stderr) {
		opt.Progress = stderr
	}
	rep, err := registryimport.Run(ctx, opt)
	printImportReport(stdout, rep, verbose)
	if reportFile != "" {
		if werr := writeImportReport(reportFile, rep); werr != nil {
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
