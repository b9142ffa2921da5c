package postgres_test

import (
	"testing"
	"time"
)

// TestLock shows that the git-index lock excludes a second replica until the
// first unlocks.
func TestLock(t *testing.T) {
	dbURL := freshDatabase(t)
	a, b := open(t, dbURL), open(t, dbURL)
	unlockA, err := a.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		unlock, err := b.Lock(t.Context())
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- unlock
	}()
	select {
	case <-got:
		t.Fatal("a second replica took the lock while the first held it")
	case <-time.After(200 * time.Millisecond):
	}
	unlockA()
	select {
	case unlockB, ok := <-got:
		if ok {
			unlockB()
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lock was not handed over after unlock")
	}
}
