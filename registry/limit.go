package registry

import (
	"sync"
	"time"
)

// failureLimiter slows password guessing: after maxFailures failed logins
// for one user name within window, further attempts for that name are
// refused until the window has passed. It lives in memory per replica,
// which bounds guessing to replicas x maxFailures per window.
type failureLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	maxFailures   = 10
	failureWindow = 15 * time.Minute
)

// blocked reports whether name is locked out at now, and until when.
func (l *failureLimiter) blocked(name string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.prune(name, now)
	if len(recent) < maxFailures {
		return false, time.Time{}
	}
	return true, recent[0].Add(failureWindow)
}

func (l *failureLimiter) fail(name string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil {
		l.failures = map[string][]time.Time{}
	}
	// Bound memory under a spray of random names: forget everything old.
	if len(l.failures) > 100000 {
		for n := range l.failures {
			l.prune(n, now)
		}
	}
	l.failures[name] = append(l.prune(name, now), now)
}

func (l *failureLimiter) succeed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, name)
}

// prune drops failures older than the window; l.mu is held.
func (l *failureLimiter) prune(name string, now time.Time) []time.Time {
	fs := l.failures[name]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) > failureWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.failures, name)
		return nil
	}
	l.failures[name] = fs
	return fs
}
