package gitindex

import (
	"context"
	"sync"
	"time"
)

// queue collects the crates that changed since the last sync.
type queue struct {
	mu      sync.Mutex
	pending map[string]bool
	full    bool
	wake    chan struct{} // holds one token while work is pending
}

func newQueue() queue {
	return queue{pending: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (q *queue) add(canon string) {
	q.mu.Lock()
	if canon == "" {
		q.full = true
	} else {
		q.pending[canon] = true
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take empties the queue. full reports a full rebuild; otherwise canons
// lists the changed crates (empty when nothing is pending).
func (q *queue) take() (canons []string, full bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	full = q.full
	if !full {
		for c := range q.pending {
			canons = append(canons, c)
		}
	}
	q.pending, q.full = map[string]bool{}, false
	return canons, full
}

// Changed queues a crate, by canonical name, for the next background sync
// made by Run. "" asks for a full rebuild (use it when change
// notifications may have been lost). It never blocks.
func (ix *Index) Changed(canon string) { ix.queue.add(canon) }

// Run syncs in the background until ctx ends. It starts with a full
// rebuild, which catches up with anything that changed while no Run was
// active, then syncs the crates passed to Changed, at most one commit per
// Coalesce interval. A failed sync is retried with a growing delay, its
// crates kept queued. Run returns nil when ctx ends.
func (ix *Index) Run(ctx context.Context) error {
	ix.queue.add("")
	backoff := ix.cfg.Backoff
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ix.queue.wake:
		}
		canons, full := ix.queue.take()
		if !full && len(canons) == 0 {
			continue
		}
		var err error
		if full {
			err = ix.Sync(ctx, nil)
		} else {
			err = ix.Sync(ctx, canons)
		}
		wait := ix.cfg.Coalesce
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			ix.log.Error("git index: sync failed; retrying", "err", err, "retry_in", backoff.String())
			// Requeue: the store still has the changes, a later sync
			// renders them from there.
			if full {
				ix.queue.add("")
			}
			for _, c := range canons {
				ix.queue.add(c)
			}
			wait = backoff
			backoff = min(backoff*2, maxRunBackoff)
		} else {
			backoff = ix.cfg.Backoff
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
