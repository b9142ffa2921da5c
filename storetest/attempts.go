package storetest

import (
	"testing"
	"time"

	"github.com/crated/crated"
)

func testLoginAttempts(t *testing.T, s crated.Store) {
	const max, window = 3, 15 * time.Minute
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	reserve := func(key string, at time.Time) (bool, time.Time) {
		t.Helper()
		ok, retry, err := s.ReserveLoginAttempt(ctx(t), key, at, window, max)
		if err != nil {
			t.Fatalf("ReserveLoginAttempt(%s, %s): %v", key, at, err)
		}
		return ok, retry
	}
	for i := range max {
		if ok, _ := reserve("alice", t0.Add(time.Duration(i)*time.Minute)); !ok {
			t.Fatalf("attempt %d refused, want %d granted", i+1, max)
		}
	}
	ok, retry := reserve("alice", t0.Add(5*time.Minute))
	if ok {
		t.Fatalf("attempt %d granted, want at most %d per window", max+1, max)
	}
	if !retry.Equal(t0.Add(window)) {
		t.Errorf("refusal retryAt = %s, want %s (the oldest attempt plus the window)", retry, t0.Add(window))
	}
	// The refused attempt was not recorded, and keys are independent.
	if ok, _ := reserve("bob", t0.Add(5*time.Minute)); !ok {
		t.Error("another key was refused")
	}
	// Once the oldest attempt leaves the window one more is granted.
	if ok, _ := reserve("alice", t0.Add(window+time.Second)); !ok {
		t.Error("attempt after the oldest expired refused")
	}
	if ok, _ := reserve("alice", t0.Add(window+2*time.Second)); ok {
		t.Error("attempt granted while the window is full again")
	}
	// A success clears the key.
	if err := s.ClearLoginAttempts(ctx(t), "alice"); err != nil {
		t.Fatalf("ClearLoginAttempts: %v", err)
	}
	for i := range max {
		if ok, _ := reserve("alice", t0.Add(window+3*time.Second)); !ok {
			t.Fatalf("attempt %d after ClearLoginAttempts refused", i+1)
		}
	}
	if err := s.ClearLoginAttempts(ctx(t), "nobody"); err != nil {
		t.Errorf("ClearLoginAttempts(unknown key): %v", err)
	}
	for _, bad := range []struct {
		window time.Duration
		max    int
	}{{0, 1}, {time.Minute, 0}, {-time.Minute, 5}} {
		_, _, err := s.ReserveLoginAttempt(ctx(t), "carol", t0, bad.window, bad.max)
		wantCode(t, "ReserveLoginAttempt(bad limits)", err, crated.EINVALID)
	}
}

// testConcurrentLoginAttempts: racing attempts on one key never get more
// than max grants, the defect of a check-then-record limiter.
func testConcurrentLoginAttempts(t *testing.T, s crated.Store) {
	const n, max = 40, 10
	if granted := RaceLoginAttempts(t, []crated.Store{s}, n, max); granted != max {
		t.Errorf("%d of %d racing attempts granted, want exactly %d", granted, n, max)
	}
}

// RaceLoginAttempts makes n racing ReserveLoginAttempt calls for one name
// with a limit of max, spread over stores (replicas of one database), and
// returns how many were granted. Errors other than a refusal fail t.
func RaceLoginAttempts(t *testing.T, stores []crated.Store, n, max int) (granted int) {
	t.Helper()
	now := time.Now()
	errs := Race(n, func(i int) error {
		ok, _, err := stores[i%len(stores)].ReserveLoginAttempt(ctx(t), "alice", now, time.Hour, max)
		if err == nil && !ok {
			return crated.Errorf(crated.ERATELIMIT, "refused")
		}
		return err
	})
	for i, err := range errs {
		switch crated.ErrorCode(err) {
		case "":
			granted++
		case crated.ERATELIMIT:
		default:
			t.Errorf("attempt %d: %v", i, err)
		}
	}
	return granted
}
