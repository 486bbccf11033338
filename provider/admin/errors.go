package admin

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what sort of refusal an Error is; callers map it to their own
// answer (the admin API to an HTTP status).
type Kind int

// The kinds of Error.
const (
	// NotFound: no such user, credential or thing of a method.
	NotFound Kind = iota + 1
	// Invalid: the request is malformed or breaks a rule of its values.
	Invalid
	// Conflict: the request conflicts with what is stored now.
	Conflict
	// Forbidden: the actor may not do this.
	Forbidden
	// RateLimited: too many of these requests; RetryAfter says when to
	// try again.
	RateLimited
	// Unavailable: a method is not answering.
	Unavailable
)

var kindNames = map[Kind]string{NotFound: "not found", Invalid: "invalid", Conflict: "conflict",
	Forbidden: "forbidden", RateLimited: "rate limited", Unavailable: "unavailable"}

// String names the kind.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is an administrative operation refused for a reason the caller
// can act on.
type Error struct {
	Kind Kind
	// Msg says what was wrong and what to do, for a person.
	Msg string
	// RetryAfter is how long to wait before trying again (RateLimited).
	RetryAfter time.Duration
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrNotFound) and its kin match any Error of the
// same Kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is, one for each Kind.
var (
	ErrNotFound    = &Error{Kind: NotFound}
	ErrInvalid     = &Error{Kind: Invalid}
	ErrConflict    = &Error{Kind: Conflict}
	ErrForbidden   = &Error{Kind: Forbidden}
	ErrRateLimited = &Error{Kind: RateLimited}
	ErrUnavailable = &Error{Kind: Unavailable}
)

// AsError returns err's *Error, if it is or wraps one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
