package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/crated/crated"
)

// blobReferencer is the capability `crated gc` and `crated backup` need
// from a metadata store: the blob keys its versions refer to.
type blobReferencer interface {
	ReferencedBlobs(ctx context.Context, fn func(key string) error) error
}

// RunReferencedBlobs is the contract of ReferencedBlobs, which `crated gc`
// relies on to never delete a file a version needs:
//
//   - an empty store reports nothing;
//   - every version's Cksum is reported, yanked versions included, each key
//     once even when several versions share it;
//   - an error returned by fn stops the listing and is returned (wrapped).
//
// newStore must return a new, empty store that has the method.
func RunReferencedBlobs(t *testing.T, newStore func(t *testing.T) crated.Store) {
	list := func(t *testing.T, s blobReferencer) []string {
		t.Helper()
		var keys []string
		if err := s.ReferencedBlobs(t.Context(), func(k string) error { keys = append(keys, k); return nil }); err != nil {
			t.Fatalf("ReferencedBlobs: %v", err)
		}
		slices.Sort(keys)
		return keys
	}
	open := func(t *testing.T) (crated.Store, blobReferencer) {
		s := fresh(t, newStore)
		return s, capability[blobReferencer](t, s)
	}

	t.Run("empty", func(t *testing.T) {
		_, r := open(t)
		if keys := list(t, r); len(keys) != 0 {
			t.Errorf("empty store: %v", keys)
		}
	})

	t.Run("every version once", func(t *testing.T) {
		s, r := open(t)
		u := mustUser(t, s, "alice")
		a1, _ := publishNew(t, s, "alpha", "0.1.0", u.ID)
		a2, alpha := publishNew(t, s, "alpha", "0.2.0", u.ID)
		b1, _ := publishNew(t, s, "beta", "1.0.0", u.ID)
		if err := s.SetYanked(t.Context(), a1.ID, true, u.ID); err != nil {
			t.Fatal(err)
		}
		// A version whose file is byte for byte another's: one key.
		nv := newVersion(alpha.ID, "alpha", "0.3.0", u.ID)
		nv.Version.Cksum = b1.Cksum
		mustPublish(t, s, nv)

		want := []string{a1.Cksum, a2.Cksum, b1.Cksum}
		slices.Sort(want)
		if got := list(t, r); !slices.Equal(got, want) {
			t.Errorf("ReferencedBlobs = %v, want %v (the yanked version's too, each once)", got, want)
		}
	})

	t.Run("fn error stops", func(t *testing.T) {
		s, r := open(t)
		u := mustUser(t, s, "alice")
		publishNew(t, s, "alpha", "0.1.0", u.ID)
		publishNew(t, s, "alpha", "0.2.0", u.ID)
		stop := errors.New("stop")
		calls := 0
		err := r.ReferencedBlobs(t.Context(), func(string) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("ReferencedBlobs with a failing fn: %v after %d calls, want the error after 1", err, calls)
		}
	})
}
