package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crated/crated"
)

// ReadyCheck is one dependency /readyz looks at.
type ReadyCheck struct {
	// Name is shown in the answer ("metadata_store").
	Name string
	// Check returns nil when the dependency answers.
	Check func(ctx context.Context) error
	// Degrades marks a dependency that only some requests need: when it
	// fails, /readyz still answers 200 and says "degraded", so that a slow
	// object store does not take the index out of the load balancer.
	Degrades bool
}

// readyCheckTimeout bounds each check: a balancer polls every few seconds,
// and an answer that takes longer is as good as none.
const readyCheckTimeout = 2 * time.Second

type readyAnswer struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// handleReady runs every check at once, each with its own deadline, and
// answers 503 when one that every request needs fails.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	checks := s.cfg.Checks
	results := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.Context(), readyCheckTimeout)
			defer cancel()
			results[i] = runCheck(ctx, c.Check)
		}()
	}
	wg.Wait()
	ans := readyAnswer{Status: "ready", Checks: map[string]string{}}
	var failed []string
	for i, c := range checks {
		err := results[i]
		if err == nil {
			ans.Checks[c.Name] = "ok"
			continue
		}
		s.log.WarnContext(r.Context(), "readiness check failed", "check", c.Name, "err", err)
		ans.Checks[c.Name] = "failed"
		if c.Degrades {
			ans.Status = "degraded"
		} else {
			failed = append(failed, c.Name)
		}
	}
	if len(failed) > 0 {
		return crated.Errorf(crated.EUNAVAILABLE, "not ready: %s failed or did not answer within %s (the cause is in the log)", strings.Join(failed, ", "), readyCheckTimeout)
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// runCheck returns when check does or when ctx ends, whichever is first: a
// check that ignores its context must not hold /readyz.
func runCheck(ctx context.Context, check func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- check(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
