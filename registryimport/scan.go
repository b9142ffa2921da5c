package registryimport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// line is one version found in the source index.
type line struct {
	name, vers string
	// file is the index file and lineNo the line's number in it, for
	// reports.
	file   string
	lineNo int
	cksum  string
	yanked bool
	// links and rustVersion go to the version's Manifest, for the web UI.
	links, rustVersion *string
	// raw is the line as read, stored as the version's Entry with its
	// "yanked" value set to false (the store renders the flag on top).
	raw     []byte
	version cargo.Version
	pubtime time.Time
	// paths are the .crate files that may hold this version, in the order
	// the walk found them.
	paths []string
}

// maxLine bounds one index line: crates.io's largest are under 1 MiB.
const maxLine = 16 << 20

// indexFile is one file of the source index.
type indexFile struct {
	path, rel, name string
}

// listIndex returns the index files below dir in path order. Files whose
// path is not an index path (config.json, .git, READMEs) are skipped
// silently.
func listIndex(dir string) ([]indexFile, error) {
	var files []indexFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		// Index paths are lowercase, so the path names the crate.
		name, ok := cargo.NameFromIndexPath(rel)
		if ok && d.Type().IsRegular() {
			files = append(files, indexFile{path: path, rel: rel, name: name})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	return files, nil
}

// parseFiles reads files with workers and returns their valid lines, in
// file order and line order within a file, and the problems of the invalid
// ones: decoding JSON is most of the work.
func parseFiles(files []indexFile, workers int) ([]*line, []Problem, error) {
	type parsed struct {
		lines    []*line
		problems []Problem
		err      error
	}
	out := make([]parsed, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(workers, len(files))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(files); i = int(next.Add(1) - 1) {
				f := files[i]
				out[i].lines, out[i].problems, out[i].err = readIndexFile(f.path, f.rel, f.name)
			}
		}()
	}
	wg.Wait()
	var lines []*line
	var problems []Problem
	for _, p := range out {
		if p.err != nil {
			return nil, nil, p.err
		}
		lines = append(lines, p.lines...)
		problems = append(problems, p.problems...)
	}
	return lines, problems, nil
}

func readIndexFile(path, rel, fileName string) ([]*line, []Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var lines []*line
	var problems []Problem
	for n := 1; sc.Scan(); n++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		l, err := parseLine(raw, fileName)
		if err != nil {
			problems = append(problems, Problem{Kind: InvalidLine, Crate: fileName, Where: fmt.Sprintf("%s:%d", rel, n), Detail: err.Error()})
			continue
		}
		l.file, l.lineNo = rel, n
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", rel, err)
	}
	return lines, problems, nil
}

// lineFields are the fields of an index line the import reads; the line
// itself is stored as it is. Decoding only these is much cheaper than a
// whole cargo.IndexEntry: the dependencies are skipped, not built.
type lineFields struct {
	Name        string  `json:"name"`
	Vers        string  `json:"vers"`
	Cksum       string  `json:"cksum"`
	Yanked      *bool   `json:"yanked"`
	Links       *string `json:"links"`
	RustVersion *string `json:"rust_version"`
	Pubtime     string  `json:"pubtime"`
}

// parseLine checks one index line of the file for the crate fileName.
func parseLine(raw []byte, fileName string) (*line, error) {
	var e lineFields
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("invalid index line: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := cargo.ValidateName(e.Name); err != nil {
		return nil, err
	}
	if strings.ToLower(e.Name) != fileName {
		return nil, fmt.Errorf("the line is for crate `%s`, not for `%s` whose file holds it", e.Name, fileName)
	}
	v, err := cargo.ParseVersion(e.Vers)
	if err != nil {
		return nil, err
	}
	if !isCksum(e.Cksum) {
		return nil, fmt.Errorf("cksum %q is not a lowercase hex sha256", e.Cksum)
	}
	l := &line{name: e.Name, vers: e.Vers, cksum: e.Cksum, yanked: e.Yanked != nil && *e.Yanked,
		links: e.Links, rustVersion: e.RustVersion, version: v, raw: bytes.Clone(raw)}
	if e.Pubtime != "" {
		// crates.io writes whole seconds in UTC; anything else cargo would
		// refuse too.
		if l.pubtime, err = time.Parse(cargo.PubtimeFormat, e.Pubtime); err != nil {
			return nil, fmt.Errorf("pubtime %q is not %s", e.Pubtime, cargo.PubtimeFormat)
		}
	}
	// Every stored Entry has "yanked":false (the store renders the flag on
	// top): only lines that say otherwise, or nothing, are rewritten.
	if e.Yanked == nil || *e.Yanked {
		if l.raw, err = cargo.SetYanked(l.raw, false); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func isCksum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// crateFile is one file below --crates that may be a .crate.
type crateFile struct {
	path string
	// vers is the version part of its name, or of its directory for
	// Ktra's layout, as written: versions are matched exactly.
	vers string
	used bool
}

// crateFiles finds the .crate files of index lines.
type crateFiles struct {
	// byStem maps the lowercased "{name}-{version}" of each file to the
	// files that have it.
	byStem map[string][]*crateFile
}

// scanCrates walks dir for the files that may be .crates, whatever the
// layout: "{name}-{version}.crate" anywhere below (cargo-local-registry,
// panamax, Kellnr, crates.io's "{name}/{name}-{version}.crate"), or
// "{name}/{version}/download" (Ktra). Names and versions both contain '-',
// so a file name is not split: a line looks its "{name}-{version}" up (see
// find), which needs the file names only, not the index, and lets the index
// be read a batch at a time.
func scanCrates(dir string) (*crateFiles, error) {
	cf := &crateFiles{byStem: map[string][]*crateFile{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		var stem, vers string
		switch base := d.Name(); {
		case strings.HasSuffix(base, ".crate"):
			stem = strings.TrimSuffix(base, ".crate")
		case base == "download":
			verDir := filepath.Dir(path)
			vers = filepath.Base(verDir)
			stem = filepath.Base(filepath.Dir(verDir)) + "-" + vers
		default:
			return nil
		}
		key := strings.ToLower(stem)
		cf.byStem[key] = append(cf.byStem[key], &crateFile{path: path, vers: vers})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("crate directory %s: %w", dir, err)
	}
	return cf, nil
}

// find returns the files of name@vers: those whose lowercased stem is the
// line's lowercased "{name}-{version}" and whose name ends with the
// version exactly (a pre-release "1.0.0-RC1" is not "1.0.0-rc1"). It marks
// them used.
func (cf *crateFiles) find(name, vers string) []string {
	var paths []string
	for _, f := range cf.byStem[strings.ToLower(name+"-"+vers)] {
		if f.vers != "" && f.vers != vers ||
			f.vers == "" && !strings.HasSuffix(strings.TrimSuffix(filepath.Base(f.path), ".crate"), "-"+vers) {
			continue
		}
		f.used = true
		paths = append(paths, f.path)
	}
	return paths
}

// unused counts the files no line claimed.
func (cf *crateFiles) unused() int {
	n := 0
	for _, fs := range cf.byStem {
		for _, f := range fs {
			if !f.used {
				n++
			}
		}
	}
	return n
}

// newVersion is what the store keeps of a line whose crate file was
// verified.
func newVersion(l *line, size int64, owner *crated.User) *crated.NewVersion {
	return &crated.NewVersion{
		Crate: crated.Crate{Name: l.name, CanonName: cargo.CanonicalName(l.name)},
		Version: crated.Version{
			Vers:        l.vers,
			VersKey:     l.version.Key(),
			SortKey:     l.version.SortKey(),
			Cksum:       l.cksum,
			Size:        size,
			Entry:       l.raw,
			Yanked:      l.yanked,
			PublishedBy: owner.ID,
			PublishedAt: l.pubtime,
			Manifest:    manifestJSON(l.links, l.rustVersion),
		},
		OwnerID: owner.ID,
	}
}
