package upstream

import (
	"context"
	"errors"
	"net"
	"net/url"

	"golang.org/x/oauth2"
)

// Kind is what went wrong with a sign-in at the upstream, for the page
// and the audit event (its String is the event's reason).
type Kind int

const (
	// Unreachable: discovery, the token or the userinfo endpoint did not
	// answer.
	Unreachable Kind = iota + 1
	// Refused: the upstream answered with an error (at the callback, or
	// when redeeming the code).
	Refused
	// InvalidToken: the ID token failed verification (signature, iss,
	// aud, nonce, expiry) or names no one.
	InvalidToken
	// BadState: the callback's state is not the one sent, or its sign-in
	// was taken already (a replay).
	BadState
	// UsernameMissing, UsernameInvalid, UsernameTaken: a first sign-in
	// whose username_claim is absent, fails the username rule, or names a
	// local user (or looks like one's name). Nothing is created then.
	UsernameMissing
	UsernameInvalid
	UsernameTaken
	// Inactive: the linked user is deactivated.
	Inactive
	// OtherUser: the request's id_token_hint names another user than
	// the one the upstream signed in.
	OtherUser
	// Stale: prompt=login or max_age asked for a fresh sign-in and the
	// upstream's auth_time is older than that.
	Stale
)

func (k Kind) String() string {
	switch k {
	case Unreachable:
		return "unreachable"
	case Refused:
		return "upstream error"
	case InvalidToken:
		return "invalid token"
	case BadState:
		return "state mismatch"
	case UsernameMissing:
		return "username missing"
	case UsernameInvalid:
		return "username invalid"
	case UsernameTaken:
		return "username taken"
	case Inactive:
		return "inactive user"
	case Stale:
		return "stale sign-in"
	case OtherUser:
		return "other user"
	}
	return "unknown"
}

// Error is a failed sign-in at the upstream. Err is for the log; Detail,
// when set, is safe to show the user (what the username rule said).
type Error struct {
	Kind   Kind
	Err    error
	Detail string
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "upstream: " + e.Kind.String()
	}
	return "upstream: " + e.Kind.String() + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err, 0 when err is no *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

type oauth2RetrieveError = oauth2.RetrieveError

func isNetwork(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}
