package sdk

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. A method returns them (or wraps them with %w); they
// cross the process boundary as gRPC status codes and come back as the same
// values, so errors.Is works on both sides. Storage and rate-limit errors
// from the host arrive in the plugin as these sentinels too.
var (
	// ErrInvalidResponse: the response does not verify. The same error for
	// a wrong code, an unknown user, an unknown, used or expired challenge
	// and a replayed response, so that nothing leaks.
	ErrInvalidResponse = errors.New("invalid response")
	// ErrNotEnrolled: the user has no credential for this method.
	ErrNotEnrolled = errors.New("not enrolled")
	// ErrAlreadyEnrolled: the user already holds the one credential the
	// method allows.
	ErrAlreadyEnrolled = errors.New("already enrolled")
	// ErrRateLimited: a limit was reached; see RateLimitError for when to
	// retry.
	ErrRateLimited = errors.New("rate limited")
	// ErrNotFound: no such key, credential or object.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-swap saw another version, or the request
	// clashes with the state it would change (a temporary code is already
	// active); see ConflictError for a message that may be shown.
	ErrConflict = errors.New("conflict")
	// ErrInvalidInput: the request is malformed; see InputError for the
	// message that may be shown to the user.
	ErrInvalidInput = errors.New("invalid input")
	// ErrUnavailable: the method or a service it needs cannot answer now
	// (a crashed or restarting plugin, a storage outage, an SMS gateway).
	ErrUnavailable = errors.New("unavailable")
)

// RateLimitError is ErrRateLimited with the time when a retry may succeed.
// errors.Is(err, ErrRateLimited) matches it.
type RateLimitError struct {
	// RetryAfter is when room frees up, on the host's clock.
	RetryAfter time.Time
	// Message, when set, is what the user is told, safe to show (SPEC §6's
	// sentence for the sixth text message in an hour); empty: the host's
	// own words, with RetryAfter.
	Message string
}

// RateLimited returns a *RateLimitError.
func RateLimited(retryAfter time.Time) error {
	return &RateLimitError{RetryAfter: retryAfter}
}

// RateLimitedSaying returns a *RateLimitError whose Message the user is
// shown.
func RateLimitedSaying(retryAfter time.Time, message string) error {
	return &RateLimitError{RetryAfter: retryAfter, Message: message}
}

func (e *RateLimitError) Error() string {
	if e.RetryAfter.IsZero() {
		return ErrRateLimited.Error()
	}
	return fmt.Sprintf("%s until %s", ErrRateLimited, e.RetryAfter.UTC().Format(time.RFC3339))
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfter returns when a rate-limited call may be retried, and whether
// err is a rate limit that says so.
func RetryAfter(err error) (time.Time, bool) {
	var rl *RateLimitError
	if errors.As(err, &rl) && !rl.RetryAfter.IsZero() {
		return rl.RetryAfter, true
	}
	return time.Time{}, false
}

// InputError is ErrInvalidInput with a message that is safe to show to the
// user ("enter a phone number in international format").
// errors.Is(err, ErrInvalidInput) matches it.
type InputError struct {
	Message string
}

// InvalidInput returns an *InputError with a message safe to show.
func InvalidInput(format string, args ...any) error {
	return &InputError{Message: fmt.Sprintf(format, args...)}
}

func (e *InputError) Error() string { return ErrInvalidInput.Error() + ": " + e.Message }

// Is reports whether target is ErrInvalidInput.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// ConflictError is ErrConflict with a message that is safe to show to the
// user or administrator ("a temporary code is already active: expire the
// current code first"). errors.Is(err, ErrConflict) matches it. A bare
// ErrConflict (a lost compare-and-swap) carries no message.
type ConflictError struct {
	Message string
}

// Conflict returns a *ConflictError with a message safe to show.
func Conflict(format string, args ...any) error {
	return &ConflictError{Message: fmt.Sprintf(format, args...)}
}

func (e *ConflictError) Error() string { return ErrConflict.Error() + ": " + e.Message }

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// UnavailableError is ErrUnavailable with a message that is safe to show
// to the user ("We could not send the text message. Try again or use
// another method."). errors.Is(err, ErrUnavailable) matches it.
type UnavailableError struct {
	Message string
}

// Unavailable returns an *UnavailableError with a message safe to show.
func Unavailable(format string, args ...any) error {
	return &UnavailableError{Message: fmt.Sprintf(format, args...)}
}

func (e *UnavailableError) Error() string { return ErrUnavailable.Error() + ": " + e.Message }

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// UserMessage returns the message safe to show to a user that err's chain
// carries (of an *InputError, a *ConflictError, a *RateLimitError or an
// *UnavailableError), or "" when there is none.
func UserMessage(err error) string {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie.Message
	}
	var ce *ConflictError
	if errors.As(err, &ce) {
		return ce.Message
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.Message
	}
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue.Message
	}
	return ""
}
