package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/crated/crated/static"
)

var staticSpecs = []*cmdSpec{{
	name:     "static rebuild",
	synopsis: "[--verify] [--dry-run] [-c FILE]",
	about: `Rewrites the static trees (server_config.static_dir and crate_files_config.s3_static_prefix:
the sparse index, config.json and every .crate, for nginx or a CDN to serve) from the store,
and prints every difference it found, one per line:
"added PATH", "changed PATH" or "removed PATH". A consistent tree prints nothing. crated serve
does the same check at every start, so a crash between a commit and its files is repaired
then; run this after restoring a backup, or with --verify to compare every crate file's sha256
with its checksum (otherwise a crate file of the right size is taken as right).`,
	flags: func(fs *flag.FlagSet) {
		fs.Bool("verify", false, "read every crate file back and compare its sha256")
		fs.Bool("dry-run", false, "report the differences without writing")
	},
}}

func runStatic(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, m, err := start("static", staticSpecs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if m.Config.Server.StaticDir == "" && m.Config.CrateFiles.S3StaticPrefix == "" {
		// Before opening anything: there is nothing to rebuild.
		return errors.New("neither server_config.static_dir nor crate_files_config.s3_static_prefix is set: there is no static tree to rebuild")
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	opt := static.SyncOptions{Verify: cl.boolFlag("verify"), DryRun: cl.boolFlag("dry-run")}
	return m.SyncStatic(ctx, opt, func(where string, rep *static.Report) {
		for _, l := range []struct {
			what  string
			paths []string
		}{{"added", rep.Added}, {"changed", rep.Changed}, {"removed", rep.Removed}} {
			for _, p := range l.paths {
				fmt.Fprintln(stdout, l.what, p)
			}
		}
		fmt.Fprintf(stderr, "static tree %s: %d added, %d changed, %d removed\n",
			where, len(rep.Added), len(rep.Changed), len(rep.Removed))
	})
}
