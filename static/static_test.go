package static_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/index/sparse"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/sqlite"
	"github.com/crated/crated/static"
)

// memBlobs holds .crate files in memory by checksum.
type memBlobs map[string][]byte

type memBlob struct {
	*bytes.Reader
}

func (memBlob) Close() error       { return nil }
func (memBlob) ModTime() time.Time { return time.Time{} }
func (b memBlob) Size() int64      { return int64(b.Len()) }
func (m memBlobs) Stat(_ context.Context, key string) (int64, error) {
	b, ok := m[key]
	if !ok {
		return 0, crated.Errorf(crated.ENOTFOUND, "no blob %s", key)
	}
	return int64(len(b)), nil
}
func (m memBlobs) Open(_ context.Context, key string) (crated.Blob, error) {
	b, ok := m[key]
	if !ok {
		return nil, crated.Errorf(crated.ENOTFOUND, "no blob %s", key)
	}
	return memBlob{bytes.NewReader(b)}, nil
}

type fixture struct {
	t     *testing.T
	st    *sqlite.Store
	ix    *sparse.Index
	blobs memBlobs
	dir   *static.Dir
	pub   *static.Publisher
	owner int64
}

const configJSON = `{"dl":"http://x/api/v1/crates/{crate}/{version}/download","api":"http://x"}` + "\n"

func newFixture(t *testing.T) *fixture {
	st := testenv.SQLiteStore(t)
	dir, err := static.NewDir(filepath.Join(t.TempDir(), "static"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, ix: sparse.New(st, 0), blobs: memBlobs{}, dir: dir}
	f.pub = static.New(dir, f.ix, st, f.blobs, []byte(configJSON), nil)
	f.owner = testenv.StoreUser(t, st, "alice")
	return f
}

// publish commits a version whose crate file holds its own name, with the
// real checksum, and returns the file.
func (f *fixture) publish(name, vers string) []byte {
	f.t.Helper()
	body := []byte("crate " + name + " " + vers)
	sum := sha256.Sum256(body)
	cksum := hex.EncodeToString(sum[:])
	f.blobs[cksum] = body
	pv, _ := cargo.ParseVersion(vers)
	nv := &crated.NewVersion{
		Crate: crated.Crate{Name: name, CanonName: cargo.CanonicalName(name)},
		Version: crated.Version{Vers: vers, VersKey: pv.Key(), SortKey: pv.SortKey(), Cksum: cksum, PublishedBy: f.owner,
			Entry: fmt.Appendf(nil, `{"name":%q,"vers":%q,"deps":[],"cksum":%q,"features":{},"yanked":false}`, name, vers, cksum)},
		OwnerID: f.owner,
	}
	if c, err := f.st.CrateByName(context.Background(), cargo.CanonicalName(name)); err == nil {
		nv.CrateID = c.ID
	}
	if _, err := f.st.PublishVersion(context.Background(), nv); err != nil {
		f.t.Fatal(err)
	}
	return body
}

// changed is what the service's OnChange does: drop the cache, publish.
func (f *fixture) changed(name string) {
	f.t.Helper()
	canon := cargo.CanonicalName(name)
	f.ix.Invalidate(canon)
	if err := f.pub.Changed(context.Background(), canon); err != nil {
		f.t.Fatalf("Changed(%s): %v", canon, err)
	}
}

func (f *fixture) file(p string) []byte {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir.Root(), p))
	if err != nil {
		f.t.Fatalf("static file: %v", err)
	}
	return b
}

func (f *fixture) exists(p string) bool {
	_, err := os.Stat(filepath.Join(f.dir.Root(), p))
	return err == nil
}

func (f *fixture) files() []string {
	var out []string
	f.dir.Walk(context.Background(), func(p string, _ int64) error { out = append(out, p); return nil })
	slices.Sort(out)
	return out
}

// sync runs Sync and fails on an error.
func (f *fixture) sync() *static.Report {
	f.t.Helper()
	rep, err := f.pub.Sync(context.Background(), static.SyncOptions{Verify: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// TestChanged: every change leaves the index file crated serves (the
// renderer's bytes) and every crate file in the tree, at crated's paths.
func TestChanged(t *testing.T) {
	f := newFixture(t)
	crate1 := f.publish("Foo_Bar", "0.1.0")
	f.changed("Foo_Bar")
	idx := "index/fo/o_/foo_bar"
	want, err := f.ix.Crate(context.Background(), "foo_bar")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.file(idx); !bytes.Equal(got, want.Body) {
		t.Errorf("index file %q, want the rendered %q", got, want.Body)
	}
	if got := f.file("api/v1/crates/Foo_Bar/0.1.0/download"); !bytes.Equal(got, crate1) {
		t.Errorf("crate file %q, want %q", got, crate1)
	}

	crate2 := f.publish("Foo_Bar", "0.2.0+build.1")
	f.changed("Foo_Bar")
	if got := f.file("api/v1/crates/Foo_Bar/0.2.0+build.1/download"); !bytes.Equal(got, crate2) {
		t.Errorf("second crate file %q", got)
	}
	if n := bytes.Count(f.file(idx), []byte("\n")); n != 2 {
		t.Errorf("index file has %d lines after the second publish, want 2", n)
	}

	c, _ := f.st.CrateByName(context.Background(), "foo_bar")
	v, _ := f.st.Version(context.Background(), c.ID, "0.1.0")
	if err := f.st.SetYanked(context.Background(), v.ID, true, f.owner); err != nil {
		t.Fatal(err)
	}
	f.changed("Foo_Bar")
	if !bytes.Contains(f.file(idx), []byte(`"vers":"0.1.0","deps":[],"cksum":"`)) || !bytes.Contains(f.file(idx), []byte(`"yanked":true`)) {
		t.Errorf("index file after a yank:\n%s", f.file(idx))
	}
	// A yanked version stays downloadable.
	if !f.exists("api/v1/crates/Foo_Bar/0.1.0/download") {
		t.Error("the yanked version's crate file was removed")
	}
	for _, p := range f.files() {
		if info, err := os.Stat(filepath.Join(f.dir.Root(), p)); err != nil || info.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644 (nginx runs as another user)", p, info.Mode())
		}
	}
	// Changes published one by one leave nothing for Sync but config.json.
	if rep := f.sync(); !slices.Equal(rep.Added, []string{static.ConfigPath}) || len(rep.Changed)+len(rep.Removed) != 0 {
		t.Errorf("Sync after Changed: %+v, want only config.json added", rep)
	}
	if rep := f.sync(); !rep.Empty() {
		t.Errorf("second Sync: %+v, want no change", rep)
	}
}

// gone renders nothing for one crate, as after a deletion.
type gone struct {
	static.Renderer
	canon string
}

func (g gone) Crate(ctx context.Context, canon string) (*sparse.File, error) {
	if canon == g.canon {
		return nil, crated.Errorf(crated.ENOTFOUND, "gone")
	}
	return g.Renderer.Crate(ctx, canon)
}

// TestChangedRemovesVanished: a crate the store no longer has loses its
// index file and crate files, whichever '-'/'_' spelling it had; other
// crates keep theirs.
func TestChangedRemovesVanished(t *testing.T) {
	f := newFixture(t)
	f.publish("a-b_c-d", "1.0.0")
	f.publish("a-b_c-d", "1.1.0")
	f.publish("keep", "1.0.0")
	f.changed("a-b_c-d")
	f.changed("keep")
	if !f.exists("index/a-/b_/a-b_c-d") {
		t.Fatalf("no index file: %v", f.files())
	}
	pub := static.New(f.dir, gone{f.ix, "a_b_c_d"}, f.st, f.blobs, []byte(configJSON), nil)
	if err := pub.Changed(context.Background(), "a_b_c_d"); err != nil {
		t.Fatal(err)
	}
	want := []string{"api/v1/crates/keep/1.0.0/download", "index/ke/ep/keep"}
	if got := f.files(); !slices.Equal(got, want) {
		t.Errorf("files after the crate vanished: %v, want %v", got, want)
	}
}

// TestSyncRepairs: Sync rewrites a damaged file, adds missing ones, removes
// files the store does not name and stale temporary files, reports each,
// and leaves files outside its layout alone.
func TestSyncRepairs(t *testing.T) {
	f := newFixture(t)
	f.publish("serde", "1.0.0")
	f.publish("log", "0.4.0")
	if rep := f.sync(); len(rep.Added) != 5 || len(rep.Changed)+len(rep.Removed) != 0 {
		t.Fatalf("first Sync: %+v, want 5 files added", rep)
	}
	root := f.dir.Root()
	write := func(p, body string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index/se/rd/serde", "damaged\n")
	write("api/v1/crates/log/0.4.0/download", "crate log 0.4.1")
	os.Remove(filepath.Join(root, "index/3/l/log"))
	write("index/ol/dc/oldcrate", "{}\n")
	write("api/v1/crates/oldcrate/1.0.0/download", "x")
	write("index/se/rd/.static-123", "half")
	write("robots.txt", "mine")

	rep := f.sync()
	if !slices.Equal(rep.Added, []string{"index/3/l/log"}) ||
		!slices.Equal(rep.Changed, []string{"api/v1/crates/log/0.4.0/download", "index/se/rd/serde"}) ||
		!slices.Equal(rep.Removed, []string{"api/v1/crates/oldcrate/1.0.0/download", "index/ol/dc/oldcrate"}) {
		t.Errorf("Sync report %+v", rep)
	}
	want := []string{"api/v1/crates/log/0.4.0/download", "api/v1/crates/serde/1.0.0/download",
		"index/3/l/log", "index/config.json", "index/se/rd/serde", "robots.txt"}
	if got := f.files(); !slices.Equal(got, want) {
		t.Errorf("files after Sync: %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(root, "index/ol")); err == nil {
		t.Error("the removed crate's empty directories stay")
	}
	if string(f.file(static.ConfigPath)) != configJSON {
		t.Errorf("config.json: %q", f.file(static.ConfigPath))
	}
	if rep := f.sync(); !rep.Empty() {
		t.Errorf("second Sync: %+v, want no change", rep)
	}
}

// TestSyncEmptyCrateFile: the start's Sync (no --verify) rewrites a crate
// file that a machine crash left empty, since the tree is never fsynced.
func TestSyncEmptyCrateFile(t *testing.T) {
	f := newFixture(t)
	body := f.publish("serde", "1.0.0")
	f.changed("serde")
	path := "api/v1/crates/serde/1.0.0/download"
	if err := os.Truncate(filepath.Join(f.dir.Root(), path), 0); err != nil {
		t.Fatal(err)
	}
	rep, err := f.pub.Sync(context.Background(), static.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Changed, []string{path}) || !bytes.Equal(f.file(path), body) {
		t.Errorf("Sync over an empty crate file: %+v, file %q", rep, f.file(path))
	}
}

// TestSyncDryRun reports without writing.
func TestSyncDryRun(t *testing.T) {
	f := newFixture(t)
	f.publish("serde", "1.0.0")
	rep, err := f.pub.Sync(context.Background(), static.SyncOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Added) != 3 || len(f.files()) != 0 {
		t.Errorf("dry run: %+v, files %v", rep, f.files())
	}
}

// TestDirRefusesEscapes: a path may not leave the tree.
func TestDirRefusesEscapes(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"../x", "/etc/passwd", "a/../../x", ""} {
		if err := f.dir.Put(context.Background(), p, strings.NewReader("x"), 1); err == nil {
			t.Errorf("Put(%q) succeeded", p)
		}
	}
	if err := f.dir.Put(context.Background(), "a", io.LimitReader(strings.NewReader("xyz"), 2), 3); err == nil || f.exists("a") {
		t.Error("a short write was published")
	}
}

// TestDirRewriteChangesMtime: nginx's ETag is the mtime in seconds and the
// size, so a rewrite of a file with the same size within the same second
// (a yank then an unyank) must still get a later whole-second mtime.
func TestDirRewriteChangesMtime(t *testing.T) {
	d, err := static.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for i, body := range []string{"yanked:false", "yanked:true!", "yanked:false"} {
		if err := d.Put(t.Context(), "index/3/f/foo", strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(d.Root(), "index/3/f/foo"))
		if err != nil {
			t.Fatal(err)
		}
		sec := fi.ModTime().Truncate(time.Second)
		if i > 0 && !sec.After(last) {
			t.Errorf("write %d: mtime %v is not a second after the previous one (%v): nginx would send the same ETag", i, sec, last)
		}
		last = sec
	}
}

// pathBlobs is memBlobs that also names a local file for each blob, as
// blob/fs does; a name that is not there makes the link fail.
type pathBlobs struct {
	memBlobs
	dir string
}

func (p pathBlobs) Path(key string) string { return filepath.Join(p.dir, key) }

// TestCrateFilesLinked: with a local tree and local blobs a crate file is
// a hard link to its blob (no copy); when the link cannot be made (another
// filesystem, here a blob file that is not there) it is copied.
func TestCrateFilesLinked(t *testing.T) {
	f := newFixture(t)
	blobDir := t.TempDir()
	pb := pathBlobs{f.blobs, blobDir}
	f.pub = static.New(f.dir, f.ix, f.st, pb, []byte(configJSON), nil)

	body := f.publish("linked", "1.0.0")
	sum := sha256.Sum256(body)
	src := pb.Path(hex.EncodeToString(sum[:]))
	if err := os.WriteFile(src, body, 0o644); err != nil {
		t.Fatal(err)
	}
	f.changed("linked")
	path := "api/v1/crates/linked/1.0.0/download"
	a, err1 := os.Stat(src)
	b, err2 := os.Stat(filepath.Join(f.dir.Root(), path))
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		t.Errorf("crate file is not a link to its blob: %v %v", err1, err2)
	}
	// Linking again (a Sync that finds the file) changes nothing.
	if rep := f.sync(); len(rep.Changed)+len(rep.Removed) != 0 {
		t.Errorf("Sync after a linked publish: %+v", rep)
	}
	// A damaged file in its place (not the blob: that is the same inode)
	// is replaced by the link again.
	tree := filepath.Join(f.dir.Root(), path)
	if err := os.Remove(tree); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tree, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep := f.sync(); !slices.Equal(rep.Changed, []string{path}) {
		t.Errorf("Sync over a damaged crate file: %+v, want it changed", rep)
	}
	b, err2 = os.Stat(tree)
	if err2 != nil || !os.SameFile(a, b) {
		t.Errorf("the damaged crate file was not replaced by a link: %v", err2)
	}
	if got, _ := os.ReadFile(src); !bytes.Equal(got, body) {
		t.Errorf("the blob changed: %q", got)
	}

	copied := f.publish("copied", "1.0.0") // no blob file: copied from Open
	f.changed("copied")
	if got := f.file("api/v1/crates/copied/1.0.0/download"); !bytes.Equal(got, copied) {
		t.Errorf("copied crate file %q, want %q", got, copied)
	}
	for _, p := range f.files() {
		if strings.HasPrefix(filepath.Base(p), ".static-") {
			t.Errorf("temporary file left in the tree: %s", p)
		}
	}
}
