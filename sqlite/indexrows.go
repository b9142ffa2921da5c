package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/crated/crated"
)

// indexChunksQuery reads a crate's packed index rows (migration 0009): a
// range of neighbouring rows after the name's lookup, instead of one lookup
// per version.
const indexChunksQuery = `SELECT c.name, f.lines FROM crates c JOIN index_chunks f
	ON f.key BETWEEN c.id * 4294967296 AND c.id * 4294967296 + 4294967295
	WHERE c.canon_name = ? ORDER BY f.key`

// indexRowsQuery reads the same rows from versions, only the columns an
// index file is rendered from: all of them come before the READMEs and
// manifests in a version's row, so their overflow pages are never read.
const indexRowsQuery = `SELECT c.name, v.id, v.vers, v.cksum, v.entry, v.yanked, v.published_at
	FROM crates c JOIN versions v ON v.crate_id = c.id
	WHERE c.canon_name = ? ORDER BY v.id`

// deleteIndexChunksSQL drops a crate's packed rows (DeleteCrate), and
// rebuildIndexChunksSQL packs them afresh from its versions (ImportVersions,
// which pauses the per-version appends): migration 0009's trigger on
// index_chunks_stale does the packing.
const (
	deleteIndexChunksSQL  = `DELETE FROM index_chunks WHERE key BETWEEN ?1 * 4294967296 AND ?1 * 4294967296 + 4294967295`
	rebuildIndexChunksSQL = `INSERT INTO index_chunks_stale (crate_id) VALUES (?)`
)

// IndexRows returns what the crate's index file is rendered from: its
// packed copy, or its versions when there is none that parses.
func (s *Store) IndexRows(ctx context.Context, canon string) (_ *crated.IndexRows, err error) {
	defer wrap(&err, "sqlite.IndexRows(%q)", canon)
	out, err := s.indexRowsFromChunks(ctx, canon)
	switch {
	case errors.Is(err, errBadChunk):
		// Never expected: the triggers write what this reads. The
		// versions are the truth, so the answer is still right.
		slog.Error("sqlite: packed index rows do not parse; reading the versions", "crate", canon, "err", err)
	case err != nil:
		return nil, err
	case out != nil:
		return out, nil
	}
	return s.indexRowsFromVersions(ctx, canon)
}

// indexRowsFromChunks reads the packed rows; nil when there are none.
func (s *Store) indexRowsFromChunks(ctx context.Context, canon string) (*crated.IndexRows, error) {
	rows, err := s.read.QueryContext(ctx, indexChunksQuery, canon)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &crated.IndexRows{}
	for rows.Next() {
		var lines []byte
		if err := rows.Scan(&out.Name, &lines); err != nil {
			return nil, err
		}
		if out.Versions, err = parseIndexLines(out.Versions, lines); err != nil {
			return nil, fmt.Errorf("%w: %w", errBadChunk, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out.Versions) == 0 {
		return nil, nil
	}
	sortRows(out.Versions)
	return out, nil
}

// indexRowsFromVersions reads the rows one version at a time.
func (s *Store) indexRowsFromVersions(ctx context.Context, canon string) (*crated.IndexRows, error) {
	rows, err := s.read.QueryContext(ctx, indexRowsQuery, canon)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &crated.IndexRows{}
	for rows.Next() {
		var r crated.IndexRow
		var published int64
		if err := rows.Scan(&out.Name, &r.ID, &r.Vers, &r.Cksum, &r.Entry, &r.Yanked, &published); err != nil {
			return nil, err
		}
		r.PublishedAt = goTime(published)
		out.Versions = append(out.Versions, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out.Versions) == 0 {
		return nil, crated.CrateNotFound(canon)
	}
	return out, nil
}

// errBadChunk marks packed rows that do not parse.
var errBadChunk = errors.New("bad index_chunks row")

// parseIndexLines appends the rows packed in b by migration 0009's
// index_lines view to out. The entries alias b.
func parseIndexLines(out []crated.IndexRow, b []byte) ([]crated.IndexRow, error) {
	for len(b) > 0 {
		var f [6][]byte
		for i := range f {
			tab := bytes.IndexByte(b, '\t')
			if tab < 0 {
				return nil, fmt.Errorf("row %d: %d fields, want 6 before the entry", len(out), i)
			}
			f[i], b = b[:tab], b[tab+1:]
		}
		var r crated.IndexRow
		var err error
		var yanked, published, size int64
		if r.ID, err = strconv.ParseInt(string(f[0]), 10, 64); err != nil {
			return nil, fmt.Errorf("row %d: id: %w", len(out), err)
		}
		if yanked, err = strconv.ParseInt(string(f[3]), 10, 64); err != nil || yanked < 0 || yanked > 1 {
			return nil, fmt.Errorf("row %d: yanked %q", len(out), f[3])
		}
		if published, err = strconv.ParseInt(string(f[4]), 10, 64); err != nil {
			return nil, fmt.Errorf("row %d: published_at: %w", len(out), err)
		}
		if size, err = strconv.ParseInt(string(f[5]), 10, 64); err != nil || size < 0 || size >= int64(len(b)) || b[size] != '\n' {
			return nil, fmt.Errorf("row %d: entry length %q does not end at a newline", len(out), f[5])
		}
		r.Vers, r.Cksum = string(f[1]), string(f[2])
		r.Yanked = yanked == 1
		r.PublishedAt = goTime(published)
		r.Entry, b = b[:size:size], b[size+1:]
		out = append(out, r)
	}
	return out, nil
}

// sortRows puts rows in id (publish) order. They are packed in insertion
// order, which is the same unless a rowid was ever chosen by hand.
func sortRows(rows []crated.IndexRow) {
	if !slices.IsSortedFunc(rows, byID) {
		slices.SortFunc(rows, byID)
	}
}

func byID(a, b crated.IndexRow) int { return cmp.Compare(a.ID, b.ID) }
