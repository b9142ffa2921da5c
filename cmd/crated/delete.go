package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/crated/crated/registry"
)

var crateSpecs = []*cmdSpec{{
	name:     "crate delete",
	synopsis: "NAME [VERSION] [--force] [--reason TEXT] [-c FILE]",
	about: `Removes one version of a crate, or the whole crate with its owners, for what a yank does
not cover: a leaked secret, a legal request. A yanked version stays downloadable; a deleted one
is gone: from the store, the sparse and git indexes, the downloads (404) and the web pages.
Its .crate file is deleted too when no other version refers to it.

Without --force it only shows what would be deleted, and changes nothing. Deleting a crate's
only version deletes the crate. The delete is recorded in the audit log under the operator's
system user name, with --reason.

A running server drops the deleted version from its index within about a second: PostgreSQL
notifies every replica, and a server on the same SQLite file polls for changes made by other
processes. The git index ([index_config]) is rewritten by the server that writes it; with no
server running, it catches up when one starts.

The name can be published again at once, by anyone allowed to publish, who becomes its first
owner; so can a deleted version number. Cargo refuses a Cargo.lock whose checksum for a version
changed, so builds that locked the deleted content fail loudly rather than fetch other bytes:
publish fixes under a new version number.`,
	nargs:    1,
	variadic: true,
	flags: func(fs *flag.FlagSet) {
		fs.Bool("force", false, "delete (default: only show what would be deleted)")
		fs.String("reason", "", "why, for the audit log")
	},
}}

func runCrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	spec, rest, err := group("crate", crateSpecs, args, stdout)
	if err != nil {
		return err
	}
	cl, err := spec.parse(rest, stdout, stderr)
	if err != nil {
		return err
	}
	if len(cl.args) > 2 {
		return spec.usageError("unexpected argument %q", cl.args[2])
	}
	name, vers := cl.args[0], ""
	if len(cl.args) == 2 {
		vers = cl.args[1]
	}
	m, err := cl.main(stderr)
	if err != nil {
		return err
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	svc := m.NewService()
	d, err := svc.PlanDelete(ctx, name, vers)
	if err != nil {
		return err
	}
	describeDeletion(stdout, d)
	if !cl.boolFlag("force") {
		confirm := []string{progName, "crate", "delete", d.Crate.Name}
		if !d.Whole {
			confirm = append(confirm, d.Versions[0].Vers)
		}
		return fmt.Errorf("nothing was deleted: this cannot be undone; to delete it, run\n  %s --force%s",
			strings.Join(confirm, " "), configArgs(cl))
	}
	if err := svc.Delete(ctx, d, operatorName(), cl.stringFlag("reason")); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "deleted from %s; %d crate files removed; the audit log records it\n", m.StoreName(), len(d.Blobs))
	return nil
}

// describeDeletion says what d removes.
func describeDeletion(w io.Writer, d *registry.Deletion) {
	if !d.Whole {
		v := d.Versions[0]
		fmt.Fprintf(w, "version %s of crate %s (published %s, .crate sha256 %s)\n", v.Vers, d.Crate.Name, v.PublishedAt.Format("2006-01-02"), v.Cksum)
		return
	}
	vers := make([]string, len(d.Versions))
	for i, v := range d.Versions {
		vers[i] = v.Vers
	}
	logins := make([]string, len(d.Owners))
	for i, u := range d.Owners {
		logins[i] = u.Login
	}
	fmt.Fprintf(w, "the whole crate %s: %d versions (%s) and its owners (%s)\n",
		d.Crate.Name, len(vers), strings.Join(vers, ", "), strings.Join(logins, ", "))
}

// configArgs repeats the -c flag of the command line in the suggested
// confirmation, so that it opens the same registry.
func configArgs(cl *cmdLine) string {
	if c := cl.flags.Config; c != "" {
		return " -c " + c
	}
	return ""
}

// operatorName names the person at the command line for the audit log: the
// system user, and the host, since registry users are not involved.
func operatorName() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		name += "@" + host
	}
	return "operator " + name
}
