package postgres

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Listen settings.
const (
	// The wait before reconnecting doubles from minBackoff up to
	// maxBackoff while the database stays unreachable.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
	// defaultIdleCheck is how long Listen waits for a notification before
	// it checks that the connection is still alive: a server that vanished
	// without closing the TCP connection would otherwise go unnoticed.
	defaultIdleCheck = 30 * time.Second
)

// Listen calls fn with the canonical name of every crate that a transaction
// of any replica changed, as soon as that transaction commits, in commit
// order. It holds one connection of its own, outside the pool, that LISTENs
// on the crated_changes channel. When that connection breaks, Listen
// reconnects with exponential backoff and, once it listens again, calls
// fn("") once: notifications sent meanwhile are lost, so caches must drop
// everything; it does the same once the first LISTEN is in place. fn runs on Listen's goroutine and should be quick. Listen
// returns nil when ctx ends; it gives up on nothing else.
func (s *Store) Listen(ctx context.Context, fn func(canon string)) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	// Changes committed before the first LISTEN took effect were never
	// notified, and the replica may already have cached files by then: so
	// the first connection drops caches too.
	missed := true
	first := true
	backoff := minBackoff
	for {
		conn, err := s.listenConn(ctx)
		if err == nil {
			if missed {
				if !first {
					log.Info("postgres: listening for crate changes again; caches are dropped")
				}
				fn("")
				missed, first = false, false
			}
			backoff = minBackoff
			err = s.receive(ctx, conn, fn)
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(closeCtx)
			cancel()
		}
		if ctx.Err() != nil {
			return nil
		}
		missed = true
		// Full jitter: replicas that lost the database together do not
		// all come back in the same instant.
		wait := time.Duration(rand.Int64N(int64(backoff))) + minBackoff
		backoff = min(2*backoff, maxBackoff)
		log.Warn("postgres: no connection for crate change notifications; retrying", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// listenConn connects and starts listening.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.listenConfig)
	if err != nil {
		return nil, err
	}
	// The wait for notifications has no end, but LISTEN itself gets the
	// deadline of any query: a server that accepts the connection and
	// then stalls must not hold Listen forever.
	listenCtx, cancel := context.WithTimeout(ctx, s.queryTimeout())
	_, err = conn.Exec(listenCtx, `LISTEN `+changesChannel)
	cancel()
	if err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(closeCtx)
		cancel()
		return nil, err
	}
	if s.listening != nil {
		s.listening()
	}
	return conn, nil
}

// receive calls fn for each notification until the connection fails or ctx
// ends.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn, fn func(canon string)) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, s.idleCheck)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			fn(n.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err):
			return err
		}
		// Quiet for a while: make sure the server is still there. A
		// notification that arrives meanwhile is kept by pgx for the next
		// WaitForNotification.
		pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
		err = conn.Ping(pingCtx)
		cancel()
		if err != nil {
			return err
		}
	}
}
