package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crated/crated/config"
	"github.com/crated/crated/static"
)

var nginxSpec = &cmdSpec{
	name:     "nginx-config",
	synopsis: "--listen ADDR:PORT [--server-name NAME] [--access-log FILE] [-c FILE]",
	about: `Prints an nginx configuration (a log_format, an upstream and a server block, to include in
nginx's http context) that serves the static tree of server_config.static_dir directly: the
index, config.json and the crate files, with crated's content types and Cache-Control (nginx's
own ETag and Last-Modified give cargo its 304s), and proxies everything else to crated at its
configured address, with client_max_body_size and timeouts from max_crate_size,
max_metadata_size, read_timeout and write_timeout. On a private registry (auth_required) each
static read is first checked by crated (auth_request to GET /api/v1/auth). The downloads nginx
serves go to an access log that "crated downloads ingest" counts. Add TLS (listen ... ssl and
the certificates) in front or in the printed block; see docs/deploy.md.`,
	flags: func(fs *flag.FlagSet) {
		fs.String("listen", "", "nginx's listen address, ADDR:PORT (required)")
		fs.String("server-name", "_", "nginx's server_name")
		fs.String("access-log", "/var/log/nginx/crated-downloads.log", "the download log nginx writes and \"crated downloads ingest\" reads")
	},
}

func runNginxConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, err := nginxSpec.parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	listen := cl.stringFlag("listen")
	if listen == "" {
		return nginxSpec.usageError("--listen ADDR:PORT is required")
	}
	m, err := cl.main(stderr)
	if err != nil {
		return err
	}
	source := "the default configuration"
	if file, _, err := config.Locate(cl.flags, os.Environ()); err == nil && file != "" {
		source = file
	}
	opt, err := m.NginxOptions(listen, cl.stringFlag("server-name"), cl.stringFlag("access-log"), source)
	if err != nil {
		return err
	}
	return static.WriteNginx(stdout, opt)
}

var downloadsSpecs = []*cmdSpec{{
	name:     "downloads ingest",
	synopsis: "LOG... [--state FILE] [-c FILE]",
	about: fmt.Sprintf(`Counts the crate downloads nginx served from the static tree: reads each access log written
with the log_format %s that "crated nginx-config" defines, counts the lines of a 200 answer
to a GET of a crate file, and adds them to the store's download counts. Each file is read from
where the last run left it (the state file remembers it by device and inode), so running it
again, from cron, counts only new lines. After a rotation, ingest the rotated file first, then
the new one ("crated downloads ingest access.log.1 access.log"): the rotated file keeps its
inode and is finished where it was left.`, static.DownloadLogName),
	nargs:    1,
	variadic: true,
	flags: func(fs *flag.FlagSet) {
		fs.String("state", "", "where to remember how far each log was read (default: .crated-ingest.json beside the first LOG)")
	},
}}

func runDownloads(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, m, err := start("downloads", downloadsSpecs, args, stdout, stderr)
	if err != nil {
		return err
	}
	statePath := cl.stringFlag("state")
	if statePath == "" {
		statePath = filepath.Join(filepath.Dir(cl.args[0]), ".crated-ingest.json")
	}
	st, err := static.LoadIngestState(statePath)
	if err != nil {
		return err
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	for _, log := range cl.args {
		res, err := static.Ingest(ctx, m.Store, st, log)
		if err != nil {
			return fmt.Errorf("%s: %w", log, err)
		}
		fmt.Fprintf(stdout, "%s: %d new lines, %d downloads counted\n", log, res.Lines, res.Counted)
		for v, n := range res.Unknown {
			fmt.Fprintf(stderr, "%s: %d downloads of %s, which the store does not have, skipped\n", log, n, v)
		}
	}
	return nil
}
