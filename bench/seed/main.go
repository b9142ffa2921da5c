// Command seed fills a crated data directory with N crates of M versions
// each, straight through the stores (no HTTP), for the scale benchmarks:
//
//	seed -db-dir-path D -dl-dir-path C [-crates 100000] [-versions 10] [-blobs all|none]
//
// The data directories are the ones `crated serve --db-dir-path D
// --dl-dir-path C` opens. Each version gets a realistic index line and, with
// -blobs all, a real small .crate in the file blob store, so that its
// download works too. With -blobs none the checksums name no file: the index
// is complete but downloads of seeded versions fail, which is enough for
// index and start-up measurements and many times faster.
//
// Versions go through Store.PublishVersion, the store's only write path: one
// transaction each, as a real publish. The store has no batch method, so
// several workers publish in parallel; SQLite serializes them on its one
// writer connection while the other workers generate crates and write
// blobs.
//
// The crates are synth.Name(i) for i in [-first, -first+crates), versions
// synth.Version(j), so the load generator can name them without a list.
// -paths FILE also writes the index path of every crate, one a line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/crated/crated"
	"github.com/crated/crated/bench/synth"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/sqlite"
)

type options struct {
	dbDir, dlDir string
	crates       int
	versions     int
	first        int
	blobs        string
	workers      int
	codeBytes    int
	user         string
	pathsFile    string
	quiet        bool
	cpuProfile   string
}

func main() {
	var o options
	flag.StringVar(&o.dbDir, "db-dir-path", "crated-data/db", "SQLite database directory, as crated's --db-dir-path")
	flag.StringVar(&o.dlDir, "dl-dir-path", "crated-data/crates", "crate files directory, as crated's --dl-dir-path")
	flag.IntVar(&o.crates, "crates", 100000, "number of crates")
	flag.IntVar(&o.versions, "versions", 10, "versions per crate")
	flag.IntVar(&o.first, "first", 0, "number of the first crate (to add crates to a seeded directory)")
	flag.StringVar(&o.blobs, "blobs", "write", "put: a real .crate for every version through BlobStore.Put (durable, slow);\nwrite: the same files written straight to their paths, without fsync;\nnone: index only, downloads of seeded versions fail")
	flag.IntVar(&o.workers, "workers", 2*runtime.GOMAXPROCS(0)+2, "parallel publishers")
	flag.IntVar(&o.codeBytes, "code-bytes", synth.Small, "size of each crate's src/lib.rs before compression")
	flag.StringVar(&o.user, "user", "bench", "login of the seeded crates' owner (created if missing; get it a token with crated token rotate)")
	flag.StringVar(&o.pathsFile, "paths", "", "write the index path of every crate to this file")
	flag.BoolVar(&o.quiet, "quiet", false, "no progress output")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the seeding to this file")
	flag.Parse()
	if o.blobs != "put" && o.blobs != "write" && o.blobs != "none" {
		fmt.Fprintln(os.Stderr, "seed: -blobs must be put, write or none")
		os.Exit(2)
	}
	if o.crates < 0 || o.versions < 1 || o.workers < 1 {
		fmt.Fprintln(os.Stderr, "seed: -crates must be >= 0, -versions and -workers >= 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	store, err := sqlite.Open(ctx, filepath.Join(o.dbDir, "crated.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	blobs, err := fs.New(o.dlDir)
	if err != nil {
		return err
	}
	owner, err := ensureUser(ctx, store, o.user)
	if err != nil {
		return err
	}
	if o.pathsFile != "" {
		if err := writePaths(o); err != nil {
			return err
		}
	}

	total := int64(o.crates) * int64(o.versions)
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetDescription(fmt.Sprintf("seeding %d crates x %d versions", o.crates, o.versions)),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("versions"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetVisibility(!o.quiet && term.IsTerminal(int(os.Stderr.Fd()))),
		progressbar.OptionFullWidth(),
	)
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	var done atomic.Int64
	next := make(chan int)
	errc := make(chan error, o.workers)
	var wg sync.WaitGroup
	for w := 0; w < o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := seedCrate(ctx, store, blobs, o, owner, i, bar, &done); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	if !o.quiet && !term.IsTerminal(int(os.Stderr.Fd())) {
		// No bar in a log file: a line every ten seconds instead.
		go func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for range t.C {
				n := done.Load()
				fmt.Fprintf(os.Stderr, "seed: %d/%d versions, %.0f/s\n", n, total, float64(n)/time.Since(start).Seconds())
			}
		}()
	}
	var runErr error
feed:
	for i := o.first; i < o.first+o.crates; i++ {
		select {
		case next <- i:
		case runErr = <-errc:
			break feed
		case <-ctx.Done():
			runErr = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	bar.Finish()
	fmt.Fprintln(os.Stderr)
	if runErr == nil {
		select {
		case runErr = <-errc:
		default:
		}
	}
	el := time.Since(start)
	n := done.Load()
	fmt.Printf("seeded %d versions of %d crates in %s: %.0f versions/s (blobs: %s)\n",
		n, n/int64(o.versions), el.Round(time.Millisecond), float64(n)/el.Seconds(), o.blobs)
	return runErr
}

// ensureUser finds the owner or creates it as a password user without a
// password, as `crated user add` does; `crated token rotate LOGIN` gives it
// a token for publishing.
func ensureUser(ctx context.Context, store crated.Store, login string) (int64, error) {
	u, err := store.UserByLogin(ctx, login)
	if crated.IsCode(err, crated.ENOTFOUND) {
		u = &crated.User{Login: login, Name: login}
		err = store.CreateUser(ctx, u)
	}
	if err != nil {
		return 0, err
	}
	return u.ID, nil
}

func writePaths(o options) error {
	f, err := os.Create(o.pathsFile)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := o.first; i < o.first+o.crates; i++ {
		fmt.Fprintf(w, "/index/%s\n", synth.IndexPath(synth.Name(i)))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// seedCrate publishes every version of crate i, in version order, the first
// one creating the crate. A crate seeded by an earlier run is skipped, so an
// interrupted seed can be resumed.
func seedCrate(ctx context.Context, store crated.Store, blobs *fs.Store, o options, owner int64, i int, bar *progressbar.ProgressBar, done *atomic.Int64) error {
	name := synth.Name(i)
	canon := cargo.CanonicalName(name)
	if _, err := store.CrateByName(ctx, canon); err == nil {
		bar.Add(o.versions)
		return nil
	} else if !crated.IsCode(err, crated.ENOTFOUND) {
		return err
	}
	internal := ""
	if i > 0 {
		internal = synth.Name(i - 1)
	}
	// Spread publish times over the past, one version a week.
	base := time.Now().UTC().Add(-time.Duration(o.versions) * 7 * 24 * time.Hour).Truncate(time.Second)
	var crateID int64
	for j := 0; j < o.versions; j++ {
		vers := synth.Version(j)
		v, err := cargo.ParseVersion(vers)
		if err != nil {
			return err
		}
		c := synth.New(name, vers, o.codeBytes, internal)
		var cksum string
		var size int64
		if o.blobs != "none" {
			tb := c.Tarball()
			sum := sha256.Sum256(tb)
			cksum, size = hex.EncodeToString(sum[:]), int64(len(tb))
			if err := putBlob(ctx, blobs, o.blobs, cksum, tb); err != nil {
				return err
			}
		} else {
			sum := sha256.Sum256([]byte("no blob: " + name + "@" + vers))
			cksum, size = hex.EncodeToString(sum[:]), 2000
		}
		published := base.Add(time.Duration(j) * 7 * 24 * time.Hour)
		nv := &crated.NewVersion{
			CrateID: crateID,
			Crate: crated.Crate{
				Name:        name,
				CanonName:   canon,
				Description: c.Description,
				Repository:  c.Repository,
				Keywords:    c.Keywords,
				Categories:  c.Categories,
			},
			Version: crated.Version{
				Vers:        vers,
				VersKey:     v.Key(),
				SortKey:     v.SortKey(),
				Cksum:       cksum,
				Size:        size,
				Entry:       c.IndexLine(cksum, published),
				PublishedBy: owner,
				PublishedAt: published,
				Readme:      c.Readme,
				Manifest:    []byte(`{"authors":["Platform Team <platform@example.com>"],"license":"MIT OR Apache-2.0","rust_version":"1.74","readme_file":"README.md"}`),
			},
			OwnerID: owner,
		}
		pv, err := store.PublishVersion(ctx, nv)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			return fmt.Errorf("publish %s@%s: %w", name, vers, err)
		}
		crateID = pv.CrateID
		done.Add(1)
		bar.Add(1)
	}
	return nil
}

// putBlob stores a .crate. Mode "write" skips Put's fsyncs, which cost more
// than everything else the seeder does: a seeded directory is scratch data
// that is made again after a crash. It still writes a temporary file and
// renames it, so an interrupted seed leaves no partial blob under a key.
func putBlob(ctx context.Context, blobs *fs.Store, mode, key string, b []byte) error {
	if mode == "put" {
		return blobs.Put(ctx, key, bytes.NewReader(b), int64(len(b)))
	}
	path := blobs.Path(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), ".put-seed-"+key[:16])
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
