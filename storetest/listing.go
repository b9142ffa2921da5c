package storetest

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/crated/crated"
)

// The listings of the home page. The contract:
//
//   - RecentCrates orders crates by their most recently published version,
//     newest first: a crate with a new version moves to the top, a yank
//     moves nothing. Publish order is what counts, not PublishedAt (a
//     mirror or an import may publish with an old date).
//   - PopularCrates orders crates by Downloads, most first, ties by
//     CanonName; crates nobody downloaded still fill the list, last.
//   - Both return at most limit crates, every field filled as CrateByName
//     fills it, an empty list (no error) on an empty store, and EINVALID
//     when limit < 1: a listing is always bounded.

func (c *checkedStore) RecentCrates(ctx context.Context, limit int) ([]*crated.Crate, error) {
	v, err := c.Store.RecentCrates(ctx, limit)
	return v, c.check("RecentCrates", err)
}

func (c *checkedStore) PopularCrates(ctx context.Context, limit int) ([]*crated.Crate, error) {
	v, err := c.Store.PopularCrates(ctx, limit)
	return v, c.check("PopularCrates", err)
}

func testRecentCrates(t *testing.T, s crated.Store) {
	for _, limit := range []int{0, -1} {
		_, err := s.RecentCrates(ctx(t), limit)
		wantCode(t, "RecentCrates(limit "+strconv.Itoa(limit)+")", err, crated.EINVALID)
	}
	if cs, err := s.RecentCrates(ctx(t), 10); err != nil || len(cs) != 0 {
		t.Errorf("RecentCrates(empty store) = %v, %v, want empty", crateNames(cs), err)
	}
	alice := mustUser(t, s, "alice")
	publishNew(t, s, "b", "1.0.0", alice.ID)
	publishNew(t, s, "a", "1.0.0", alice.ID)
	publishNew(t, s, "c", "1.0.0", alice.ID)
	check := func(what string, limit int, want ...string) {
		t.Helper()
		cs, err := s.RecentCrates(ctx(t), limit)
		if err != nil || !slices.Equal(crateNames(cs), want) {
			t.Errorf("%s: RecentCrates(%d) = %v, %v, want %v", what, limit, crateNames(cs), err, want)
		}
		for _, c := range cs {
			checkMetadata(t, "RecentCrates "+c.Name, c, mustCrate(t, s, c.CanonName))
		}
	}
	check("publish order", 10, "c", "a", "b")
	check("limit", 2, "c", "a")

	// A new version of b, dated long ago, still makes b the most recent.
	nv := newVersion(mustCrate(t, s, "b").ID, "b", "2.0.0", alice.ID)
	nv.Version.PublishedAt = nv.Version.PublishedAt.AddDate(-10, 0, 0)
	mustPublish(t, s, nv)
	check("after a new version of b", 10, "b", "c", "a")

	// Yanking a version publishes nothing.
	a := mustVersions(t, s, mustCrate(t, s, "a").ID)
	if err := s.SetYanked(ctx(t), a[0].ID, true, alice.ID); err != nil {
		t.Fatalf("SetYanked: %v", err)
	}
	check("after a yank of a", 10, "b", "c", "a")
}

func testPopularCrates(t *testing.T, s crated.Store) {
	for _, limit := range []int{0, -1} {
		_, err := s.PopularCrates(ctx(t), limit)
		wantCode(t, "PopularCrates(limit "+strconv.Itoa(limit)+")", err, crated.EINVALID)
	}
	if cs, err := s.PopularCrates(ctx(t), 10); err != nil || len(cs) != 0 {
		t.Errorf("PopularCrates(empty store) = %v, %v, want empty", crateNames(cs), err)
	}
	alice := mustUser(t, s, "alice")
	a1, _ := publishNew(t, s, "a", "1.0.0", alice.ID)
	a2, _ := publishNew(t, s, "a", "2.0.0", alice.ID)
	b1, _ := publishNew(t, s, "b", "1.0.0", alice.ID)
	c1, _ := publishNew(t, s, "c", "1.0.0", alice.ID)
	publishNew(t, s, "d", "1.0.0", alice.ID)
	publishNew(t, s, "e", "1.0.0", alice.ID)
	// a: 3+4 over two versions, c: 7 (a tie broken by name), b: 10.
	if err := s.AddDownloads(ctx(t), map[int64]int64{a1.ID: 3, a2.ID: 4, b1.ID: 10, c1.ID: 7}); err != nil {
		t.Fatalf("AddDownloads: %v", err)
	}
	check := func(limit int, want ...string) {
		t.Helper()
		cs, err := s.PopularCrates(ctx(t), limit)
		if err != nil || !slices.Equal(crateNames(cs), want) {
			t.Errorf("PopularCrates(%d) = %v, %v, want %v", limit, crateNames(cs), err, want)
		}
		for _, c := range cs {
			if got := mustCrate(t, s, c.CanonName).Downloads; c.Downloads != got {
				t.Errorf("PopularCrates: %s.Downloads = %d, CrateByName says %d", c.Name, c.Downloads, got)
			}
		}
	}
	check(10, "b", "a", "c", "d", "e")
	check(3, "b", "a", "c")

	// The versions carry their own counts.
	for _, v := range mustVersions(t, s, mustCrate(t, s, "a").ID) {
		want := map[string]int64{"1.0.0": 3, "2.0.0": 4}[v.Vers]
		if v.Downloads != want {
			t.Errorf("Versions(a): %s.Downloads = %d, want %d", v.Vers, v.Downloads, want)
		}
	}
	if v, err := s.Version(ctx(t), mustCrate(t, s, "b").ID, "1.0.0"); err != nil || v.Downloads != 10 {
		t.Errorf("Version(b 1.0.0).Downloads = %v, %v, want 10", v, err)
	}
}
