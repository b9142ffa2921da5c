// Package gitindex keeps the registry's index as a git repository, the way cargo
// read registries before the sparse protocol and the way Ktra served them:
// a bare repository whose head commit holds config.json at its root and one
// file per crate, laid out as in the sparse index, one JSON line per version.
//
// The repository is derived from the metadata store, never the other way
// round: Sync renders the named crates (or all of them) from the store and
// commits the difference, so deleting the repository and calling Sync(nil)
// rebuilds it. The repository is served read-only over git's smart HTTP
// protocol (Handler) and, when a remote is configured, force-pushed to it
// after every change, as Ktra did.
package gitindex

import (
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Config is what Open needs. The app fills it from [index_config].
type Config struct {
	// Dir is the local repository (index_config.local_path). It is created
	// as a bare repository when missing. An existing repository is reused,
	// bare or not (Ktra kept a clone with a work tree there; crated only
	// uses its .git directory).
	Dir string
	// Branch is the branch holding the index; HEAD points at it. Default
	// "main".
	Branch string

	// RemoteURL, when set, receives a force-push of Branch after every
	// commit: https://..., ssh://..., user@host:path, file://... or a local
	// path. Empty means no push.
	RemoteURL string
	// HTTPSUsername and HTTPSPassword authenticate pushes to an http(s)
	// remote (a password or an access token).
	HTTPSUsername string
	HTTPSPassword string
	// SSHUsername (default: the URL's user, else "git"), SSHPrivateKeyPath
	// and SSHKeyPassphrase authenticate pushes to an ssh remote. Without a
	// key path the SSH agent is used.
	SSHUsername       string
	SSHPrivateKeyPath string
	SSHKeyPassphrase  string
	// SSHKnownHostsPath is the known_hosts file that vouches for the ssh
	// remote's host key. Empty: $SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts.
	SSHKnownHostsPath string

	// AuthorName and AuthorEmail sign the commits. Defaults "crated" and
	// "crated@localhost" (Ktra used "ktra-driver", "undefined@example.com").
	AuthorName  string
	AuthorEmail string

	// ConfigJSON is written verbatim as config.json at the root of every
	// commit: the same document the sparse index serves (dl and api).
	ConfigJSON []byte

	// Locker, when set, is held around every Sync so that several replicas
	// never write or push at the same time (a PostgreSQL advisory lock).
	Locker Locker

	// Coalesce is the least time between two commits made by Run; changes
	// arriving meanwhile go into the next one. Default 200ms.
	Coalesce time.Duration
	// PushAttempts is how many times one Sync tries to push (default 3),
	// waiting Backoff, then twice that, and so on between attempts. Backoff
	// (default 1s) is also the first delay before Run retries a failed
	// Sync; Run doubles it up to five minutes.
	PushAttempts int
	Backoff      time.Duration

	// SendTimeout bounds every write of an upload-pack answer to a client
	// (default DefaultSendTimeout): a client that stops reading for that
	// long is cut off, so it holds neither its pack nor the connection.
	SendTimeout time.Duration
}

// DefaultSendTimeout is Config.SendTimeout unless set: a client that
// accepts no byte of its pack for this long is gone or hostile.
const DefaultSendTimeout = 30 * time.Second

// Locker is a lock shared by every process that writes the same index.
type Locker interface {
	// Lock blocks until the lock is held or ctx ends, and returns the
	// function that releases it.
	Lock(ctx context.Context) (unlock func(), err error)
}

// Index is a git index over a metadata store. Its methods are safe for
// concurrent use.
type Index struct {
	cfg    Config
	store  Store
	log    *slog.Logger
	gitDir string
	branch plumbing.ReferenceName

	remote *transport.Endpoint // nil without RemoteURL
	auth   transport.AuthMethod
	// secrets are scrubbed from push errors before they are logged.
	secrets []string

	// syncMu makes Sync the only writer in this process. The fields below
	// it belong to the writer.
	syncMu sync.Mutex
	repo   *gogit.Repository
	root   *dir              // image of head's tree; nil: reload
	paths  map[string]string // canonical name -> index path
	// newest is, for each crate in root, the time of its newest version:
	// the commit's date is the newest of them. nil: unknown (root was
	// read from disk), and the next commit renders every crate.
	newest      map[string]time.Time
	head        plumbing.Hash // commit root was loaded from or written as
	tree        plumbing.Hash // head's tree
	pushPending bool

	// repoMu guards the repository's files against readers: the writer
	// takes it exclusively to move the branch and to repack; Handler's
	// requests take it shared. New objects are written without it, since
	// nothing refers to them until the branch moves.
	repoMu    sync.RWMutex
	readCache cache.Object
	// packSlots bounds the packs being built at once: building is CPU
	// and I/O on the repository. A slot is held only while a pack is
	// built, never while it is sent.
	packSlots chan struct{}
	// spooled bounds the bytes of built packs held in memory while they
	// wait for their clients (maxSpoolMemory); past it, packs wait in
	// temporary files.
	spooled spoolBudget

	queue queue

	// movedMu guards moved, which is closed (and replaced) whenever the
	// branch moves: upload-pack requests that want a commit this replica
	// has not made yet wait on it (see awaitWants).
	movedMu sync.Mutex
	moved   chan struct{}
}

const (
	configFile    = "config.json"
	pushTimeout   = 2 * time.Minute
	maxRunBackoff = 5 * time.Minute
)

// Store is what the git index reads from the metadata store.
// crated.Store satisfies it.
type Store interface {
	// IndexRows is the narrow read a crate's file is rendered from, the
	// sparse index's too: READMEs and manifests are never read.
	IndexRows(ctx context.Context, canon string) (*crated.IndexRows, error)
	SearchCrates(ctx context.Context, q crated.SearchQuery) ([]*crated.Crate, int, error)
}

// Open opens or creates the repository in cfg.Dir. It does not sync: call
// Sync(nil), or Run, which starts with a full sync.
func Open(ctx context.Context, cfg Config, store Store, log *slog.Logger) (_ *Index, err error) {
	defer crated.Wrap(&err, "git.Open(%q)", cfg.Dir)
	if log == nil {
		log = slog.Default()
	}
	if cfg.Dir == "" {
		return nil, crated.Errorf(crated.EINVALID, "git index: the local repository path is empty")
	}
	if cfg.Branch == "" {
		cfg.Branch = "main"
	}
	branch := plumbing.NewBranchReferenceName(cfg.Branch)
	if err := branch.Validate(); err != nil {
		return nil, crated.Errorf(crated.EINVALID, "git index: %q is not a valid branch name", cfg.Branch)
	}
	if !json.Valid(cfg.ConfigJSON) {
		return nil, crated.Errorf(crated.EINVALID, "git index: config.json is not valid JSON")
	}
	if cfg.AuthorName == "" {
		cfg.AuthorName = "crated"
	}
	if cfg.AuthorEmail == "" {
		cfg.AuthorEmail = "crated@localhost"
	}
	if cfg.Coalesce <= 0 {
		cfg.Coalesce = 200 * time.Millisecond
	}
	if cfg.PushAttempts <= 0 {
		cfg.PushAttempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	ix := &Index{
		cfg:       cfg,
		store:     store,
		log:       log,
		branch:    branch,
		readCache: cache.NewObjectLRU(16 * cache.MiByte),
		packSlots: make(chan struct{}, 4),
		spooled:   spoolBudget{max: maxSpoolMemory},
		queue:     newQueue(),
		moved:     make(chan struct{}),
	}
	for _, s := range []string{cfg.HTTPSPassword, cfg.SSHKeyPassphrase} {
		if s != "" {
			ix.secrets = append(ix.secrets, s)
		}
	}
	if cfg.RemoteURL != "" {
		if ix.remote, ix.auth, err = remoteFor(cfg); err != nil {
			return nil, err
		}
		if ix.remote.Password != "" {
			ix.secrets = append(ix.secrets, ix.remote.Password)
		}
		// A remote may be behind after a restart: the first Sync pushes
		// even when it commits nothing.
		ix.pushPending = true
	}
	if err := ix.openRepo(); err != nil {
		return nil, err
	}
	// Pack the loose objects of earlier runs now, while nobody reads.
	ix.repack()
	return ix, nil
}

// openRepo opens or initializes the repository and points HEAD at the
// branch.
func (ix *Index) openRepo() error {
	ix.gitDir = ix.cfg.Dir
	if fi, err := os.Stat(filepath.Join(ix.cfg.Dir, ".git")); err == nil && fi.IsDir() {
		ix.gitDir = filepath.Join(ix.cfg.Dir, ".git")
	}
	if err := os.MkdirAll(ix.gitDir, 0o755); err != nil {
		return crated.Errorf(crated.EINVALID, "git index: cannot create %s: %v", ix.gitDir, err)
	}
	st := ix.newStorage(cache.NewObjectLRUDefault())
	repo, err := gogit.Open(st, nil)
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		// Create the repository only in an empty directory: a wrong
		// local_path must not fill someone's directory with git files.
		if entries, _ := os.ReadDir(ix.gitDir); len(entries) > 0 {
			return crated.Errorf(crated.EINVALID, "git index: %s is neither empty nor a git repository", ix.cfg.Dir)
		}
		repo, err = gogit.InitWithOptions(st, nil, gogit.InitOptions{DefaultBranch: ix.branch})
	}
	if err != nil {
		return crated.Errorf(crated.EINVALID, "git index: %s is not a usable git repository: %v", ix.cfg.Dir, err)
	}
	head, err := st.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != ix.branch {
		// Cargo fetches HEAD: it must name the branch Sync moves.
		if err := st.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ix.branch)); err != nil {
			return fmt.Errorf("point HEAD at %s: %w", ix.branch, err)
		}
	}
	ix.repo = repo
	return nil
}

func (ix *Index) newStorage(c cache.Object) *filesystem.Storage {
	return filesystem.NewStorage(osfs.New(ix.gitDir), c)
}

// Sync brings the repository up to date with the store for the given
// canonical crate names; nil, an empty list or a list holding "" rebuild
// every file. It writes at most one commit, only if a file changed, and then
// pushes when a remote is configured and a push is due (this commit or an
// earlier one whose push failed). A failed push keeps the commit and
// returns an EUNAVAILABLE error; the next Sync pushes again.
func (ix *Index) Sync(ctx context.Context, canons []string) (err error) {
	defer crated.Wrap(&err, "git.Sync")
	if ix.cfg.Locker != nil {
		unlock, err := ix.cfg.Locker.Lock(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	ix.syncMu.Lock()
	defer ix.syncMu.Unlock()

	full := len(canons) == 0 || slices.Contains(canons, "")
	committed, err := ix.commit(ctx, canons, full)
	if err != nil {
		// The in-memory tree may be half edited: read it again next time.
		ix.root = nil
		return err
	}
	if committed && ix.remote != nil {
		ix.pushPending = true
	}
	if ix.pushPending && !ix.head.IsZero() {
		return ix.pushWithRetry(ctx)
	}
	return nil
}

// load reads the branch's head into root and paths when they are missing or
// stale (another process sharing the directory moved the branch).
func (ix *Index) load() error {
	st := ix.repo.Storer
	ref, err := st.Reference(ix.branch)
	var head plumbing.Hash
	switch {
	case err == nil:
		head = ref.Hash()
	case errors.Is(err, plumbing.ErrReferenceNotFound):
	default:
		return fmt.Errorf("read %s: %w", ix.branch, err)
	}
	if ix.root != nil && head == ix.head {
		return nil
	}
	root, tree := newDir(), plumbing.ZeroHash
	if !head.IsZero() {
		c, err := object.GetCommit(st, head)
		if err == nil {
			tree = c.TreeHash
			root, err = loadDir(st, c.TreeHash)
		}
		switch {
		case err == nil:
		case damaged(err):
			// Objects lost in a crash (they are written without fsync)
			// or removed by hand. The repository is derived: start a new
			// history, which the full rebuild below fills.
			ix.log.Warn("git index: the branch head is unreadable; starting a new history", "commit", head.String(), "err", err)
			root, tree, head = newDir(), plumbing.ZeroHash, plumbing.ZeroHash
		default:
			return fmt.Errorf("read commit %s: %w", head, err)
		}
	}
	paths := map[string]string{}
	root.each("", func(p string) {
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			paths[cargo.CanonicalName(p[i+1:])] = p
		}
	})
	ix.root, ix.paths, ix.head, ix.tree, ix.newest = root, paths, head, tree, nil
	return nil
}

// damaged reports whether err means that objects of the repository are
// missing or corrupt, rather than unreachable for a while.
func damaged(err error) bool {
	return errors.Is(err, plumbing.ErrObjectNotFound) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, zlib.ErrChecksum) || errors.Is(err, zlib.ErrHeader) || errors.Is(err, object.ErrUnsupportedObject)
}

// commit renders the crates into the tree and moves the branch to the
// commit of that tree, if it is not there already.
//
// The commit is a pure function of the store, so that every replica of a
// registry makes the same one and a client may fetch the references from
// one replica and the objects from another: it has no parent, its author
// and committer are the configured identity, its date is the publication
// time of the newest version in the index, and its message counts the
// crates. A history could not be the same everywhere, since replicas see
// the store's changes in different batches; cargo and git fetch the index
// with a forcing refspec and do not need one. Two states of the store that
// give the same tree and date give the same commit.
func (ix *Index) commit(ctx context.Context, canons []string, full bool) (bool, error) {
	if err := ix.load(); err != nil {
		return false, err
	}
	if ix.head.IsZero() || ix.newest == nil {
		// A new history, or a tree read from disk whose dates are not
		// known: render every crate.
		full = true
	}
	st := ix.repo.Storer
	if full {
		root, paths, newest, err := ix.renderAll(ctx)
		if err != nil {
			return false, err
		}
		ix.root, ix.paths, ix.newest = root, paths, newest
	} else {
		seen := map[string]bool{}
		for _, canon := range canons {
			canon = cargo.CanonicalName(canon) // tolerate a crate's spelling
			if seen[canon] {
				continue
			}
			seen[canon] = true
			if err := ix.renderOne(ctx, canon); err != nil {
				return false, err
			}
		}
	}
	h, err := storeBlob(st, ix.cfg.ConfigJSON)
	if err != nil {
		return false, err
	}
	ix.root.set(configFile, h)
	tree, err := ix.root.write(st)
	if err != nil {
		return false, err
	}

	when := time.Unix(0, 0) // an index without versions: git's epoch
	for _, t := range ix.newest {
		if t.After(when) {
			when = t
		}
	}
	// Whole seconds in UTC: what git records, whatever the zone the
	// store's driver reads times in.
	sig := object.Signature{Name: ix.cfg.AuthorName, Email: ix.cfg.AuthorEmail, When: time.Unix(when.Unix(), 0).UTC()}
	c := &object.Commit{Author: sig, Committer: sig, Message: message(len(ix.paths)), TreeHash: tree}
	obj := st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return false, fmt.Errorf("encode commit: %w", err)
	}
	if obj.Hash() == ix.head {
		return false, nil
	}
	ch, err := storeObject(st, obj)
	if err != nil {
		return false, err
	}
	ix.repoMu.Lock()
	err = ix.writeBranch(ch)
	ix.repoMu.Unlock()
	if err != nil {
		return false, fmt.Errorf("move %s: %w", ix.branch, err)
	}
	ix.head, ix.tree = ch, tree
	ix.movedMu.Lock()
	close(ix.moved)
	ix.moved = make(chan struct{})
	ix.movedMu.Unlock()
	ix.log.Debug("git index: committed", "commit", ch.String(), "change", c.Message)
	return true, nil
}

// movedChan returns a channel closed when the branch next moves.
func (ix *Index) movedChan() <-chan struct{} {
	ix.movedMu.Lock()
	defer ix.movedMu.Unlock()
	return ix.moved
}

// writeBranch points the branch at commit h. The ref file is replaced
// atomically (written to "<ref>.lock", git's own convention, then renamed):
// go-git rewrites it in place, and a process reading the directory at that
// moment, such as a git daemon serving it, would see an empty branch.
func (ix *Index) writeBranch(h plumbing.Hash) error {
	path := filepath.Join(ix.gitDir, filepath.FromSlash(ix.branch.String()))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	lock := path + ".lock"
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(h.String() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(lock, path)
	}
	if err != nil {
		os.Remove(lock)
	}
	return err
}

// renderAll builds a fresh tree holding every crate of the store.
func (ix *Index) renderAll(ctx context.Context) (*dir, map[string]string, map[string]time.Time, error) {
	crates, _, err := ix.store.SearchCrates(ctx, crated.SearchQuery{})
	if err != nil {
		return nil, nil, nil, err
	}
	root, paths, newest := newDir(), make(map[string]string, len(crates)), make(map[string]time.Time, len(crates))
	for _, c := range crates {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		name, body, t, err := ix.render(ctx, c.CanonName)
		if err != nil {
			return nil, nil, nil, err
		}
		if body == nil {
			continue
		}
		h, err := storeBlob(ix.repo.Storer, body)
		if err != nil {
			return nil, nil, nil, err
		}
		p := cargo.IndexPath(name)
		root.set(p, h)
		paths[c.CanonName] = p
		newest[c.CanonName] = t
	}
	return root, paths, newest, nil
}

// renderOne updates one crate's file in the tree.
func (ix *Index) renderOne(ctx context.Context, canon string) error {
	old, had := ix.paths[canon]
	name, body, newest, err := ix.render(ctx, canon)
	if err != nil {
		return err
	}
	if body == nil {
		// Gone from the store, or no version left: no file.
		delete(ix.paths, canon)
		delete(ix.newest, canon)
		if had {
			ix.root.remove(old)
		}
		return nil
	}
	p := cargo.IndexPath(name)
	h, err := storeBlob(ix.repo.Storer, body)
	if err != nil {
		return err
	}
	if had && old != p {
		ix.root.remove(old)
	}
	ix.root.set(p, h)
	ix.paths[canon] = p
	ix.newest[canon] = newest
	return nil
}

// render returns a crate's name as first published, its index file (nil
// when the crate is gone or has no version left) and the publication time of
// its newest version. The file is cargo.IndexFile's, the renderer the sparse
// index calls too, from the same narrow read.
func (ix *Index) render(ctx context.Context, canon string) (string, []byte, time.Time, error) {
	rows, err := ix.store.IndexRows(ctx, canon)
	if crated.IsCode(err, crated.ENOTFOUND) || err == nil && len(rows.Versions) == 0 {
		return "", nil, time.Time{}, nil
	}
	if err != nil {
		return "", nil, time.Time{}, err
	}
	var newest time.Time
	for _, v := range rows.Versions {
		if v.PublishedAt.After(newest) {
			newest = v.PublishedAt
		}
	}
	body, err := cargo.IndexFile(rows.Versions)
	return rows.Name, body, newest, err
}

// message is the commit message of an index of n crates. It says nothing
// of what changed: the commit must not depend on the batches in which a
// replica saw the changes.
func message(n int) string {
	if n == 1 {
		return "Index of 1 crate"
	}
	return fmt.Sprintf("Index of %d crates", n)
}

// pruneGrace is how old an unreachable loose object must be before the
// start's repack removes it: a younger one may belong to a commit that
// another process sharing the directory is making. A variable so that a
// test can shorten it.
var pruneGrace = time.Hour

// pruneLoose removes the loose objects last written before cutoff. Run it
// after RepackObjects, which has packed, and deleted the loose files of,
// everything the references reach: what is left reaches nothing.
func pruneLoose(repo *gogit.Repository, cutoff time.Time) error {
	los, ok := repo.Storer.(storer.LooseObjectStorer)
	if !ok {
		return nil
	}
	var old []plumbing.Hash
	err := los.ForEachObjectHash(func(h plumbing.Hash) error {
		if t, err := los.LooseObjectTime(h); err == nil && t.Before(cutoff) {
			old = append(old, h)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range old {
		if err := los.DeleteLooseObject(h); err != nil {
			return err
		}
	}
	return nil
}

// repack packs the loose objects that every commit leaves behind, so that
// reads stay fast. Readers are kept out meanwhile: repacking deletes files
// they may be reading. A failure is only logged; the objects stay loose.
func (ix *Index) repack() {
	ix.repoMu.Lock()
	defer ix.repoMu.Unlock()
	// Repack through a freshly opened repository: RepackObjects keeps only
	// what the references it reads reach, and the long-lived repository may
	// still see the branch where it was before writeBranch moved it, which
	// would drop the newest commits' objects.
	fresh, err := gogit.Open(ix.newStorage(cache.NewObjectLRUDefault()), nil)
	if err != nil {
		ix.log.Warn("git index: open for repack failed; objects stay loose", "err", err)
		return
	}
	if err := fresh.RepackObjects(&gogit.RepackConfig{}); err != nil {
		ix.log.Warn("git index: repack failed; objects stay loose", "err", err)
		return
	}
	// RepackObjects deletes the loose files of what it packed, but not the
	// others: every commit is a root commit, so each earlier run's commits
	// and files would stay on disk for good.
	if err := pruneLoose(fresh, time.Now().Add(-pruneGrace)); err != nil {
		ix.log.Warn("git index: removing unreachable loose objects failed", "err", err)
	}
	// Cached objects may point into deleted pack files.
	ix.readCache.Clear()
	repo, err := gogit.Open(ix.newStorage(cache.NewObjectLRUDefault()), nil)
	if err != nil {
		ix.log.Warn("git index: reopen after repack failed", "err", err)
		return
	}
	ix.repo = repo
}
