package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
)

// TestListenSeesOtherProcess: a delete through one Store (another process,
// as `crated crate delete` is) reaches Listen on another Store on the same
// file, and only changes after Listen started are reported.
func TestListenSeesOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crated.db")
	server, cli := mustOpen(t, path), mustOpen(t, path)
	u := &crated.User{Login: "alice"}
	if err := cli.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	var vs []*crated.Version
	for i, name := range []string{"early", "early"} {
		var crateID int64
		if i%2 == 1 {
			crateID = vs[i-1].CrateID
		}
		v, err := publish(t, cli, crateID, name, []string{"1.0.0", "1.1.0"}[i%2], u.ID)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	// A change before Listen starts is not reported.
	if _, err := cli.DeleteVersion(t.Context(), vs[1].ID, crated.OperatorID, ""); err != nil {
		t.Fatal(err)
	}

	server.PollInterval = 10 * time.Millisecond
	got := make(chan string, 200) // more than the deletes: fn never blocks
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- server.Listen(ctx, func(canon string) { got <- canon }) }()
	// Listen reads its starting point as it starts, at a moment the test
	// cannot see: delete crates one after another until it reports one.
	// Any of them may come first; the change before Listen never does.
	var canon string
	for i := 0; canon == ""; i++ {
		if i == 100 {
			t.Fatal("Listen reported none of 100 deletes")
		}
		v, err := publish(t, cli, 0, fmt.Sprintf("Late-%d", i), "1.0.0", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.DeleteCrate(t.Context(), v.CrateID, crated.OperatorID, ""); err != nil {
			t.Fatal(err)
		}
		select {
		case canon = <-got:
		case <-time.After(500 * time.Millisecond):
		}
	}
	if !strings.HasPrefix(canon, "late_") {
		t.Errorf("Listen reported %q, want a late_N crate", canon)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Listen returned %v after its context ended", err)
	}
	close(got)
	for c := range got {
		if !strings.HasPrefix(c, "late_") {
			t.Errorf("Listen also reported %q", c)
		}
	}
}
