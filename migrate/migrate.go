// Package migrate copies a crated registry from one metadata store to
// another (SQLite to PostgreSQL, or back), and optionally its crate files
// from one blob store to another, then verifies the copy. `crated
// migrate-store` is its command.
//
// The copy goes through the crated.Store interface only, so any pair of
// backends works and the target's constraints and derived columns
// (MaxVersion, search columns) are maintained by the target itself. It is
// resumable: every step first looks at what the target already holds and
// skips it, so running the copy again after an interruption finishes the job
// without duplicating anything. The source must not change meanwhile: stop
// the registry (or put it behind a maintenance page) before migrating.
//
// # What is carried over
//
//   - users: login, name, email, argon2id password hash, OpenID issuer and
//     subject, admin flag, creation time;
//   - API tokens: the SHA-256 hash and the sealed copy, so tokens keep
//     working and the OpenID "/me" page can still show them when the target
//     uses the same token seal key; creation time;
//   - crates and versions, in publish order: the exact index line, checksum,
//     size, publisher, publish time, README, manifest, yanked flag; the
//     crate's name spelling, metadata and creation time;
//   - owners;
//   - blobs, when both blob stores are given: every key, verified against
//     its hash on the way in.
//
// # What is not carried over, and why
//
// The Store interface has no way to write these, or no way to read them:
//
//   - numeric IDs of users, crates, versions and tokens: the target assigns
//     its own. Nothing outside the database refers to them.
//   - the audit log: entries cannot be inserted. The target's log is rebuilt
//     from the copy's own writes instead: one "publish" per version (by its
//     publisher, at its publish time), one "token_replace" per token, and
//     "yank", "owner_add" and "owner_remove" entries for the final state,
//     attributed to the user and time of the latest matching entry of the
//     source's log when there is one. Intermediate history (a version yanked
//     and unyanked again, an owner added and removed) is lost; keep a dump of
//     the source database if it matters.
//   - per-version download counts: Version carries none. Each crate's total
//     is carried over and credited to its latest version, so crate totals
//     match and per-version numbers do not.
//   - pending OpenID logins (login states): they expire within minutes; a
//     login in progress during the migration has to be started again.
//   - a crate's UpdatedAt: it becomes the time of the last publish or yank
//     written by the copy.
//   - the token seal key: it is not in the database at all. Give the target
//     replicas the key of the source (CRATED_TOKEN_SEAL_KEY or
//     openid_config.token_seal_key_file; the embedded default keeps it in
//     db_dir_path/token-seal.key).
//
// Times are carried over exactly for the SQLite and PostgreSQL stores of this
// repository, whose clocks the copy sets for each write; for any other
// target store they become the time of the copy, except version publish
// times, which PublishVersion always keeps.
package migrate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/crated/crated"
)

// Options configures a copy.
type Options struct {
	// SrcBlobs and DstBlobs, when both are set, make Copy copy every blob and
	// Verify check the target's blobs. Set neither when the crate files stay
	// where they are.
	SrcBlobs, DstBlobs crated.BlobStore
	// Progress receives progress bars; nil shows none.
	Progress io.Writer
	// Workers is the number of blobs copied or hashed at once; 4 when 0.
	Workers int
	// Logger receives warnings about data that cannot be copied faithfully;
	// slog.Default() when nil.
	Logger *slog.Logger
}

func (o *Options) workers() int {
	if o.Workers <= 0 {
		return 4
	}
	return o.Workers
}

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// bar returns a progress bar over n steps, invisible without o.Progress.
func (o *Options) bar(n int, what string) *progressbar.ProgressBar {
	if o.Progress == nil {
		return progressbar.NewOptions(n, progressbar.OptionSetWriter(io.Discard), progressbar.OptionSetVisibility(false))
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(o.Progress),
		progressbar.OptionSetDescription(fmt.Sprintf("%-8s", what)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(o.Progress) }),
	)
}

// Stats counts what one run of Copy wrote and what it found already there.
type Stats struct {
	UsersCreated, UsersUpdated, UsersPresent   int
	TokensCopied, TokensRevoked, TokensPresent int
	CratesCreated                              int
	VersionsCopied, VersionsPresent            int
	YanksChanged                               int
	OwnersAdded, OwnersRemoved                 int
	Downloads                                  int64
	BlobsCopied, BlobsPresent                  int
}

// Run copies src to dst with Copy, then checks the result with Verify.
func Run(ctx context.Context, src, dst crated.Store, opt Options) (*Stats, error) {
	st, err := Copy(ctx, src, dst, opt)
	if err != nil {
		return st, err
	}
	return st, Verify(ctx, src, dst, opt)
}

// Copy copies everything the Store interface can read from src into dst,
// skipping what dst already holds: blobs first (so that no version in dst
// ever lacks its file), then users and tokens, then crates with their
// versions, yanks, owners and download counts.
func Copy(ctx context.Context, src, dst crated.Store, opt Options) (_ *Stats, err error) {
	defer crated.Wrap(&err, "migrate.Copy")
	if (opt.SrcBlobs == nil) != (opt.DstBlobs == nil) {
		return nil, crated.Errorf(crated.EINVALID, "copying crate files needs both a source and a target blob store")
	}
	c := &copier{src: src, dst: dst, opt: opt, log: opt.logger(), stats: &Stats{}}
	c.setClock, _ = clockOf(dst)
	defer c.setClock(time.Time{})
	if opt.SrcBlobs != nil {
		if err := c.copyBlobs(ctx); err != nil {
			return c.stats, err
		}
	}
	if err := c.readAudit(ctx); err != nil {
		return c.stats, err
	}
	if err := c.copyUsers(ctx); err != nil {
		return c.stats, err
	}
	if err := c.copyCrates(ctx); err != nil {
		return c.stats, err
	}
	return c.stats, nil
}

// copier holds the state of one Copy.
type copier struct {
	src, dst crated.Store
	opt      Options
	log      *slog.Logger
	// setClock makes dst's next writes carry time t; the zero time restores
	// the real clock.
	setClock func(t time.Time)
	stats    *Stats
	// users maps source user IDs to target user IDs.
	users map[int64]int64
	// latest is the newest source audit entry per action and subject.
	latest map[auditKey]*crated.AuditEntry
}

// Clocked is a store whose writes can be dated: both stores of this
// repository implement it, so a copy keeps the source's dates.
type Clocked interface {
	// SetClock makes the store's writes carry the times now returns; nil
	// restores the real clock.
	SetClock(now func() time.Time)
}

// clockOf returns the function that sets the time of dst's next writes and
// true, for the stores whose clock can be set; for others a no-op and false.
func clockOf(dst crated.Store) (func(time.Time), bool) {
	c, ok := dst.(Clocked)
	if !ok {
		return func(time.Time) {}, false
	}
	return func(t time.Time) {
		if t.IsZero() {
			c.SetClock(nil)
			return
		}
		c.SetClock(func() time.Time { return t })
	}, true
}

// at sets dst's clock to t, or to fallback when t is zero.
func (c *copier) at(t, fallback time.Time) {
	if t.IsZero() {
		t = fallback
	}
	c.setClock(t)
}
