package registryimport_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/index/sparse"
	"github.com/crated/crated/registryimport"
	"github.com/crated/crated/registryimport/importtest"
	"github.com/crated/crated/sqlite"
)

type target struct {
	store crated.Store
	blobs *fs.Store
	owner *crated.User
}

func newTarget(t *testing.T) *target {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fs.New(filepath.Join(dir, "crates"))
	if err != nil {
		t.Fatal(err)
	}
	u := &crated.User{Login: "alice", Name: "alice"}
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return &target{store: st, blobs: blobs, owner: u}
}

func (tg *target) run(t *testing.T, indexDir, cratesDir string) *registryimport.Report {
	t.Helper()
	rep, err := registryimport.Run(t.Context(), registryimport.Options{
		IndexDir: indexDir, CratesDir: cratesDir, Owner: tg.owner, Store: tg.store, Blobs: tg.blobs,
		BatchSize: 3, // several batches, and crates split across them
	})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return rep
}

// served renders every index file the source has, as crated's sparse index
// serves it.
func served(t *testing.T, st crated.Store, files map[string][]byte) map[string][]byte {
	t.Helper()
	ix := sparse.New(st, 0)
	out := map[string][]byte{}
	for p := range files {
		f, err := ix.Lookup(context.Background(), p[strings.LastIndexByte(p, '/')+1:])
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		out[p] = f.Body
	}
	return out
}

func TestImportLayouts(t *testing.T) {
	vs := importtest.Fixture()
	want := importtest.IndexFiles(vs)
	for _, layout := range importtest.Layouts {
		t.Run(string(layout), func(t *testing.T) {
			indexDir, cratesDir := importtest.Write(t, t.TempDir(), vs, layout)
			tg := newTarget(t)
			rep := tg.run(t, indexDir, cratesDir)
			if rep.Imported != len(vs) || rep.Identical != 0 || len(rep.Problems) != 0 || rep.Lines != len(vs) {
				t.Fatalf("report = %+v, want %d imported and nothing else", rep, len(vs))
			}
			if rep.IndexFiles != len(want) {
				t.Errorf("read %d index files, want %d (config.json and .git must be skipped)", rep.IndexFiles, len(want))
			}
			got := served(t, tg.store, want)
			for p, body := range want {
				if !bytes.Equal(got[p], body) {
					t.Errorf("%s served as\n%s\nwant the source's\n%s", p, got[p], body)
				}
			}
			for _, v := range vs {
				if _, err := tg.blobs.Stat(t.Context(), importtest.Cksum(v.Crate)); err != nil {
					t.Errorf("blob of %s@%s: %v", v.Name, v.Vers, err)
				}
			}
			c, err := tg.store.CrateByName(t.Context(), "foo_bar")
			if err != nil {
				t.Fatal(err)
			}
			fooVersions, _ := tg.store.Versions(t.Context(), c.ID)
			if len(fooVersions) != 2 || !fooVersions[0].Yanked || fooVersions[1].Yanked ||
				fooVersions[0].PublishedAt.Format(cargo.PubtimeFormat) != "2021-03-04T05:06:07Z" {
				t.Errorf("foo-bar versions = %+v, want 1.0.0 yanked with its pubtime, then the rc", fooVersions)
			}
			if c.MaxVersion != "1.1.0-rc.1+build.5" {
				t.Errorf("MaxVersion = %q", c.MaxVersion)
			}
			owners, _ := tg.store.Owners(t.Context(), c.ID)
			if len(owners) != 1 || owners[0].ID != tg.owner.ID {
				t.Errorf("owners = %+v, want alice", owners)
			}

			// A second run changes nothing.
			_, before, _ := tg.store.CountCrates(t.Context())
			audit, _ := tg.store.Audit(t.Context(), 0)
			rep = tg.run(t, indexDir, cratesDir)
			if rep.Imported != 0 || rep.Identical != len(vs) || len(rep.Problems) != 0 {
				t.Errorf("second run: %+v, want %d identical and nothing else", rep, len(vs))
			}
			_, after, _ := tg.store.CountCrates(t.Context())
			audit2, _ := tg.store.Audit(t.Context(), 0)
			if after != before || len(audit2) != len(audit) {
				t.Errorf("second run changed the store: %d -> %d versions, %d -> %d audit entries", before, after, len(audit), len(audit2))
			}
			got = served(t, tg.store, want)
			for p, body := range want {
				if !bytes.Equal(got[p], body) {
					t.Errorf("after the second run %s served as\n%s", p, got[p])
				}
			}
		})
	}
}

func TestImportProblems(t *testing.T) {
	vs := importtest.Fixture()
	root := t.TempDir()
	indexDir, cratesDir := importtest.Write(t, root, vs, importtest.Flat)
	// Tampered: baz's file no longer matches its cksum.
	bazPath := filepath.Join(cratesDir, importtest.CratePath(importtest.Flat, "baz", "0.1.0"))
	if err := os.WriteFile(bazPath, importtest.Crate("baz", "0.1.1"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Missing: the file of a is gone.
	if err := os.Remove(filepath.Join(cratesDir, importtest.CratePath(importtest.Flat, "a", "0.0.1"))); err != nil {
		t.Fatal(err)
	}
	// Invalid: a line that is not JSON, one for another crate, one with a
	// bad version, in ab's file.
	abFile := filepath.Join(indexDir, "2", "ab")
	f, err := os.OpenFile(abFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{not json\n")
	f.WriteString(`{"name":"abc","vers":"9.9.9","deps":[],"cksum":"` + strings.Repeat("0", 64) + `","features":{},"yanked":false}` + "\n")
	f.WriteString(`{"name":"ab","vers":"1.0","deps":[],"cksum":"` + strings.Repeat("0", 64) + `","features":{},"yanked":false}` + "\n")
	f.Close()
	// A stray file that belongs to no line.
	os.WriteFile(filepath.Join(cratesDir, "stray-1.0.0.crate"), []byte("x"), 0o644)

	tg := newTarget(t)
	rep := tg.run(t, indexDir, cratesDir)
	skipped := rep.Skipped()
	if skipped[registryimport.ChecksumMismatch] != 1 || skipped[registryimport.MissingFile] != 1 ||
		skipped[registryimport.InvalidLine] != 3 || rep.Imported != len(vs)-2 || rep.UnmatchedFiles != 1 {
		t.Fatalf("report = %+v (skipped %v)", rep, skipped)
	}
	byKind := map[registryimport.Kind]string{}
	for _, p := range rep.Problems {
		byKind[p.Kind] = p.String()
	}
	if s := byKind[registryimport.ChecksumMismatch]; !strings.Contains(s, "baz@0.1.0") || !strings.Contains(s, bazPath) {
		t.Errorf("checksum problem = %q, want baz@0.1.0 and its path", s)
	}
	if s := byKind[registryimport.MissingFile]; !strings.Contains(s, "a@0.0.1") {
		t.Errorf("missing problem = %q, want a@0.0.1", s)
	}
	for _, name := range []string{"baz", "a"} {
		if _, err := tg.store.CrateByName(t.Context(), name); !crated.IsCode(err, crated.ENOTFOUND) {
			t.Errorf("%s was imported (%v); its version must be skipped", name, err)
		}
	}
	if _, err := tg.blobs.Stat(t.Context(), importtest.Cksum(importtest.Crate("baz", "0.1.1"))); !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("the tampered file was stored (%v)", err)
	}

	// Conflicts: the same version with another file, after a fix of the
	// source, is reported and the stored one kept.
	other := importtest.Crate("ab", "1.0.0")
	other = append(other[:len(other):len(other)], 0) // a different file of the same version
	lines := `{"name":"ab","vers":"1.0.0","deps":[],"cksum":"` + importtest.Cksum(other) + `","features":{},"yanked":false}` + "\n"
	os.WriteFile(abFile, []byte(lines), 0o644)
	os.WriteFile(filepath.Join(cratesDir, "ab-1.0.0.crate"), other, 0o644)
	rep = tg.run(t, indexDir, cratesDir)
	if rep.Skipped()[registryimport.Conflict] != 1 || rep.Imported != 0 {
		t.Errorf("after changing ab: %+v, want one conflict", rep)
	}
}
