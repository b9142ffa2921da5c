package crated

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: the one error vocabulary of crated. Every layer reports
// failures with these codes; httpapi maps them to HTTP statuses in exactly one
// table, so no handler chooses a status by itself.
const (
	EINVALID      = "invalid"         // bad input: 400
	EUNAUTHORIZED = "unauthorized"    // no credentials: 401
	EFORBIDDEN    = "forbidden"       // bad token or not allowed: 403
	ENOTFOUND     = "not_found"       // 404
	ECONFLICT     = "conflict"        // duplicate version, name collision: 409
	ETOOLARGE     = "too_large"       // body or archive too big: 413
	ERATELIMIT    = "rate_limited"    // 429
	EINTERNAL     = "internal"        // bugs and broken backends: 500
	EUNAVAILABLE  = "unavailable"     // a backend is down: 503
	EBADGATEWAY   = "bad_gateway"     // an upstream answered wrongly (mirror): 502
	ENOTIMPL      = "not_implemented" // 501
)

// Error is an application error that carries a code from the vocabulary and a
// message that is safe to show to the user. Internal errors are wrapped with
// fmt.Errorf and never shown.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when positive, tells the client when to try again
	// (ERATELIMIT, EUNAVAILABLE): httpapi sends it as Retry-After, which
	// cargo honours for 429 and 503 answers.
	RetryAfter time.Duration
}

// Error returns the message alone: the code is for programs, and command-line
// output reads better without it.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Retry returns an *Error with the given code, message and Retry-After
// delay.
func Retry(code string, after time.Duration, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.RetryAfter = after
	return e
}

// RetryAfter returns the delay carried by the first *Error in err's chain, 0
// when there is none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors get a
// generic text so that nothing about the backend leaks.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }

// Wrap adds context to *errp once per function, keeping the chain intact so that
// ErrorCode still finds the sentinel. Use as: defer crated.Wrap(&err, "sqlite.Foo(%q)", x).
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
