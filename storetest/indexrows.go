package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// testIndexRows checks the narrow read the sparse index renders from: the
// name as first published, every version in publish order with its id,
// checksum, published index line and yanked flag, the same as Versions
// says; nothing of another crate; ENOTFOUND for an unknown name.
func testIndexRows(t *testing.T, s crated.Store) {
	u := mustUser(t, s, "alice")
	publishNew(t, s, "Foo_Bar", "1.0.0", u.ID)
	publishNew(t, s, "foo-bar", "0.9.0", u.ID) // an older version, published later
	_, c := publishNew(t, s, "foo_bar", "2.0.0+build", u.ID)
	publishNew(t, s, "foo_bar_baz", "1.0.0", u.ID)
	vs := mustVersions(t, s, c.ID)
	if err := s.SetYanked(ctx(t), vs[1].ID, true, u.ID); err != nil {
		t.Fatal(err)
	}

	got, err := s.IndexRows(ctx(t), cargo.CanonicalName("foo-bar"))
	if err != nil {
		t.Fatalf("IndexRows: %v", err)
	}
	if got.Name != "Foo_Bar" || len(got.Versions) != len(vs) {
		t.Fatalf("IndexRows: name %q, %d versions; want Foo_Bar, %d", got.Name, len(got.Versions), len(vs))
	}
	for i, r := range got.Versions {
		v := vs[i]
		if r.ID != v.ID || r.Vers != v.Vers || r.Cksum != v.Cksum || !bytes.Equal(r.Entry, v.Entry) || r.Yanked != (i == 1) {
			t.Errorf("row %d: %+v, want version %d %s %s yanked=%v entry %s", i, r, v.ID, v.Vers, v.Cksum, i == 1, v.Entry)
		}
		checkTime(t, fmt.Sprintf("row %d: PublishedAt", i), r.PublishedAt, v.PublishedAt)
	}
	_, err = s.IndexRows(ctx(t), cargo.CanonicalName("foo-ba"))
	wantCode(t, "IndexRows of an unknown crate", err, crated.ENOTFOUND)
}

func (c *checkedStore) IndexRows(ctx context.Context, canon string) (*crated.IndexRows, error) {
	v, err := c.Store.IndexRows(ctx, canon)
	return v, c.check("IndexRows", err)
}

// BenchIndexRows measures the read behind every sparse-index cache miss,
// over 1000 crates of 10 versions each with READMEs of a few KB: IndexRows,
// and for comparison CrateByName and Versions, the two full-row reads it
// replaced.
func BenchIndexRows(b *testing.B, newStore func(testing.TB) crated.Store) {
	s, user := benchStore(b, newStore)
	const crates, versions = 1000, 10
	ids := make([]int64, crates)
	for v := range versions {
		for c := range crates {
			name := fmt.Sprintf("bench%d", c)
			nv, err := s.PublishVersion(b.Context(), benchVersion(ids[c], name, fmt.Sprintf("1.%d.0", v), user))
			if err != nil {
				b.Fatal(err)
			}
			ids[c] = nv.CrateID
		}
	}
	var n atomic.Int64
	b.Run("IndexRows", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.IndexRows(context.Background(), fmt.Sprintf("bench%d", n.Add(1)%crates)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("CrateByNameAndVersions", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c, err := s.CrateByName(context.Background(), fmt.Sprintf("bench%d", n.Add(1)%crates))
				if err == nil {
					_, err = s.Versions(context.Background(), c.ID)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
