package registryimport

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
	entry  *cargo.IndexEntry
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

// scanIndex reads every index file below dir, in path order, and returns
// its valid lines and a problem for each invalid one. Files whose path is
// not an index path (config.json, .git, READMEs) are skipped silently.
func scanIndex(dir string, rep *Report) ([]*line, error) {
	var lines []*line
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
		// Index paths are lowercase; a case-insensitive file system may
		// show them otherwise only if someone renamed them.
		fileName, ok := cargo.NameFromIndexPath(rel)
		if !ok || !d.Type().IsRegular() {
			return nil
		}
		rep.IndexFiles++
		ls, err := readIndexFile(path, rel, fileName, rep)
		lines = append(lines, ls...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("--index %s: %w", dir, err)
	}
	return lines, nil
}

func readIndexFile(path, rel, fileName string, rep *Report) ([]*line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var lines []*line
	for n := 1; sc.Scan(); n++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		rep.Lines++
		l, err := parseLine(raw, fileName)
		if err != nil {
			rep.add(Problem{Kind: InvalidLine, Crate: fileName, Where: fmt.Sprintf("%s:%d", rel, n), Detail: err.Error()})
			continue
		}
		l.file, l.lineNo = rel, n
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return lines, fmt.Errorf("%s: %w", rel, err)
	}
	return lines, nil
}

// parseLine checks one index line of the file for the crate fileName.
func parseLine(raw []byte, fileName string) (*line, error) {
	e, err := cargo.ParseIndexLine(raw)
	if err != nil {
		return nil, err
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
	l := &line{name: e.Name, vers: e.Vers, entry: e, version: v}
	if e.Pubtime != "" {
		// crates.io writes whole seconds in UTC; anything else cargo would
		// refuse too.
		if l.pubtime, err = time.Parse(cargo.PubtimeFormat, e.Pubtime); err != nil {
			return nil, fmt.Errorf("pubtime %q is not %s", e.Pubtime, cargo.PubtimeFormat)
		}
	}
	// The source's bytes, with "yanked" false as every stored Entry has
	// it; SetYanked also checks that the line is exactly one JSON object.
	if l.raw, err = cargo.SetYanked(bytes.Clone(raw), false); err != nil {
		return nil, err
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

// crateKey is how a .crate file is matched to a line: the lowercased name,
// '-', the exact version.
func crateKey(name, vers string) string { return strings.ToLower(name) + "-" + vers }

// scanCrates walks dir and attaches every crate file to the lines it may
// hold, whatever the layout: "{name}-{version}.crate" anywhere below
// (cargo-local-registry, panamax, Kellnr, crates.io's
// "{name}/{name}-{version}.crate"), or "{name}/{version}/download" (Ktra).
// Names and versions both contain '-', so a file name is not split: each
// '-' is tried against the (name, version) pairs of the index. It returns
// how many files matched no line.
func scanCrates(dir string, lines []*line) (unmatched int, err error) {
	byKey := make(map[string]*line, len(lines))
	for _, l := range lines {
		k := crateKey(l.name, l.vers)
		if _, dup := byKey[k]; !dup {
			byKey[k] = l
		}
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
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
		var l *line
		base := d.Name()
		switch {
		case strings.HasSuffix(base, ".crate"):
			stem := strings.TrimSuffix(base, ".crate")
			for i := strings.IndexByte(stem, '-'); i > 0 && l == nil; {
				l = byKey[crateKey(stem[:i], stem[i+1:])]
				j := strings.IndexByte(stem[i+1:], '-')
				if j < 0 {
					break
				}
				i += 1 + j
			}
		case base == "download":
			verDir := filepath.Dir(path)
			nameDir := filepath.Dir(verDir)
			l = byKey[crateKey(filepath.Base(nameDir), filepath.Base(verDir))]
		default:
			return nil
		}
		if l == nil {
			unmatched++
			return nil
		}
		l.paths = append(l.paths, path)
		return nil
	})
	if err != nil {
		return unmatched, fmt.Errorf("--crates %s: %w", dir, err)
	}
	return unmatched, nil
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
			Cksum:       l.entry.Cksum,
			Size:        size,
			Entry:       l.raw,
			Yanked:      l.entry.Yanked,
			PublishedBy: owner.ID,
			PublishedAt: l.pubtime,
			Manifest:    manifestJSON(l.entry),
		},
		OwnerID: owner.ID,
	}
}
