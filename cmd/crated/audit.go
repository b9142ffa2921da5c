package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

var auditSpec = &cmdSpec{
	name:     "audit",
	synopsis: "[--crate NAME] [--limit N] [-c FILE]",
	about: `Shows the audit log, newest first: every publish, yank, unyank, owner change, token
creation, revocation and replacement, and login, with the user, how they authenticated (a
token's id and name, a password, OpenID, trusted publishing) and the client address. Token
values are never recorded. With --crate, only that crate's entries. It runs beside a serving
registry.`,
	flags: func(fs *flag.FlagSet) {
		fs.String("crate", "", "show only this crate's entries")
		fs.Int("limit", 100, "show at most this many entries (0: all)")
	},
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, err := auditSpec.parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	limit, err := strconv.Atoi(cl.stringFlag("limit"))
	if err != nil || limit < 0 {
		return auditSpec.usageError("--limit %s: give a number, 0 for all", cl.stringFlag("limit"))
	}
	m, err := cl.main(stderr)
	if err != nil {
		return err
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	var es []*crated.AuditEntry
	if name := cl.stringFlag("crate"); name != "" {
		// Entries name the crate as published; accept any spelling of a
		// crate that exists, and the exact name of one that does not.
		if c, err := m.Store.CrateByName(ctx, cargo.CanonicalName(name)); err == nil {
			name = c.Name
		} else if !crated.IsCode(err, crated.ENOTFOUND) && !crated.IsCode(err, crated.EINVALID) {
			return err
		}
		es, err = m.Store.CrateAudit(ctx, name, limit)
	} else {
		es, err = m.Store.Audit(ctx, limit)
	}
	if err != nil {
		return err
	}
	writeAudit(stdout, es)
	return nil
}

func writeAudit(w io.Writer, es []*crated.AuditEntry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tACTOR\tCRATE\tVERSION\tDETAIL\tAUTH\tCLIENT")
	for _, e := range es {
		actor := e.Actor
		if actor == "" {
			actor = "user " + strconv.FormatInt(e.UserID, 10)
		}
		auth := e.Auth
		if e.TokenID != 0 {
			auth += " " + crated.TokenAuditDetail(e.TokenID, e.TokenName)
		}
		if e.AuthDetail != "" {
			auth += " " + e.AuthDetail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Action, actor,
			dash(e.Crate), dash(e.Version), dash(e.Detail), dash(auth), dash(e.Client))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
