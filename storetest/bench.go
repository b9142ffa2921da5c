package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crated/crated"
)

// Bench measures PublishVersion, the write path the registry must sustain
// at 200 publishes/s or more, the same way on every backend so that their
// numbers compare:
//
//   - NewCrate: every publish creates a crate (4 statements);
//   - NewVersion: publishes into 100 existing crates in turn (3 statements);
//   - Parallel: NewVersion from GOMAXPROCS goroutines at once, to show the
//     cost of queueing on the store's writers.
func Bench(b *testing.B, newStore func(testing.TB) crated.Store) {
	b.Run("NewCrate", func(b *testing.B) {
		s, user := benchStore(b, newStore)
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if _, err := s.PublishVersion(b.Context(), benchVersion(0, fmt.Sprintf("crate%d", i), "1.0.0", user)); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
	b.Run("NewVersion", func(b *testing.B) {
		s, user := benchStore(b, newStore)
		crates := benchCrates(b, s, user, 100)
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			nv := benchVersion(crates[i%len(crates)], fmt.Sprintf("bench%d", i%len(crates)), fmt.Sprintf("1.%d.0", i/len(crates)+1), user)
			if _, err := s.PublishVersion(b.Context(), nv); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
	b.Run("Parallel", func(b *testing.B) {
		s, user := benchStore(b, newStore)
		crates := benchCrates(b, s, user, 100)
		var n atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(n.Add(1))
				nv := benchVersion(crates[i%len(crates)], fmt.Sprintf("bench%d", i%len(crates)), fmt.Sprintf("1.%d.0", i/len(crates)+1), user)
				if _, err := s.PublishVersion(context.Background(), nv); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b)
	})
}

func reportRate(b *testing.B) {
	if b.Elapsed() > 0 {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
	}
}

func benchStore(b *testing.B, newStore func(testing.TB) crated.Store) (crated.Store, int64) {
	s := newStore(b)
	u := &crated.User{Login: "bench"}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	return s, u.ID
}

// benchCrates creates n crates and returns their ids.
func benchCrates(b *testing.B, s crated.Store, user int64, n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		v, err := s.PublishVersion(b.Context(), benchVersion(0, fmt.Sprintf("bench%d", i), "1.0.0", user))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = v.CrateID
	}
	return ids
}

// benchVersion is a publish of realistic size: an index line of a few
// hundred bytes, a README of a few kilobytes.
func benchVersion(crateID int64, name, vers string, user int64) *crated.NewVersion {
	sum := sha256.Sum256([]byte(name + vers))
	cksum := hex.EncodeToString(sum[:])
	entry := fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[{"name":"serde","req":"^1.0","features":["derive"],"optional":false,"default_features":true,"target":null,"kind":"normal"}],"cksum":%q,"features":{"default":["std"],"std":[]},"yanked":false}`, name, vers, cksum)
	readme := make([]byte, 4096)
	for i := range readme {
		readme[i] = 'a' + byte(i%26)
	}
	return &crated.NewVersion{
		CrateID: crateID,
		Crate: crated.Crate{
			Name: name, CanonName: name,
			Description: "A benchmark crate with a description of ordinary length",
			Repository:  "https://git.example.com/" + name,
			Keywords:    []string{"bench", "test"},
			Categories:  []string{"development-tools"},
		},
		Version: crated.Version{
			Vers: vers, VersKey: vers, SortKey: vers, Cksum: cksum, Size: 12345,
			Entry: []byte(entry), PublishedBy: user, PublishedAt: time.Now(),
			Readme: string(readme), Manifest: []byte(`{"license":"MIT OR Apache-2.0","authors":["Bench <bench@example.com>"]}`),
		},
		OwnerID: user,
	}
}
