package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crated/crated"
)

// wrap is crated.Wrap after translate: every exported method ends with it.
func wrap(errp *error, format string, args ...any) {
	*errp = translate(*errp)
	crated.Wrap(errp, format, args...)
}

// translate gives the errors that the methods do not handle themselves a
// code from the crated vocabulary, by SQLSTATE or error type, never by
// message text. The driver's error stays in the chain for the logs.
func translate(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ce *crated.Error
	if errors.As(err, &ce) {
		return err
	}
	var code string
	var msg string
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		// A new pool connection failed, whatever the server said (too
		// many clients, shutting down, not accepting connections): the
		// URL was good at Open, so the database is unavailable for now.
		code, msg = crated.EUNAVAILABLE, crated.MsgStoreUnreachable
	} else if e := pgError(err); e != nil {
		switch {
		case e.Code == uniqueViolation:
			code, msg = crated.ECONFLICT, crated.MsgStoreExists
		case e.Code == foreignKeyViolation:
			code, msg = crated.ENOTFOUND, crated.MsgStoreMissingRef
		case e.Code == "22021" || e.Code == "22P05":
			// character_not_in_repertoire, untranslatable_character:
			// text with a NUL byte or bytes that are not UTF-8.
			code, msg = crated.EINVALID, crated.MsgStoreBadText
		case strings.HasPrefix(e.Code, "08"), // connection exception
			strings.HasPrefix(e.Code, "53"),                         // insufficient resources, too many connections
			e.Code == "57P01", e.Code == "57P02", e.Code == "57P03", // shutting down, starting up
			e.Code == "40001", e.Code == "40P01": // serialization failure, deadlock: try again
			code, msg = crated.EUNAVAILABLE, crated.MsgStoreBusy
		default:
			return err
		}
	} else if unreachable(err) {
		code, msg = crated.EUNAVAILABLE, crated.MsgStoreUnreachable
	} else {
		return err
	}
	return fmt.Errorf("%w (%w)", crated.Errorf(code, "%s", msg), err)
}

// unreachable reports whether err means that no answer came from the server:
// a failed connection, a network error, a connection closed under the query.
func unreachable(err error) bool {
	var connect *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connect) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed)
}

// defaultQueryTimeout bounds every store method unless Store.QueryTimeout
// says otherwise ([db_config] query_timeout).
const defaultQueryTimeout = 10 * time.Second

// op gives one store method its deadline: QueryTimeout from now, or the
// caller's deadline when that is sooner. done, deferred after wrap, reports
// a deadline of the store's own as EUNAVAILABLE (the database did not answer
// in time: try again), and leaves the caller's cancellation as it is.
func (s *Store) op(parent context.Context) (context.Context, func(errp *error)) {
	ctx, cancel := context.WithTimeout(parent, s.queryTimeout())
	return ctx, func(errp *error) {
		cancel()
		if *errp != nil && parent.Err() == nil && errors.Is(*errp, context.DeadlineExceeded) {
			*errp = fmt.Errorf("%w (%w)", crated.Errorf(crated.EUNAVAILABLE, "%s", crated.MsgStoreUnreachable), *errp)
		}
	}
}

func (s *Store) queryTimeout() time.Duration {
	if s.QueryTimeout <= 0 {
		return defaultQueryTimeout
	}
	return s.QueryTimeout
}
