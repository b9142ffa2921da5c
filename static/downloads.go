package static

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// ParseDownloadLine reads one line of the download log (DownloadLogFormat)
// and returns the crate and version of a crate file served whole: status
// 200 to a GET. Anything else (a 304, a HEAD, a line of another format)
// gives ok false.
func ParseDownloadLine(line string) (name, vers string, ok bool) {
	f := strings.Fields(line)
	if len(f) != 5 || f[1] != "200" || f[2] != "GET" {
		return "", "", false
	}
	return IsCrateFile(f[3])
}

// DownloadStore is what ingesting needs of the metadata store.
type DownloadStore interface {
	CrateByName(ctx context.Context, canon string) (*crated.Crate, error)
	Version(ctx context.Context, crateID int64, vers string) (*crated.Version, error)
	AddDownloads(ctx context.Context, counts map[int64]int64) error
}

// IngestResult sums up one log file's ingestion.
type IngestResult struct {
	// Lines is the number of new lines read, Counted those that were
	// downloads of a known version; Unknown names versions the store does
	// not have (skipped).
	Lines, Counted int64
	Unknown        map[string]int64
	// From and To are the byte offsets read.
	From, To int64
}

// IngestState remembers how far each log file was read, by device and
// inode, so that ingesting a log again counts only its new lines, and a
// rotated file (renamed: same inode) is continued where it was left.
type IngestState struct {
	path  string
	Files map[string]fileState `json:"files"` // by "dev:inode"
}

type fileState struct {
	Offset int64 `json:"offset"`
	// Head is the sha256 of the file's first bytes (up to headSize, within
	// Offset): a new file that reuses a deleted file's inode differs.
	Head string `json:"head"`
}

const headSize = 256

// head hashes the first min(n, headSize) bytes of f.
func head(f *os.File, n int64) (string, error) {
	buf := make([]byte, min(n, headSize))
	if _, err := f.ReadAt(buf, 0); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]), nil
}

// maxStateFiles bounds the state: the files of the last rotations.
const maxStateFiles = 32

// LoadIngestState reads the state file; a missing one is an empty state.
func LoadIngestState(path string) (*IngestState, error) {
	st := &IngestState{path: path, Files: map[string]fileState{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Files == nil {
		st.Files = map[string]fileState{}
	}
	return st, nil
}

// save writes the state atomically, keeping the entry of the file just
// read. Past maxStateFiles, other entries go: they belong to files rotated
// away, which are read (if at all) right after their rotation.
func (st *IngestState) save(keep string) error {
	for k := range st.Files {
		if len(st.Files) <= maxStateFiles {
			break
		}
		if k != keep {
			delete(st.Files, k)
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(st.path), ".crated-ingest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), st.path)
}

// fileKey identifies an open file across renames.
func fileKey(fi fs.FileInfo) (string, error) {
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", errors.New("cannot read the log file's inode on this system")
	}
	return fmt.Sprintf("%d:%d", sys.Dev, sys.Ino), nil
}

// Ingest counts the downloads of the log file at path from where the state
// says it was left, adds them to the store and records the new offset. Only
// whole lines are read: a line nginx is still writing waits for the next
// run. A file shorter than its offset was truncated and is read from the
// start. The counts are added before the offset is saved: a crash between
// the two counts that batch twice; nothing else does.
func Ingest(ctx context.Context, store DownloadStore, st *IngestState, path string) (*IngestResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	key, err := fileKey(fi)
	if err != nil {
		return nil, err
	}
	res := &IngestResult{Unknown: map[string]int64{}}
	if prev, ok := st.Files[key]; ok && prev.Offset <= fi.Size() {
		h, err := head(f, prev.Offset)
		if err != nil {
			return nil, err
		}
		if h == prev.Head {
			res.From = prev.Offset
		}
	}
	if _, err := f.Seek(res.From, io.SeekStart); err != nil {
		return nil, err
	}
	type ver struct{ name, vers string }
	hits := map[ver]int64{}
	r := bufio.NewReaderSize(f, 64<<10)
	res.To = res.From
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break // an unfinished line (or none): next time
		} else if err != nil {
			return nil, err
		}
		res.To += int64(len(line))
		res.Lines++
		if name, vers, ok := ParseDownloadLine(line); ok {
			hits[ver{name, vers}]++
		}
	}
	counts := map[int64]int64{}
	ids := map[string]int64{} // crate canon name -> id, 0 when unknown
	for v, n := range hits {
		canon := cargo.CanonicalName(v.name)
		id, seen := ids[canon]
		if !seen {
			c, err := store.CrateByName(ctx, canon)
			if err != nil && !crated.IsCode(err, crated.ENOTFOUND) {
				return nil, err
			}
			if c != nil && err == nil {
				id = c.ID
			}
			ids[canon] = id
		}
		var vid int64
		if id != 0 {
			version, err := store.Version(ctx, id, v.vers)
			if err != nil && !crated.IsCode(err, crated.ENOTFOUND) {
				return nil, err
			}
			if err == nil {
				vid = version.ID
			}
		}
		if vid == 0 {
			res.Unknown[v.name+"@"+v.vers] += n
			continue
		}
		counts[vid] += n
		res.Counted += n
	}
	if len(counts) > 0 {
		if err := store.AddDownloads(ctx, counts); err != nil {
			return nil, err
		}
	}
	h, err := head(f, res.To)
	if err != nil {
		return nil, err
	}
	st.Files[key] = fileState{Offset: res.To, Head: h}
	if err := st.save(key); err != nil {
		return nil, fmt.Errorf("downloads were counted but the state could not be saved (the next run counts them again): %w", err)
	}
	return res, nil
}
