package sqlite

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
)

// TestIndexChunksMigration: migration 0009 packs the index rows of every
// crate already in the database, in publish order, whatever their entries
// hold (here whitespace JSON allows between tokens, tabs and all), and the
// reads that follow use them.
func TestIndexChunksMigration(t *testing.T) {
	db, path := migratedBefore(t, "0009")
	entry := func(name, vers string) string {
		return `{"name":` + "\t" + `"` + name + `","vers":"` + vers + `","deps":[],"features":{"a\tb":[]}}`
	}
	for _, q := range []string{
		`INSERT INTO users (login, canon_login, name, email, password_hash, issuer, subject, admin, created_at)
			VALUES ('alice', 'alice', 'alice', '', '', '', '', 0, 0)`,
		`INSERT INTO crates (name, canon_name, description, homepage, documentation, repository, keywords, categories,
			search_description, search_keywords, max_version, created_at, updated_at)
			VALUES ('Foo_Bar', 'foo_bar', '', '', '', '', '', '', '', '', '2.0.0', 0, 0), ('baz', 'baz', '', '', '', '', '', '', '', '', '1.0.0', 0, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Interleaved, as crates are published in life; one yanked.
	for i, v := range []struct {
		crate  int
		vers   string
		yanked int
	}{{1, "1.0.0", 0}, {2, "1.0.0", 0}, {1, "2.0.0", 1}, {1, "1.5.0", 0}} {
		name := map[int]string{1: "Foo_Bar", 2: "baz"}[v.crate]
		if _, err := db.Exec(`INSERT INTO versions (crate_id, vers, vers_key, sort_key, cksum, size, entry, yanked,
			published_by, published_at, readme, manifest) VALUES (?, ?, ?, ?, ?, 1, ?, ?, 1, ?, '', x'')`,
			v.crate, v.vers, v.vers, v.vers, string(bytes.Repeat([]byte{'a' + byte(i)}, 64)), []byte(entry(name, v.vers)), v.yanked, 1700000000000000+i); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckIndexChunks(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := s.IndexRows(t.Context(), "foo_bar")
	if err != nil {
		t.Fatal(err)
	}
	var vers []string
	for _, r := range got.Versions {
		vers = append(vers, r.Vers)
		if want := entry("Foo_Bar", r.Vers); string(r.Entry) != want {
			t.Errorf("%s: entry %q, want %q", r.Vers, r.Entry, want)
		}
		if r.Yanked != (r.Vers == "2.0.0") {
			t.Errorf("%s: yanked %v", r.Vers, r.Yanked)
		}
	}
	if got.Name != "Foo_Bar" || len(vers) != 3 || vers[0] != "1.0.0" || vers[1] != "2.0.0" || vers[2] != "1.5.0" {
		t.Errorf("IndexRows(foo_bar) = %s %v, want Foo_Bar [1.0.0 2.0.0 1.5.0]", got.Name, vers)
	}
}

// FuzzParseIndexLines: the packed rows' parser never panics, and what it
// accepts it reads whole, entries inside the input.
func FuzzParseIndexLines(f *testing.F) {
	f.Add([]byte("1\t1.0.0\tabc\t0\t1700000000000000\t2\t{}\n"))
	f.Add([]byte("2\t1.0.0\tabc\t1\t5\t3\t{\t}\n1\t0.1.0\tdef\t0\t6\t2\t{}\n"))
	f.Add([]byte("1\t1.0.0\tabc\t0\t1\t99\t{}\n"))
	f.Add([]byte("1\t1.0.0\tabc\t2\t1\t2\t{}\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := parseIndexLines(nil, b)
		if err != nil {
			return
		}
		sortRows(rows)
		total := 0
		for i, r := range rows {
			if i > 0 && rows[i-1].ID > r.ID {
				t.Fatalf("rows out of id order: %d before %d", rows[i-1].ID, r.ID)
			}
			if !bytes.Contains(b, r.Entry) {
				t.Fatalf("entry %q is not in the input", r.Entry)
			}
			total += len(r.Entry)
		}
		if total > len(b) {
			t.Fatalf("entries hold %d bytes of a %d-byte input", total, len(b))
		}
	})
}

// TestIndexChunks: a crate of many versions is packed into chunks of about
// 16 KiB, and publishes (appends), imports (rebuilt at the batch's end),
// yanks and deletions (rebuilt) all leave them equal to its versions.
func TestIndexChunks(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := &crated.User{Login: "alice", Name: "alice"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	nv := func(crateID int64, name string, i int) *crated.NewVersion {
		vers := fmt.Sprintf("1.%d.0", i)
		// About 300 bytes a line: 200 versions make about four chunks.
		entry := fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[],"features":{"f":[%q]}}`, name, vers, strings.Repeat("x", 200))
		return &crated.NewVersion{CrateID: crateID, OwnerID: u.ID,
			Crate: crated.Crate{Name: name, CanonName: name},
			Version: crated.Version{Vers: vers, VersKey: vers, SortKey: fmt.Sprintf("%08d", i),
				Cksum: fmt.Sprintf("%064x", i), Entry: []byte(entry), PublishedBy: u.ID, PublishedAt: time.Now()}}
	}
	var crateID int64
	var ids []int64
	for i := range 200 {
		v, err := s.PublishVersion(t.Context(), nv(crateID, "big", i))
		if err != nil {
			t.Fatal(err)
		}
		crateID = v.CrateID
		ids = append(ids, v.ID)
	}
	chunks := func(crateID int64) int {
		var n int
		if err := s.read.QueryRow(`SELECT count(*) FROM index_chunks WHERE key >> 32 = ?`, crateID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := chunks(crateID); n < 3 || n > 5 {
		t.Errorf("200 versions of ~300 bytes are in %d chunks, want about 4", n)
	}
	check := func(after string) {
		t.Helper()
		if err := s.CheckIndexChunks(t.Context()); err != nil {
			t.Fatalf("after %s: %v", after, err)
		}
	}
	check("200 publishes")
	if err := s.SetYanked(t.Context(), ids[100], true, u.ID); err != nil {
		t.Fatal(err)
	}
	check("a yank")
	if _, err := s.DeleteVersion(t.Context(), ids[50], u.ID, ""); err != nil {
		t.Fatal(err)
	}
	check("a deletion")
	var batch []*crated.NewVersion
	for i := range 200 {
		batch = append(batch, nv(0, "imported", i))
	}
	if _, err := s.ImportVersions(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	check("an import")
	rows, err := s.IndexRows(t.Context(), "big")
	if err != nil || len(rows.Versions) != 199 || !rows.Versions[99].Yanked || rows.Versions[99].ID != ids[100] {
		t.Fatalf("IndexRows(big) after the yank and the deletion: %d versions (%v)", len(rows.Versions), err)
	}
	if _, err := s.DeleteCrate(t.Context(), crateID, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	check("the crate's deletion")
	if n := chunks(crateID); n != 0 {
		t.Errorf("a deleted crate keeps %d chunks", n)
	}

	// A chunk that does not parse is read around, from the versions.
	if _, err := s.write.Exec(`UPDATE index_chunks SET lines = x'3109' WHERE key = (SELECT min(key) FROM index_chunks)`); err != nil {
		t.Fatal(err)
	}
	got, err := s.IndexRows(t.Context(), "imported")
	want, _ := s.indexRowsFromVersions(t.Context(), "imported")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("IndexRows with a broken chunk = %+v, %v; want the versions' %+v", got, err, want)
	}
}
