package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/crated/crated"
)

// Race runs n calls at once, released together, and returns their errors
// index by index. Backend tests of cross-replica races use it too.
func Race(n int, publish func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = publish(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts successes and checks that every failure is ECONFLICT.
func tally(t *testing.T, errs []error) (wins int) {
	t.Helper()
	for i, err := range errs {
		switch crated.ErrorCode(err) {
		case "":
			wins++
		case crated.ECONFLICT:
		default:
			t.Errorf("publisher %d: %v, want success or ECONFLICT", i, err)
		}
	}
	return wins
}

func testConcurrentDistinctVersions(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	_, c := publishNew(t, s, "busy", "0.1.0", alice.ID)
	const n = 20
	errs := Race(n, func(i int) error {
		_, err := s.PublishVersion(ctx(t), newVersion(c.ID, "busy", fmt.Sprintf("1.%d.0", i), alice.ID))
		return err
	})
	if wins := tally(t, errs); wins != n {
		t.Errorf("%d of %d distinct versions published, want all", wins, n)
	}
	vs := mustVersions(t, s, c.ID)
	if len(vs) != n+1 {
		t.Errorf("Versions has %d entries, want %d", len(vs), n+1)
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.Vers] {
			t.Errorf("version %s listed twice", v.Vers)
		}
		seen[v.Vers] = true
	}
	if got := mustCrate(t, s, "busy").MaxVersion; got != fmt.Sprintf("1.%d.0", n-1) {
		t.Errorf("MaxVersion = %q, want 1.%d.0", got, n-1)
	}
	if _, versions, err := s.CountCrates(ctx(t)); err != nil || versions != n+1 {
		t.Errorf("CountCrates versions = %d, %v, want %d", versions, err, n+1)
	}
}

func testConcurrentSameVersion(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	_, c := publishNew(t, s, "contested", "0.1.0", alice.ID)
	const n = 20
	errs := Race(n, func(i int) error {
		// Half of them differ only in build metadata: the same VersKey.
		vers := "1.0.0"
		if i%2 == 1 {
			vers = fmt.Sprintf("1.0.0+build%d", i)
		}
		_, err := s.PublishVersion(ctx(t), newVersion(c.ID, "contested", vers, alice.ID))
		return err
	})
	if wins := tally(t, errs); wins != 1 {
		t.Errorf("%d publishes of one version succeeded, want exactly 1", wins)
	}
	if vs := mustVersions(t, s, c.ID); len(vs) != 2 {
		t.Errorf("Versions = %v, want 0.1.0 and one 1.0.0", versStrings(vs))
	}
	var publishes int
	for _, e := range mustAudit(t, s) {
		if e.Action == "publish" {
			publishes++
		}
	}
	if publishes != 2 {
		t.Errorf("%d publish audit entries, want 2", publishes)
	}
}

func testConcurrentNewCrate(t *testing.T, s crated.Store) {
	const n = 10
	users := make([]*crated.User, n)
	for i := range users {
		users[i] = mustUser(t, s, fmt.Sprintf("user%02d", i))
	}
	errs := Race(n, func(i int) error {
		// Different spellings of one canonical name.
		name := "new-crate"
		if i%2 == 1 {
			name = "new_crate"
		}
		_, err := s.PublishVersion(ctx(t), newVersion(0, name, fmt.Sprintf("1.0.%d", i), users[i].ID))
		return err
	})
	if wins := tally(t, errs); wins != 1 {
		t.Fatalf("%d creations of one crate succeeded, want exactly 1", wins)
	}
	var winner int
	for i, err := range errs {
		if err == nil {
			winner = i
		}
	}
	crates, versions, err := s.CountCrates(ctx(t))
	if err != nil || crates != 1 || versions != 1 {
		t.Errorf("CountCrates = %d, %d, %v, want 1, 1", crates, versions, err)
	}
	c := mustCrate(t, s, "new_crate")
	if want := fmt.Sprintf("1.0.%d", winner); c.MaxVersion != want {
		t.Errorf("MaxVersion = %q, want the winner's %q", c.MaxVersion, want)
	}
	owners, err := s.Owners(ctx(t), c.ID)
	if err != nil || len(owners) != 1 || owners[0].ID != users[winner].ID {
		t.Errorf("Owners = %v, %v, want only the winner %s", userLogins(owners), err, users[winner].Login)
	}
}
