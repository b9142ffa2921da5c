package static_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/static"
)

// countStore knows crate "alpha" (versions 1.0.0 and 2.0.0+b) and sums
// what is added.
type countStore struct{ added map[int64]int64 }

func (s *countStore) CrateByName(_ context.Context, canon string) (*crated.Crate, error) {
	if canon != "alpha" {
		return nil, crated.Errorf(crated.ENOTFOUND, "no crate")
	}
	return &crated.Crate{ID: 7, Name: "alpha"}, nil
}

func (s *countStore) Version(_ context.Context, crateID int64, vers string) (*crated.Version, error) {
	switch vers {
	case "1.0.0":
		return &crated.Version{ID: 1}, nil
	case "2.0.0+b":
		return &crated.Version{ID: 2}, nil
	}
	return nil, crated.Errorf(crated.ENOTFOUND, "no version")
}

func (s *countStore) AddDownloads(_ context.Context, counts map[int64]int64) error {
	for id, n := range counts {
		s.added[id] += n
	}
	return nil
}

func TestParseDownloadLine(t *testing.T) {
	for _, tc := range []struct {
		line, name, vers string
	}{
		{"2026-12-07T04:20:53+00:00 200 GET /api/v1/crates/alpha/1.0.0/download 778\n", "alpha", "1.0.0"},
		{"2026-12-07T04:20:53+00:00 200 GET /api/v1/crates/Foo_Bar/2.0.0+b/download 10", "Foo_Bar", "2.0.0+b"},
		{"2026-12-07T04:20:53+00:00 304 GET /api/v1/crates/alpha/1.0.0/download 0", "", ""},
		{"2026-12-07T04:20:53+00:00 200 HEAD /api/v1/crates/alpha/1.0.0/download 0", "", ""},
		{"2026-12-07T04:20:53+00:00 200 GET /index/al/ph/alpha 100", "", ""},
		{"2026-12-07T04:20:53+00:00 200 GET /api/v1/crates/alpha/1.0.0/download/x 1", "", ""},
		{"127.0.0.1 - - [07/Dec/2026:04:20:53 +0000] \"GET /api/v1/crates/alpha/1.0.0/download HTTP/1.1\" 200 778", "", ""},
	} {
		name, vers, ok := static.ParseDownloadLine(tc.line)
		if name != tc.name || vers != tc.vers || ok != (tc.name != "") {
			t.Errorf("ParseDownloadLine(%q) = %q, %q, %v", tc.line, name, vers, ok)
		}
	}
}

const (
	dl1  = "t 200 GET /api/v1/crates/alpha/1.0.0/download 9\n"
	dl2  = "t 200 GET /api/v1/crates/alpha/2.0.0+b/download 9\n"
	miss = "t 200 GET /api/v1/crates/ghost/1.0.0/download 9\n"
)

// TestIngest: new lines only, each counted once, across a second run, an
// unfinished line, a rotation (rename + new file), a truncation and a new
// file that reuses an inode.
func TestIngest(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "access.log")
	st := &countStore{added: map[int64]int64{}}
	state, err := static.LoadIngestState(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	ingest := func(path string, want1, want2 int64) {
		t.Helper()
		before1, before2 := st.added[1], st.added[2]
		// A fresh state from disk each time, as separate runs have.
		s, err := static.LoadIngestState(filepath.Join(dir, "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		state = s
		if _, err := static.Ingest(context.Background(), st, state, path); err != nil {
			t.Fatal(err)
		}
		if got1, got2 := st.added[1]-before1, st.added[2]-before2; got1 != want1 || got2 != want2 {
			t.Errorf("ingest %s: +%d +%d, want +%d +%d", filepath.Base(path), got1, got2, want1, want2)
		}
	}
	appendLog := func(path, s string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}

	appendLog(log, dl1+dl1+dl2+miss+"t 200 GET /api/v1/crates/alpha/1.0.0/down") // the last line unfinished
	ingest(log, 2, 1)
	ingest(log, 0, 0)
	appendLog(log, "load 9\n"+dl2)
	ingest(log, 1, 1) // the finished line counts now, once

	// logrotate: rename, nginx reopens a new file; more lines went to the
	// old one before the reopen.
	appendLog(log, dl1)
	rotated := log + ".1"
	if err := os.Rename(log, rotated); err != nil {
		t.Fatal(err)
	}
	appendLog(rotated, dl2)
	appendLog(log, dl1+dl1)
	ingest(rotated, 1, 1)
	ingest(log, 2, 0)
	ingest(rotated, 0, 0)

	// copytruncate: the file is emptied and written again.
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	appendLog(log, dl2)
	ingest(log, 0, 1)

	// A deleted file's inode reused by a file at least as long: its head
	// differs, so it is read from the start.
	os.Remove(rotated)
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	appendLog(log, "x 200 GET /api/v1/crates/alpha/1.0.0/download 9\n"+dl1)
	ingest(log, 2, 0)
}
