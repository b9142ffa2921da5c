package migrate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/blob/s3"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/internal/testenv"
	"github.com/crated/crated/migrate"
	"github.com/crated/crated/sqlite"
)

// t0 is the first time of the fixture's clock; every write gets its own
// later minute, so that carried-over times can be told apart.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 123456000, time.UTC)

// fixture is a source registry written through the Store interface, with
// every shape the copy has to carry: password and OpenID users, tokens with
// and without a sealed copy, a user without a token, versions with build
// metadata, yanks by another owner, a crate whose first owner left, a crate
// with every version yanked, download counts, an orphan blob.
type fixture struct {
	store *sqlite.Store
	blobs *fs.Store
	tick  int
	users map[string]*crated.User
	// hashes of the users' tokens
	tokens map[string]string
}

// now advances the source's clock by a minute and returns the new time.
func (f *fixture) now() time.Time {
	f.tick++
	at := t0.Add(time.Duration(f.tick) * time.Minute)
	f.store.Now = func() time.Time { return at }
	return at
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "db", "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fs.New(filepath.Join(dir, "crates"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, blobs: blobs, users: map[string]*crated.User{}, tokens: map[string]string{}}
	f.seed(t)
	return f
}

func (f *fixture) user(t *testing.T, u *crated.User, token string, sealed []byte) {
	t.Helper()
	ctx := context.Background()
	f.now()
	if err := f.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	f.users[u.Name] = u
	if token == "" {
		return
	}
	sum := sha256.Sum256([]byte(token))
	hash := hex.EncodeToString(sum[:])
	f.now()
	// An older token first: only the newest one may be carried over.
	old := sha256.Sum256([]byte(token + "-old"))
	if _, err := f.store.ReplaceToken(ctx, &crated.Token{UserID: u.ID, Hash: hex.EncodeToString(old[:])}); err != nil {
		t.Fatal(err)
	}
	f.now()
	if _, err := f.store.ReplaceToken(ctx, &crated.Token{UserID: u.ID, Hash: hash, Sealed: sealed}); err != nil {
		t.Fatal(err)
	}
	f.tokens[u.Name] = hash
}

// publish writes a version and its blob; the content is unique per version.
func (f *fixture) publish(t *testing.T, name, vers, by string) *crated.Version {
	t.Helper()
	ctx := context.Background()
	content := []byte(fmt.Sprintf("crate file of %s %s", name, vers))
	sum := sha256.Sum256(content)
	cksum := hex.EncodeToString(sum[:])
	if err := f.blobs.Put(ctx, cksum, bytes.NewReader(content), int64(len(content))); err != nil {
		t.Fatal(err)
	}
	v, err := cargo.ParseVersion(vers)
	if err != nil {
		t.Fatal(err)
	}
	canon := cargo.CanonicalName(name)
	nv := &crated.NewVersion{
		Crate: crated.Crate{Name: name, CanonName: canon, Description: name + " does things " + vers,
			Homepage: "https://example.com/" + name, Keywords: []string{"k-" + name}, Categories: []string{"development-tools"}},
		Version: crated.Version{
			Vers: vers, VersKey: v.Key(), SortKey: v.SortKey(), Cksum: cksum, Size: int64(len(content)),
			Entry:       []byte(fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[],"cksum":%q,"features":{},"yanked":false}`, name, vers, cksum)),
			PublishedBy: f.users[by].ID, PublishedAt: f.now().Add(-time.Second),
			Readme: "# " + name, Manifest: []byte(`{"license":"MIT"}`),
		},
		OwnerID: f.users[by].ID,
	}
	if c, err := f.store.CrateByName(ctx, canon); err == nil {
		nv.CrateID = c.ID
	}
	out, err := f.store.PublishVersion(ctx, nv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	f.user(t, &crated.User{Login: "alice", Name: "alice", Email: "alice@example.com", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", Admin: true}, "crated_alice", []byte("sealed-alice"))
	f.user(t, &crated.User{Login: "bob", Name: "bob", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdDI$aGFzaDI"}, "crated_bob", nil)
	f.user(t, &crated.User{Login: "gitlab.example.com:carol", Name: "carol", Email: "carol@example.com", Issuer: "https://gitlab.example.com", Subject: "4711"}, "crated_carol", []byte("sealed-carol"))
	f.user(t, &crated.User{Login: "dave", Name: "dave"}, "", nil)

	alpha := f.publish(t, "alpha", "0.1.0", "alice")
	f.now()
	if err := f.store.AddOwners(ctx, alpha.CrateID, []int64{f.users["bob"].ID}, f.users["alice"].ID); err != nil {
		t.Fatal(err)
	}
	a2 := f.publish(t, "alpha", "0.2.0", "bob")
	f.publish(t, "alpha", "1.0.0+build.7", "alice")
	f.now()
	if err := f.store.SetYanked(ctx, a2.ID, true, f.users["bob"].ID); err != nil {
		t.Fatal(err)
	}

	// carol creates the crate, hands it to alice and leaves.
	beta := f.publish(t, "Beta_Crate", "2.0.0-rc.1", "carol")
	f.now()
	if err := f.store.AddOwners(ctx, beta.CrateID, []int64{f.users["alice"].ID}, f.users["carol"].ID); err != nil {
		t.Fatal(err)
	}
	f.now()
	if err := f.store.RemoveOwners(ctx, beta.CrateID, []int64{f.users["carol"].ID}, f.users["alice"].ID); err != nil {
		t.Fatal(err)
	}

	// Every version of gamma is yanked; one was unyanked and yanked again.
	g1 := f.publish(t, "gamma", "0.0.1", "bob")
	g2 := f.publish(t, "gamma", "0.0.2", "bob")
	for _, y := range []struct {
		id     int64
		yanked bool
	}{{g1.ID, true}, {g1.ID, false}, {g2.ID, true}, {g1.ID, true}} {
		f.now()
		if err := f.store.SetYanked(ctx, y.id, y.yanked, f.users["bob"].ID); err != nil {
			t.Fatal(err)
		}
	}

	if err := f.store.AddDownloads(ctx, map[int64]int64{alpha.ID: 5, a2.ID: 7, g1.ID: 1}); err != nil {
		t.Fatal(err)
	}
	// An orphan blob (a publish that failed after storing its file).
	orphan := []byte("orphan")
	sum := sha256.Sum256(orphan)
	if err := f.blobs.Put(ctx, hex.EncodeToString(sum[:]), bytes.NewReader(orphan), int64(len(orphan))); err != nil {
		t.Fatal(err)
	}
	f.store.Now = time.Now
}

// sqliteTarget opens an empty SQLite store.
func sqliteTarget(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crated.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func fsTarget(t *testing.T) *fs.Store {
	t.Helper()
	b, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCopy checks what Verify does not look at: that tokens authenticate
// their users, that OpenID identities resolve, the audit log the copy
// rebuilt, and that the stores' clocks are real again.
func checkCopy(t *testing.T, f *fixture, dst crated.Store) {
	t.Helper()
	ctx := context.Background()
	for name, hash := range f.tokens {
		tok, err := dst.TokenByHash(ctx, hash)
		if err != nil {
			t.Errorf("token of %s: %v", name, err)
			continue
		}
		u, err := dst.UserByID(ctx, tok.UserID)
		if err != nil || u.Name != name {
			t.Errorf("token of %s belongs to %+v, %v", name, u, err)
		}
	}
	if _, err := dst.UserToken(ctx, mustUser(t, dst, "dave").ID); !crated.IsCode(err, crated.ENOTFOUND) {
		t.Errorf("dave has a token in the target: %v", err)
	}
	carol, err := dst.UserByIdentity(ctx, "https://gitlab.example.com", "4711")
	if err != nil || carol.Login != "gitlab.example.com:carol" {
		t.Errorf("carol by identity: %+v, %v", carol, err)
	}
	alpha, err := dst.CrateByName(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if alpha.MaxVersion != "1.0.0+build.7" || alpha.Downloads != 12 {
		t.Errorf("alpha: max version %s, %d downloads", alpha.MaxVersion, alpha.Downloads)
	}
	if c, err := dst.CrateByName(ctx, "beta_crate"); err != nil || c.Name != "Beta_Crate" {
		t.Errorf("Beta_Crate: %+v, %v", c, err)
	}

	// The rebuilt audit log: the publish of alpha 0.2.0 by bob at its
	// time, and the yank by bob at the time of the source's yank.
	src := mustAudit(t, f.store)
	got := mustAudit(t, dst)
	for _, want := range []struct{ action, crate, vers, detail string }{
		{"publish", "alpha", "0.2.0", ""},
		{"yank", "alpha", "0.2.0", ""},
		{"owner_add", "alpha", "", "bob"},
		{"owner_add", "Beta_Crate", "", "alice"},
		{"yank", "gamma", "0.0.1", ""},
	} {
		s := findAudit(src, want.action, want.crate, want.vers, want.detail)
		d := findAudit(got, want.action, want.crate, want.vers, want.detail)
		if s == nil || d == nil {
			t.Errorf("audit %v: source %v, target %v", want, s, d)
			continue
		}
		su, _ := f.store.UserByID(ctx, s.UserID)
		du, _ := dst.UserByID(ctx, d.UserID)
		if !d.Time.Equal(s.Time) || su == nil || du == nil || su.Login != du.Login {
			t.Errorf("audit %v: target says %v by %v, source %v by %v", want, d.Time, du, s.Time, su)
		}
	}
}

func mustUser(t *testing.T, st crated.Store, login string) *crated.User {
	t.Helper()
	u, err := st.UserByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustAudit(t *testing.T, st crated.Store) []*crated.AuditEntry {
	t.Helper()
	es, err := st.Audit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// findAudit returns the newest matching entry.
func findAudit(es []*crated.AuditEntry, action, crate, vers, detail string) *crated.AuditEntry {
	for _, e := range es {
		if e.Action == action && e.Crate == crate && e.Version == vers && e.Detail == detail {
			return e
		}
	}
	return nil
}

func TestCopySQLiteToSQLite(t *testing.T) {
	f := newFixture(t)
	dst := sqliteTarget(t)
	dstBlobs := fsTarget(t)
	var progress bytes.Buffer
	opt := migrate.Options{SrcBlobs: f.blobs, DstBlobs: dstBlobs, Progress: &progress}
	st, err := migrate.Run(t.Context(), f.store, dst, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := migrate.Stats{UsersCreated: 4, TokensCopied: 3, CratesCreated: 3, VersionsCopied: 6,
		YanksChanged: 3, OwnersAdded: 2, OwnersRemoved: 1, Downloads: 13, BlobsCopied: 7}
	if *st != want {
		t.Errorf("first run:\n got %+v\nwant %+v", *st, want)
	}
	if !strings.Contains(progress.String(), "crates") {
		t.Errorf("no progress shown: %q", progress.String())
	}
	checkCopy(t, f, dst)

	// Running it again finds everything there and writes nothing.
	audit := len(mustAudit(t, dst))
	st, err = migrate.Run(t.Context(), f.store, dst, migrate.Options{SrcBlobs: f.blobs, DstBlobs: dstBlobs})
	if err != nil {
		t.Fatal(err)
	}
	want = migrate.Stats{UsersPresent: 4, TokensPresent: 3, VersionsPresent: 6, BlobsPresent: 7}
	if *st != want {
		t.Errorf("second run:\n got %+v\nwant %+v", *st, want)
	}
	if n := len(mustAudit(t, dst)); n != audit {
		t.Errorf("the second run wrote %d audit entries", n-audit)
	}

	// The target's clock is real again after the copy.
	before := time.Now().Add(-time.Minute)
	u := &crated.User{Login: "erin", Name: "erin"}
	if err := dst.CreateUser(t.Context(), u); err != nil || u.CreatedAt.Before(before) {
		t.Errorf("a user created after the copy has time %v, %v", u.CreatedAt, err)
	}
}

// cancelAfter cancels a context on the n-th call of Versions on the source:
// an interruption in the middle of the crates.
type cancelAfter struct {
	crated.Store
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Versions(ctx context.Context, crateID int64) ([]*crated.Version, error) {
	c.n--
	if c.n == 0 {
		c.cancel()
	}
	return c.Store.Versions(ctx, crateID)
}

// TestResume interrupts a copy, resumes it, then copies what the source
// gained since.
func TestResume(t *testing.T) {
	f := newFixture(t)
	dst := sqliteTarget(t)
	dstBlobs := fsTarget(t)
	opt := migrate.Options{SrcBlobs: f.blobs, DstBlobs: dstBlobs}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := migrate.Copy(ctx, &cancelAfter{Store: f.store, n: 2, cancel: cancel}, dst, opt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted copy: %v", err)
	}
	c, v, err := dst.CountCrates(t.Context())
	if err != nil || c == 0 || v >= 6 {
		t.Fatalf("the interrupted copy left %d crates, %d versions (%v); want some, not all", c, v, err)
	}
	st, err := migrate.Run(t.Context(), f.store, dst, opt)
	if err != nil {
		t.Fatal(err)
	}
	if st.VersionsPresent == 0 || st.VersionsPresent+st.VersionsCopied != 6 || st.UsersPresent != 4 || st.BlobsPresent != 7 {
		t.Errorf("resumed run: %+v", *st)
	}
	checkCopy(t, f, dst)

	// The source moves on: a new version, an unyank, an owner change, a
	// new token, more downloads. The next run brings exactly that over.
	ctx2 := t.Context()
	v3 := f.publish(t, "alpha", "1.1.0", "bob")
	alpha, _ := f.store.CrateByName(ctx2, "alpha")
	a2, _ := f.store.Version(ctx2, alpha.ID, "0.2.0")
	f.now()
	if err := f.store.SetYanked(ctx2, a2.ID, false, f.users["alice"].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.store.RemoveOwners(ctx2, alpha.ID, []int64{f.users["alice"].ID}, f.users["bob"].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ReplaceToken(ctx2, &crated.Token{UserID: f.users["dave"].ID, Hash: strings.Repeat("d", 64)}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddDownloads(ctx2, map[int64]int64{v3.ID: 3}); err != nil {
		t.Fatal(err)
	}
	f.store.Now = time.Now
	st, err = migrate.Run(t.Context(), f.store, dst, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := migrate.Stats{UsersPresent: 4, TokensCopied: 1, TokensPresent: 3, VersionsCopied: 1, VersionsPresent: 6,
		YanksChanged: 1, OwnersRemoved: 1, Downloads: 3, BlobsCopied: 1, BlobsPresent: 7}
	if *st != want {
		t.Errorf("run after changes:\n got %+v\nwant %+v", *st, want)
	}
}

// TestVerifyFindsDifferences damages a good copy in one way at a time;
// Verify must name each damage.
func TestVerifyFindsDifferences(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dst *sqlite.Store, blobs *fs.Store)
		want   string
	}{
		{"yank flag", func(t *testing.T, dst *sqlite.Store, _ *fs.Store) {
			c, _ := dst.CrateByName(t.Context(), "alpha")
			v, _ := dst.Version(t.Context(), c.ID, "0.1.0")
			if err := dst.SetYanked(t.Context(), v.ID, true, 1); err != nil {
				t.Fatal(err)
			}
		}, "alpha 0.1.0: the size, index line, yanked flag"},
		{"extra user", func(t *testing.T, dst *sqlite.Store, _ *fs.Store) {
			if err := dst.CreateUser(t.Context(), &crated.User{Login: "mallory", Name: "mallory"}); err != nil {
				t.Fatal(err)
			}
		}, "the source has 4 users, the target 5"},
		{"token", func(t *testing.T, dst *sqlite.Store, _ *fs.Store) {
			u, _ := dst.UserByLogin(t.Context(), "bob")
			if _, err := dst.ReplaceToken(t.Context(), &crated.Token{UserID: u.ID, Hash: strings.Repeat("b", 64)}); err != nil {
				t.Fatal(err)
			}
		}, "user bob: the token differs"},
		{"owner", func(t *testing.T, dst *sqlite.Store, _ *fs.Store) {
			c, _ := dst.CrateByName(t.Context(), "gamma")
			u, _ := dst.UserByLogin(t.Context(), "dave")
			if err := dst.AddOwners(t.Context(), c.ID, []int64{u.ID}, u.ID); err != nil {
				t.Fatal(err)
			}
		}, "crate gamma: owners [bob] in the source, [bob dave] in the target"},
		{"corrupt blob", func(t *testing.T, dst *sqlite.Store, blobs *fs.Store) {
			c, _ := dst.CrateByName(t.Context(), "gamma")
			v, _ := dst.Version(t.Context(), c.ID, "0.0.2")
			if err := os.WriteFile(blobs.Path(v.Cksum), []byte("bit rot"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "does not hash to its key"},
		{"missing blob", func(t *testing.T, dst *sqlite.Store, blobs *fs.Store) {
			c, _ := dst.CrateByName(t.Context(), "gamma")
			v, _ := dst.Version(t.Context(), c.ID, "0.0.1")
			if err := os.Remove(blobs.Path(v.Cksum)); err != nil {
				t.Fatal(err)
			}
		}, "is missing from the target"},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := sqliteTarget(t)
			blobs := fsTarget(t)
			opt := migrate.Options{SrcBlobs: f.blobs, DstBlobs: blobs}
			if _, err := migrate.Run(t.Context(), f.store, dst, opt); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dst, blobs)
			err := migrate.Verify(t.Context(), f.store, dst, opt)
			var ve *migrate.VerifyError
			if !errors.As(err, &ve) || !slices.ContainsFunc(ve.Problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("Verify: %v\nwant a difference saying %q", err, tc.want)
			}
		})
	}
}

// TestCopyRefuses: a target holding other data is not merged into.
func TestCopyRefuses(t *testing.T) {
	f := newFixture(t)
	t.Run("one blob store", func(t *testing.T) {
		_, err := migrate.Copy(t.Context(), f.store, sqliteTarget(t), migrate.Options{SrcBlobs: f.blobs})
		if !crated.IsCode(err, crated.EINVALID) {
			t.Errorf("Copy with only a source blob store: %v", err)
		}
	})
	t.Run("another user with the same login", func(t *testing.T) {
		dst := sqliteTarget(t)
		if err := dst.CreateUser(t.Context(), &crated.User{Login: "gitlab.example.com:carol", Issuer: "https://other.example.com", Subject: "1"}); err != nil {
			t.Fatal(err)
		}
		_, err := migrate.Copy(t.Context(), f.store, dst, migrate.Options{})
		if !crated.IsCode(err, crated.ECONFLICT) || !strings.Contains(err.Error(), "gitlab.example.com:carol") {
			t.Errorf("Copy: %v", err)
		}
	})
	t.Run("another crate file for a version", func(t *testing.T) {
		dst := sqliteTarget(t)
		if _, err := migrate.Copy(t.Context(), f.store, dst, migrate.Options{}); err != nil {
			t.Fatal(err)
		}
		// The same source, but every crate file different.
		_, err := migrate.Copy(t.Context(), &otherCksum{f.store}, dst, migrate.Options{})
		if !crated.IsCode(err, crated.ECONFLICT) || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("Copy: %v", err)
		}
	})
}

// otherCksum reports different checksums for every version.
type otherCksum struct{ crated.Store }

func (o *otherCksum) Versions(ctx context.Context, id int64) ([]*crated.Version, error) {
	vs, err := o.Store.Versions(ctx, id)
	for _, v := range vs {
		v.Cksum = strings.Repeat("0", 64)
	}
	return vs, err
}

func TestOpenStore(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "db", "crated.db")
	st, err := sqlite.Open(t.Context(), existing)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	cases := []struct {
		spec      string
		mustExist bool
		code      string // "" for success
	}{
		{"sqlite:" + existing, true, ""},
		{"sqlite:" + filepath.Dir(existing), true, ""},
		{"sqlite:" + filepath.Join(dir, "nope.db"), true, crated.ENOTFOUND},
		{"sqlite:" + dir, true, crated.ENOTFOUND},
		{"sqlite:" + filepath.Join(dir, "new", "crated.db"), false, ""},
		{"sqlite:", false, crated.EINVALID},
		{"mysql://localhost/crated", false, crated.EINVALID},
		{filepath.Join(dir, "db"), false, crated.EINVALID},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			st, err := migrate.OpenStore(t.Context(), tc.spec, tc.mustExist)
			if err == nil {
				st.Close()
			}
			if crated.ErrorCode(err) != tc.code {
				t.Errorf("OpenStore: %v, want code %q", err, tc.code)
			}
		})
	}
	same := []struct {
		a, b string
		want bool
	}{
		{"sqlite:" + existing, "sqlite:" + filepath.Dir(existing), true},
		{"sqlite:" + existing, "sqlite:" + filepath.Join(dir, "other.db"), false},
		{"postgres://h/a", "postgres://h/a", true},
		{"postgres://h/a", "postgres://h/b", false},
	}
	for _, s := range same {
		if got := migrate.SameStore(s.a, s.b); got != s.want {
			t.Errorf("SameStore(%q, %q) = %v", s.a, s.b, got)
		}
	}
}

// TestPostgres copies SQLite to PostgreSQL and back again, and the crate
// files into an S3 bucket when an S3 server is there too.
func TestPostgres(t *testing.T) {
	f := newFixture(t)
	url := testenv.PostgresURL(t)
	pg, err := migrate.OpenStore(t.Context(), "postgres:"+url, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := migrate.Run(t.Context(), f.store, pg, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	checkCopy(t, f, pg)
	st, err := migrate.Run(t.Context(), f.store, pg, migrate.Options{})
	if err != nil || st.VersionsCopied != 0 || st.VersionsPresent != 6 {
		t.Errorf("second run: %+v, %v", st, err)
	}

	back := sqliteTarget(t)
	if _, err := migrate.Run(t.Context(), pg, back, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := migrate.Verify(t.Context(), f.store, back, migrate.Options{}); err != nil {
		t.Errorf("SQLite -> PostgreSQL -> SQLite: %v", err)
	}
}

func TestS3(t *testing.T) {
	f := newFixture(t)
	endpoint, access, secret, bucket := testenv.S3Bucket(t)
	bs, err := s3.New(t.Context(), s3.Config{Endpoint: endpoint, AccessKey: access, SecretKey: secret, Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	opt := migrate.Options{SrcBlobs: f.blobs, DstBlobs: bs}
	st, err := migrate.Run(t.Context(), f.store, sqliteTarget(t), opt)
	if err != nil || st.BlobsCopied != 7 {
		t.Fatalf("Run: %+v, %v", st, err)
	}
	n := 0
	for obj := range testenv.S3Client(t).ListObjectsIter(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	if n != 7 {
		t.Errorf("%d objects in the bucket, want 7", n)
	}
}
