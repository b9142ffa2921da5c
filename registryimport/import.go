// Package registryimport brings an existing Cargo registry into crated: its
// index files (a git index checkout or a sparse layout) and its .crate
// files (in the layouts of cargo-local-registry, panamax, Kellnr, Ktra or
// crates.io's static files).
//
// Every version keeps its index line byte for byte (the sparse index serves
// it back unchanged), its yanked flag and its pubtime. Each .crate file is
// checked against its line's cksum before it is stored; a line whose file
// is missing or does not match is reported and skipped, because a version
// whose download fails is worse than no version. Versions the store already
// has with the same checksum are skipped as identical, so that running the
// same import again changes nothing.
//
// The work is a pipeline: the names of the .crate files are listed first;
// then the index is read a batch of files at a time, each batch's crate
// files are hashed and stored by several workers (with one flush to disk per
// chunk where the blob store can, blob/fs.PutBatch), while the previous
// batch is written to the metadata store in one transaction
// (crated.Store.ImportVersions). Only a few batches are in memory at once.
package registryimport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
)

// Options says what to import and where.
type Options struct {
	// IndexDir is the root of the source index; CratesDir holds its .crate
	// files.
	IndexDir, CratesDir string
	// Owner owns every crate the import creates and is recorded as the
	// publisher of every imported version. Crates that exist keep their
	// owners.
	Owner *crated.User
	Store crated.Store
	Blobs crated.BlobStore
	// Workers read, hash and store crate files at once; default
	// GOMAXPROCS, at least 4 (storing a file mostly waits for the disk).
	Workers int
	// BatchSize is the number of versions per store transaction; default
	// 1000.
	BatchSize int
	// Progress, when set, receives a progress bar.
	Progress io.Writer
}

// Kind is why a version or file was not imported.
type Kind string

const (
	InvalidLine      Kind = "invalid index line"
	MissingFile      Kind = "crate file missing"
	ChecksumMismatch Kind = "crate file does not match cksum"
	UnreadableFile   Kind = "crate file unreadable"
	Conflict         Kind = "conflicts with the registry"
)

// Problem is one version that was not imported.
type Problem struct {
	Kind  Kind
	Crate string
	Vers  string
	// Where is the index file and line, or the crate file.
	Where  string
	Detail string
}

func (p Problem) String() string {
	s := string(p.Kind) + ": " + p.Crate
	if p.Vers != "" {
		s += "@" + p.Vers
	}
	if p.Where != "" {
		s += " (" + p.Where + ")"
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Report is what an import did.
type Report struct {
	IndexFiles int
	// Lines is the number of non-empty index lines read.
	Lines int
	// Imported and Identical count versions written, and versions the
	// store already had unchanged.
	Imported, Identical int
	// CratesChanged are the canonical names of the crates that gained
	// versions, sorted.
	CratesChanged []string
	// UnmatchedFiles counts crate files that belong to no index line.
	UnmatchedFiles int
	// Problems lists every version not imported, batch by batch (a batch
	// is a run of index files, in path order): first its invalid lines,
	// then the others in line order.
	Problems []Problem
	Elapsed  time.Duration
}

func (r *Report) add(p Problem) { r.Problems = append(r.Problems, p) }

// approxLines guesses how many lines an index file holds from its size, to
// make batches of about BatchSize lines without reading the files twice.
// Lines of crates.io's index average about 500 bytes.
func approxLines(f indexFile) int {
	fi, err := os.Stat(f.path)
	if err != nil {
		return 1
	}
	return max(1, int(fi.Size()/500))
}

// Skipped counts the problems of each kind.
func (r *Report) Skipped() map[Kind]int {
	m := map[Kind]int{}
	for _, p := range r.Problems {
		m[p.Kind]++
	}
	return m
}

// Run imports the registry described by opt. It returns the report of what
// it did even when it fails half-way: the batches written before the
// failure stay (each is whole), and running it again resumes, since what is
// already there is skipped as identical.
func Run(ctx context.Context, opt Options) (*Report, error) {
	start := time.Now()
	rep := &Report{}
	defer func() { rep.Elapsed = time.Since(start) }()
	if opt.Owner == nil || opt.Store == nil || opt.Blobs == nil {
		return rep, errors.New("registryimport: Owner, Store and Blobs are required")
	}
	if opt.Workers <= 0 {
		opt.Workers = max(4, runtime.GOMAXPROCS(0))
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	files, err := listIndex(opt.IndexDir)
	if err != nil {
		return rep, err
	}
	crates, err := scanCrates(opt.CratesDir)
	if err != nil {
		return rep, err
	}
	rep.IndexFiles = len(files)

	bar := newBar(opt.Progress, len(files))
	defer bar.Finish()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Stage one reads index files until it has a batch of lines, and stores
	// their crate files, while stage two writes the previous batch to the
	// store: the channel holds one batch in between. Only these batches
	// are in memory, not the whole index.
	prepared := make(chan *batch, 1)
	var prepErr error
	go func() {
		defer close(prepared)
		for i := 0; i < len(files); {
			// Files until a batch is full, parsed together.
			j, n := i, 0
			for ; j < len(files) && n < opt.BatchSize; j++ {
				n += approxLines(files[j])
			}
			lines, problems, err := parseFiles(files[i:j], opt.Workers)
			if err != nil {
				prepErr = fmt.Errorf("index %s: %w", opt.IndexDir, err)
				return
			}
			for _, l := range lines {
				l.paths = crates.find(l.name, l.vers)
			}
			b := prepare(ctx, opt, lines)
			b.files, b.invalid = j-i, problems
			if b.err != nil {
				prepErr = b.err
				return
			}
			select {
			case prepared <- b:
			case <-ctx.Done():
				return
			}
			i = j
		}
	}()
	changed := map[string]bool{}
	for b := range prepared {
		if err := write(ctx, opt.Store, b, rep, changed); err != nil {
			cancel()
			for range prepared {
			}
			return rep, err
		}
		bar.Add(b.files)
	}
	if prepErr != nil {
		return rep, prepErr
	}
	rep.UnmatchedFiles = crates.unused()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	for canon := range changed {
		rep.CratesChanged = append(rep.CratesChanged, canon)
	}
	sort.Strings(rep.CratesChanged)
	return rep, nil
}

// batch is a run of lines whose files were checked and stored.
type batch struct {
	// files is the number of index files the batch comes from, invalid
	// the problems of their invalid lines.
	files   int
	invalid []Problem
	lines   []*line
	// items[i] is the version of lines[i], nil when problems[i] says why
	// it is skipped.
	items    []*crated.NewVersion
	problems []*Problem
	err      error
}

// batchPutter is a blob store that stores many blobs with fewer flushes to
// disk than one Put each (blob/fs): most of an import's time otherwise.
type batchPutter interface {
	PutBatch(ctx context.Context, blobs []fs.Content) error
}

// Bounds of the blobs a worker holds before it stores them with PutBatch:
// enough to make the flushes rare, little enough to bound memory.
const (
	chunkBytes = 16 << 20
	chunkBlobs = 256
)

// prepare checks and stores the crate files of lines with opt.Workers
// workers. A file that cannot be read or does not match is a problem of its
// line; a blob store that fails is an error of the batch.
func prepare(ctx context.Context, opt Options, lines []*line) *batch {
	b := &batch{
		lines:    lines,
		items:    make([]*crated.NewVersion, len(lines)),
		problems: make([]*Problem, len(lines)),
	}
	bp, _ := opt.Blobs.(batchPutter)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		if b.err == nil {
			b.err = err
		}
		mu.Unlock()
	}
	for range min(opt.Workers, len(lines)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var chunk []fs.Content
			var chunkItems []int
			size := 0
			store := func() {
				if len(chunk) == 0 {
					return
				}
				if err := bp.PutBatch(ctx, chunk); err != nil {
					fail(err)
				} else {
					for k, i := range chunkItems {
						b.items[i] = newVersion(lines[i], int64(len(chunk[k].Data)), opt.Owner)
					}
				}
				// New slices, not chunk[:0]: the stored files' bytes are
				// garbage now.
				chunk, chunkItems, size = nil, nil, 0
			}
			for i := range next {
				data, problem := readFile(lines[i])
				switch {
				case problem != nil:
					b.problems[i] = problem
				case bp != nil:
					chunk = append(chunk, fs.Content{Key: lines[i].cksum, Data: data})
					chunkItems = append(chunkItems, i)
					if size += len(data); size >= chunkBytes || len(chunk) >= chunkBlobs {
						store()
					}
				default:
					if err := opt.Blobs.Put(ctx, lines[i].cksum, bytes.NewReader(data), int64(len(data))); err != nil {
						fail(fmt.Errorf("store %s@%s: %w", lines[i].name, lines[i].vers, err))
						continue
					}
					b.items[i] = newVersion(lines[i], int64(len(data)), opt.Owner)
				}
			}
			store()
		}()
	}
	for i := range lines {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if b.err == nil {
		b.err = ctx.Err()
	}
	return b
}

// readFile returns the content of the first of l's candidate files that
// hashes to l's cksum, or the problem with the last one.
func readFile(l *line) ([]byte, *Problem) {
	if len(l.paths) == 0 {
		return nil, &Problem{Kind: MissingFile, Crate: l.name, Vers: l.vers, Where: fmt.Sprintf("%s:%d", l.file, l.lineNo),
			Detail: "no " + l.name + "-" + l.vers + ".crate or " + l.name + "/" + l.vers + "/download below --crates"}
	}
	var problem *Problem
	for _, path := range l.paths {
		data, err := os.ReadFile(path)
		if err != nil {
			problem = &Problem{Kind: UnreadableFile, Crate: l.name, Vers: l.vers, Where: path, Detail: err.Error()}
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != l.cksum {
			problem = &Problem{Kind: ChecksumMismatch, Crate: l.name, Vers: l.vers, Where: path,
				Detail: "sha256 " + got + ", the index says " + l.cksum}
			continue
		}
		return data, nil
	}
	return nil, problem
}

// write records a batch's problems and writes its versions in one store
// transaction.
func write(ctx context.Context, st crated.Store, b *batch, rep *Report, changed map[string]bool) error {
	rep.Lines += len(b.lines) + len(b.invalid)
	rep.Problems = append(rep.Problems, b.invalid...)
	var items []*crated.NewVersion
	var itemLines []*line
	for i, l := range b.lines {
		if p := b.problems[i]; p != nil {
			rep.add(*p)
			continue
		}
		items = append(items, b.items[i])
		itemLines = append(itemLines, l)
	}
	if len(items) == 0 {
		return nil
	}
	res, err := st.ImportVersions(ctx, items)
	if err != nil {
		return err
	}
	for i, r := range res {
		l := itemLines[i]
		switch r.Status {
		case crated.Imported:
			rep.Imported++
			changed[items[i].Crate.CanonName] = true
		case crated.Identical:
			rep.Identical++
		default:
			rep.add(Problem{Kind: Conflict, Crate: l.name, Vers: l.vers, Where: fmt.Sprintf("%s:%d", l.file, l.lineNo), Detail: r.Reason})
		}
	}
	return nil
}

// manifestJSON keeps what the index line says of the metadata that the web
// UI reads from crated.Version.Manifest; the rest (license, authors) is in
// the .crate's Cargo.toml, which the import does not read.
func manifestJSON(links, rustVersion *string) []byte {
	b, err := json.Marshal(struct {
		Links       *string `json:"links,omitempty"`
		RustVersion *string `json:"rust_version,omitempty"`
	}{links, rustVersion})
	if err != nil {
		return nil
	}
	return b
}

func newBar(w io.Writer, n int) *progressbar.ProgressBar {
	if w == nil {
		return progressbar.NewOptions(n, progressbar.OptionSetWriter(io.Discard), progressbar.OptionSetVisibility(false))
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("versions"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("versions"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}
