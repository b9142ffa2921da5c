package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/postgres"
)

// wait is how long a test waits for something that should happen at once: a
// bound against hanging, not a timing assertion.
const wait = 30 * time.Second

// change is one notification as the listener saw it: the crate's name and
// its MaxVersion read when the notification arrived ("-" for no crate).
type change struct{ canon, max string }

// listener runs Listen on a store of its own and reports what it hears.
type listener struct {
	store     *postgres.Store
	changes   chan change
	listening chan struct{}
	cancel    context.CancelFunc
	done      chan error
}

// startListener starts Listen on a new store, after applying the options to
// it, and waits until it listens.
func startListener(t *testing.T, dbURL string, options ...func(*postgres.Store)) *listener {
	t.Helper()
	l := &listener{
		store:     open(t, dbURL),
		changes:   make(chan change, 100),
		listening: make(chan struct{}, 10),
		done:      make(chan error, 1),
	}
	postgres.SetListening(l.store, func() { l.listening <- struct{}{} })
	for _, o := range options {
		o(l.store)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() {
		l.done <- l.store.Listen(ctx, func(canon string) {
			// Read the crate on the listener's own connections while the
			// notification is being delivered: the change must be visible.
			ch := change{canon: canon, max: "-"}
			if c, err := l.store.CrateByName(ctx, canon); err == nil {
				ch.max = c.MaxVersion
			}
			l.changes <- ch
		})
	}()
	t.Cleanup(func() {
		l.cancel()
		select {
		case err := <-l.done:
			if err != nil {
				t.Errorf("Listen returned %v after its context ended, want nil", err)
			}
		case <-time.After(wait):
			t.Errorf("Listen did not return after its context ended")
		}
	})
	l.waitListening(t)
	// The first LISTEN drops caches: changes before it were never notified.
	select {
	case ch := <-l.changes:
		if ch.canon != "" {
			t.Fatalf("first call of fn is %+v, want the drop-everything call", ch)
		}
	case <-time.After(wait):
		t.Fatal("Listen did not drop caches once it first listened")
	}
	return l
}

func (l *listener) waitListening(t *testing.T) {
	t.Helper()
	select {
	case <-l.listening:
	case <-time.After(wait):
		t.Fatal("Listen did not start listening")
	}
}

func (l *listener) next(t *testing.T) change {
	t.Helper()
	select {
	case ch := <-l.changes:
		return ch
	case <-time.After(wait):
		t.Fatal("no notification arrived")
		return change{}
	}
}

// until collects notifications up to the one about canon, which it leaves
// out.
func (l *listener) until(t *testing.T, canon string) []change {
	t.Helper()
	var got []change
	for {
		ch := l.next(t)
		if ch.canon == canon {
			return got
		}
		got = append(got, ch)
	}
}

func TestListen(t *testing.T) {
	dbURL := freshDatabase(t)
	l := startListener(t, dbURL)
	// Another store on the same database: another replica.
	w := open(t, dbURL)
	ctx := t.Context()

	alice := createUser(t, w, "alice")
	bob := createUser(t, w, "bob")
	v1, err := w.PublishVersion(ctx, newVersion(0, "Alpha-One", "1.0.0", alice.ID))
	if err != nil {
		t.Fatal(err)
	}
	crateID := v1.CrateID
	var v2 *crated.Version

	steps := []struct {
		name string
		op   func() error
		code string   // error code of op
		want []change // what the listener hears, in order
	}{
		{"PublishNewCrate", func() error { return nil }, "", []change{{"alpha_one", "1.0.0"}}},
		{"PublishVersion", func() (err error) {
			v2, err = w.PublishVersion(ctx, newVersion(crateID, "Alpha-One", "1.1.0", bob.ID))
			return err
		}, "", []change{{"alpha_one", "1.1.0"}}},
		{"Yank", func() error { return w.SetYanked(ctx, v2.ID, true, alice.ID) }, "", []change{{"alpha_one", "1.0.0"}}},
		{"Unyank", func() error { return w.SetYanked(ctx, v2.ID, false, alice.ID) }, "", []change{{"alpha_one", "1.1.0"}}},
		{"AddOwner", func() error { return w.AddOwners(ctx, crateID, []int64{bob.ID}, alice.ID) }, "",
			[]change{{"alpha_one", "1.1.0"}}},
		{"AddExistingOwner", func() error { return w.AddOwners(ctx, crateID, []int64{bob.ID}, alice.ID) }, "", nil},
		// Rolled back after its pg_notify: nothing is delivered.
		{"RemoveEveryOwner", func() error { return w.RemoveOwners(ctx, crateID, []int64{alice.ID, bob.ID}, alice.ID) },
			crated.EINVALID, nil},
		{"DuplicateVersion", func() error {
			_, err := w.PublishVersion(ctx, newVersion(crateID, "Alpha-One", "1.1.0", bob.ID))
			return err
		}, crated.ECONFLICT, nil},
		{"CrateNameTaken", func() error {
			_, err := w.PublishVersion(ctx, newVersion(0, "alpha_one", "9.0.0", bob.ID))
			return err
		}, crated.ECONFLICT, nil},
		{"RemoveOwner", func() error { return w.RemoveOwners(ctx, crateID, []int64{bob.ID}, alice.ID) }, "",
			[]change{{"alpha_one", "1.1.0"}}},
		{"NotCrateChanges", func() error {
			if _, err := w.ReplaceToken(ctx, &crated.Token{UserID: alice.ID, Hash: "0123456789abcdef"}); err != nil {
				return err
			}
			return w.AddDownloads(ctx, map[int64]int64{v1.ID: 5})
		}, "", nil},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.op(); crated.ErrorCode(err) != st.code {
				t.Fatalf("error %v, want code %q", err, st.code)
			}
			// A marker crate, published after the step, closes the list of
			// what the step sent: notifications arrive in commit order.
			marker := fmt.Sprintf("marker%d", i)
			if _, err := w.PublishVersion(ctx, newVersion(0, marker, "1.0.0", alice.ID)); err != nil {
				t.Fatal(err)
			}
			if got := l.until(t, marker); !slices.Equal(got, st.want) {
				t.Errorf("notifications %v, want %v", got, st.want)
			}
		})
	}
}

func TestListenReconnects(t *testing.T) {
	dbURL := freshDatabase(t)
	l := startListener(t, dbURL)
	w := open(t, dbURL)
	alice := createUser(t, w, "alice")

	// Cut the listener's connection from the server side.
	admin := adminConn(t, dbURL)
	var killed int
	if err := admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'crated-listener'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listener connections, want 1", killed)
	}
	l.waitListening(t)
	// Once listening again, Listen says that it may have missed changes.
	if ch := l.next(t); ch.canon != "" {
		t.Fatalf("first notification after reconnecting = %q, want \"\" (drop every cache)", ch.canon)
	}
	if _, err := w.PublishVersion(t.Context(), newVersion(0, "after", "1.0.0", alice.ID)); err != nil {
		t.Fatal(err)
	}
	if ch := l.next(t); ch != (change{"after", "1.0.0"}) {
		t.Errorf("notification after reconnecting = %v, want {after 1.0.0}", ch)
	}
}

// TestListenIdleCheck makes Listen check its connection between
// notifications all the time: the checks must not lose the connection nor a
// notification.
func TestListenIdleCheck(t *testing.T) {
	dbURL := freshDatabase(t)
	l := startListener(t, dbURL, func(s *postgres.Store) { postgres.SetIdleCheck(s, time.Millisecond) })
	w := open(t, dbURL)
	alice := createUser(t, w, "alice")

	// Wait until the listener's connection has run a liveness check (pgx's
	// Ping sends "-- ping").
	admin := adminConn(t, dbURL)
	deadline := time.Now().Add(wait)
	for {
		var pinged bool
		if err := admin.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'crated-listener' AND query = '-- ping')`).
			Scan(&pinged); err != nil {
			t.Fatal(err)
		}
		if pinged {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener never checked its connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 5 {
		name := fmt.Sprintf("quiet%d", i)
		if _, err := w.PublishVersion(t.Context(), newVersion(0, name, "1.0.0", alice.ID)); err != nil {
			t.Fatal(err)
		}
		if ch := l.next(t); ch != (change{name, "1.0.0"}) {
			t.Fatalf("notification %v, want {%s 1.0.0} (and no reconnection)", ch, name)
		}
	}
}
