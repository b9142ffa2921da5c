package registry

import (
	"context"
	"runtime"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// Defaults of the password limits (registry.Config, [server_config]).
const (
	// DefaultLoginMaxFailures and DefaultLoginFailureWindow: at most 10
	// password guesses per user name every 15 minutes, across replicas.
	DefaultLoginMaxFailures   = 10
	DefaultLoginFailureWindow = 15 * time.Minute
	// DefaultPasswordHashWait is how long a password check queues for a
	// hashing slot before the server answers 503.
	DefaultPasswordHashWait = 2 * time.Second
)

// DefaultPasswordHashConcurrency is the number of argon2id hashes run at
// once when the configuration leaves it at 0: one per CPU the process may use
// (GOMAXPROCS, which follows a container's CPU limit), since each hash is a
// CPU-bound computation over 19 MiB and more at once only adds memory.
func DefaultPasswordHashConcurrency() int { return runtime.GOMAXPROCS(0) }

// hashSlots bounds the password hashes (argon2id, 19 MiB each) that run at
// once. Every hash goes through it: logins of known and unknown users alike
// (so that the queue does not tell them apart), registrations and password
// changes. Without it, 100 concurrent anonymous logins took the process from
// 45 MiB to 1.9 GB.
type hashSlots struct {
	slots chan struct{}
	wait  time.Duration
}

func newHashSlots(n int, wait time.Duration) *hashSlots {
	return &hashSlots{slots: make(chan struct{}, n), wait: wait}
}

// busy is the answer when no slot frees up within the wait: 503 with a
// Retry-After, which cargo honours.
func (h *hashSlots) busy() error {
	return crated.Retry(crated.EUNAVAILABLE, max(h.wait, time.Second),
		"the server is busy checking other passwords; try again in a moment")
}

// do runs fn in a slot, waiting at most h.wait for one.
func (h *hashSlots) do(ctx context.Context, fn func()) error {
	select {
	case h.slots <- struct{}{}:
	default:
		t := time.NewTimer(h.wait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-t.C:
			return h.busy()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-h.slots }()
	fn()
	return nil
}

// hashPassword is HashPassword in a hashing slot.
func (s *Service) hashPassword(ctx context.Context, password string) (hash string, err error) {
	err = s.hashes.do(ctx, func() { hash = HashPassword(password) })
	return hash, err
}

// attemptKey is the key of a user name's failed-login count: its canonical
// form, so that `Alice` and `alice` (one login since the store compares
// canonically) share one count.
func attemptKey(name string) string { return "password:" + cargo.CanonicalName(name) }

// reserveAttempt takes one of the name's password guesses of the window
// before the password is checked, so that racing attempts cannot evaluate
// more guesses than the limit, however they arrive and on whichever replica
// (the count lives in the store). The guess counts as a failure until a
// success clears the name.
func (s *Service) reserveAttempt(ctx context.Context, name string) error {
	ok, until, err := s.store.ReserveLoginAttempt(ctx, attemptKey(name), s.cfg.Now(), s.cfg.LoginFailureWindow, s.cfg.LoginMaxFailures)
	if err != nil {
		return err
	}
	if !ok {
		return crated.Retry(crated.ERATELIMIT, max(until.Sub(s.cfg.Now()), time.Second),
			"too many failed logins for `%s`; try again after %s", name, until.UTC().Format(time.RFC3339))
	}
	return nil
}
