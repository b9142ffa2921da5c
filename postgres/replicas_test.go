package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/postgres"
	"github.com/crated/crated/storetest"
)

func createUser(t testing.TB, s crated.Store, login string) *crated.User {
	t.Helper()
	u := &crated.User{Login: login, Name: login}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", login, err)
	}
	return u
}

// newVersion is a publish of name@vers (X.Y.Z[-pre][+build]) by user into
// crateID, 0 to create the crate.
func newVersion(crateID int64, name, vers string, user int64) *crated.NewVersion {
	key, _, _ := strings.Cut(vers, "+")
	sum := sha256.Sum256([]byte(name + "@" + vers))
	canon := cargo.CanonicalName(name)
	var sortKey strings.Builder
	for _, part := range strings.Split(key, ".") {
		n, _ := strconv.Atoi(part)
		fmt.Fprintf(&sortKey, "%010d.", n)
	}
	return &crated.NewVersion{
		CrateID: crateID,
		Crate:   crated.Crate{Name: name, CanonName: canon, Description: "The " + name + " crate"},
		Version: crated.Version{
			Vers: vers, VersKey: key, SortKey: sortKey.String(), Cksum: hex.EncodeToString(sum[:]),
			Entry: fmt.Appendf(nil, `{"name":%q,"vers":%q}`, name, vers), PublishedBy: user,
		},
		OwnerID: user,
	}
}

// wins counts the successes and fails the test for errors other than
// ECONFLICT.
func wins(t *testing.T, errs []error) int {
	t.Helper()
	n := 0
	for i, err := range errs {
		switch crated.ErrorCode(err) {
		case "":
			n++
		case crated.ECONFLICT:
		default:
			t.Errorf("call %d: %v, want success or ECONFLICT", i, err)
		}
	}
	return n
}

// TestReplicasRace publishes at once through two stores with two pools on
// one database, as two replicas do: the constraints and row locks decide.
func TestReplicasRace(t *testing.T) {
	dbURL := freshDatabase(t)
	replicas := []*postgres.Store{open(t, dbURL), open(t, dbURL)}
	ctx := t.Context()
	alice := createUser(t, replicas[0], "alice")
	const n = 20

	t.Run("DistinctVersions", func(t *testing.T) {
		v, err := replicas[0].PublishVersion(ctx, newVersion(0, "busy", "0.1.0", alice.ID))
		if err != nil {
			t.Fatal(err)
		}
		errs := storetest.Race(n, func(i int) error {
			_, err := replicas[i%2].PublishVersion(ctx, newVersion(v.CrateID, "busy", fmt.Sprintf("1.%d.0", i), alice.ID))
			return err
		})
		if w := wins(t, errs); w != n {
			t.Errorf("%d of %d distinct versions published, want all", w, n)
		}
		vs, err := replicas[1].Versions(ctx, v.CrateID)
		if err != nil || len(vs) != n+1 {
			t.Errorf("Versions: %d, %v, want %d", len(vs), err, n+1)
		}
		// Every publish saw the versions committed before it.
		c, err := replicas[1].CrateByName(ctx, "busy")
		if err != nil || c.MaxVersion != fmt.Sprintf("1.%d.0", n-1) {
			t.Errorf("MaxVersion = %q, %v, want 1.%d.0", c.MaxVersion, err, n-1)
		}
	})

	t.Run("SameVersion", func(t *testing.T) {
		v, err := replicas[0].PublishVersion(ctx, newVersion(0, "contested", "0.1.0", alice.ID))
		if err != nil {
			t.Fatal(err)
		}
		errs := storetest.Race(n, func(i int) error {
			vers := "1.0.0"
			if i%4 >= 2 {
				vers = fmt.Sprintf("1.0.0+build%d", i) // the same version key
			}
			_, err := replicas[i%2].PublishVersion(ctx, newVersion(v.CrateID, "contested", vers, alice.ID))
			return err
		})
		if w := wins(t, errs); w != 1 {
			t.Errorf("%d publishes of one version succeeded, want exactly 1", w)
		}
		if vs, err := replicas[0].Versions(ctx, v.CrateID); err != nil || len(vs) != 2 {
			t.Errorf("Versions: %d, %v, want 2", len(vs), err)
		}
	})

	// Derived values stay right when two replicas change one crate at once:
	// each transaction works on the crate's locked row.
	const rounds = 10
	t.Run("YankWhilePublishing", func(t *testing.T) {
		for r := range rounds {
			name := fmt.Sprintf("yanky%d", r)
			v1, err := replicas[0].PublishVersion(ctx, newVersion(0, name, "1.0.0", alice.ID))
			if err != nil {
				t.Fatal(err)
			}
			v2, err := replicas[0].PublishVersion(ctx, newVersion(v1.CrateID, name, "2.0.0", alice.ID))
			if err != nil {
				t.Fatal(err)
			}
			errs := storetest.Race(2, func(i int) error {
				if i == 0 {
					return replicas[0].SetYanked(ctx, v2.ID, true, alice.ID)
				}
				_, err := replicas[1].PublishVersion(ctx, newVersion(v1.CrateID, name, "1.5.0", alice.ID))
				return err
			})
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("yank, publish: %v, %v", errs[0], errs[1])
			}
			if c, err := replicas[1].CrateByName(ctx, name); err != nil || c.MaxVersion != "1.5.0" {
				t.Errorf("round %d: MaxVersion = %q, %v, want 1.5.0", r, c.MaxVersion, err)
			}
		}
	})

	t.Run("RemoveOwners", func(t *testing.T) {
		bob := createUser(t, replicas[0], "bob")
		for r := range rounds {
			v, err := replicas[0].PublishVersion(ctx, newVersion(0, fmt.Sprintf("owned%d", r), "1.0.0", alice.ID))
			if err != nil {
				t.Fatal(err)
			}
			if err := replicas[0].AddOwners(ctx, v.CrateID, []int64{bob.ID}, alice.ID); err != nil {
				t.Fatal(err)
			}
			// Each replica removes a different owner: only one may succeed.
			errs := storetest.Race(2, func(i int) error {
				return replicas[i].RemoveOwners(ctx, v.CrateID, []int64{[]int64{alice.ID, bob.ID}[i]}, alice.ID)
			})
			ok := 0
			for i, err := range errs {
				switch crated.ErrorCode(err) {
				case "":
					ok++
				case crated.EINVALID:
				default:
					t.Errorf("round %d: RemoveOwners %d: %v, want success or EINVALID", r, i, err)
				}
			}
			owners, err := replicas[1].Owners(ctx, v.CrateID)
			if ok != 1 || err != nil || len(owners) != 1 {
				t.Errorf("round %d: %d removals succeeded, %d owners left (%v), want 1 and 1", r, ok, len(owners), err)
			}
		}
	})

	t.Run("NewCrate", func(t *testing.T) {
		errs := storetest.Race(n, func(i int) error {
			name := []string{"new-crate", "new_crate", "New-Crate"}[i%3]
			_, err := replicas[i%2].PublishVersion(ctx, newVersion(0, name, fmt.Sprintf("1.0.%d", i), alice.ID))
			return err
		})
		if w := wins(t, errs); w != 1 {
			t.Errorf("%d creations of one crate succeeded, want exactly 1", w)
		}
		for i, err := range errs {
			if err != nil && !strings.Contains(crated.ErrorMessage(err), "already exists") {
				t.Errorf("call %d: message %q does not say that the crate exists", i, crated.ErrorMessage(err))
			}
		}
	})
}

// TestConcurrentMigrate opens one fresh database from several stores at
// once, as replicas starting together do.
func TestConcurrentMigrate(t *testing.T) {
	dbURL := freshDatabase(t)
	const n = 4
	stores := make([]*postgres.Store, n)
	errs := storetest.Race(n, func(i int) (err error) {
		stores[i], err = postgres.Open(t.Context(), dbURL)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}

	files, err := os.ReadDir("migration")
	if err != nil {
		t.Fatal(err)
	}
	admin := adminConn(t, dbURL)
	var rows, names int
	if err := admin.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT name) FROM migrations`).Scan(&rows, &names); err != nil {
		t.Fatal(err)
	}
	if rows != len(files) || names != len(files) {
		t.Errorf("migrations table has %d rows, %d names, want %d: each migration applied once", rows, names, len(files))
	}
	// Migrating again is a no-op.
	if err := stores[0].Migrate(t.Context()); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	// All of them work on the one schema.
	u := createUser(t, stores[1], "alice")
	if got, err := stores[n-1].UserByLogin(t.Context(), "alice"); err != nil || got.ID != u.ID {
		t.Errorf("UserByLogin on another store = %v, %v", got, err)
	}
}
