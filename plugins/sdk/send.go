package sdk

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// SendBudget counts the messages a method sends a user (a code by text
// message or by email) against a rolling limit, and gives a message the
// gateway did not take back: the limit counts what reached the user.
//
// The count is atomic across replicas although the host's rate limiter
// cannot give a count back: each message is counted under CountKey with
// the limit Max, and, when that is full, with Max plus the failures
// recorded (with compare-and-swap) under FailedKey within the window, as
// the host gives back successful verifications. Of concurrent sends the
// limiter lets through exactly as many as there is room for; a failure is
// recorded only after its count, and stops being given back a minute
// before its count leaves the window (more than one call lasts, plus the
// skew between replicas), so at most Max messages went out in any rolling
// window. A failure that cannot be recorded stays counted: never more
// messages, at worst fewer.
//
// At FailuresPerMax × Max recorded failures in the window no send is tried
// at all, so that a user cannot make the method hammer a gateway that is
// down (a guard, not a limit the specification states: of concurrent
// failing sends a few more may be tried). Declare FailedKey in
// Description.UserRecords and reading the failures costs no round trip;
// declare Limit(OpBegin) in Description.Limits and neither does counting
// the message of a Begin (the host counts it ahead; a Begin that fails
// before it comes to Send keeps that count: fewer messages, never more).
type SendBudget struct {
	// CountKey and FailedKey are the rate-limiter key of the user's sends
	// and the storage key of their recent failures.
	CountKey, FailedKey func(userID string) string
	Window              time.Duration
	Max                 int
	FailuresPerMax      int
	// Refusal is the sentence a refused send tells the user, given when
	// they may try again (Host clock).
	Refusal func(until time.Time) string
}

// FailureMargin is how much younger than the window a failed send must
// be to give its count back (see SendBudget).
const FailureMargin = time.Minute

// Limit is the Limit a method declares for op (OpBegin: the Begin that
// sends a code), so that the host counts the message ahead of the call
// and Send's count needs no call back. The guard hardly ever wastes that
// count: every failure was counted first, so at FailuresPerMax × Max
// failures the count is full and the host's count was refused (a count
// leaving the window that instant aside: one message fewer, never more).
func (b SendBudget) Limit(op string) Limit {
	return Limit{Operation: op, Max: b.Max, Window: b.Window, Key: b.CountKey(UserPlaceholder)}
}

// sendFailures are the times (Host.Now of the call) of the user's sends
// that the gateway refused within the window.
type sendFailures struct {
	At []time.Time `json:"at"`
}

func (f sendFailures) since(t time.Time) (n int, oldest time.Time) {
	for _, at := range f.At {
		if at.After(t) {
			n++
			if oldest.IsZero() || at.Before(oldest) {
				oldest = at
			}
		}
	}
	return n, oldest
}

// Send counts one message for userID and, when there is room, runs send.
// A refusal is a *RateLimitError saying Refusal; a failed send gives its
// count back and returns send's error.
func (b SendBudget) Send(ctx context.Context, h Host, userID string, send func() error) error {
	st, now := h.Storage(), h.Now()
	var failed sendFailures
	if _, err := GetJSON(ctx, st, b.FailedKey(userID), &failed); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if n, oldest := failed.since(now.Add(-b.Window)); b.FailuresPerMax > 0 && n >= b.FailuresPerMax*b.Max {
		return RateLimitedSaying(oldest.Add(b.Window), b.Refusal(oldest.Add(b.Window)))
	}
	err := CheckLimit(ctx, h, b.CountKey(userID), b.Window, b.Max)
	if errors.Is(err, ErrRateLimited) {
		if given, _ := failed.since(now.Add(-b.Window + FailureMargin)); given > 0 {
			err = CheckLimit(ctx, h, b.CountKey(userID), b.Window, b.Max+given)
		}
	}
	if errors.Is(err, ErrRateLimited) {
		until, _ := RetryAfter(err)
		return RateLimitedSaying(until, b.Refusal(until))
	}
	if err != nil {
		return err
	}
	if err := send(); err != nil {
		b.giveBack(ctx, st, userID, now)
		return err
	}
	return nil
}

// giveBack records a failed send of the call at now (see Send), also when
// the host gave up on the call: its count is still taken.
func (b SendBudget) giveBack(ctx context.Context, st Storage, userID string, now time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for range 8 {
		var f sendFailures
		version, err := GetJSON(ctx, st, b.FailedKey(userID), &f)
		switch {
		case errors.Is(err, ErrNotFound):
			version = MustNotExist
		case err != nil:
			return
		}
		live := f.At[:0]
		for _, at := range f.At {
			if at.After(now.Add(-b.Window)) {
				live = append(live, at)
			}
		}
		f.At = append(live, now)
		if err := PutJSON(ctx, st, b.FailedKey(userID), f, version, b.Window); !errors.Is(err, ErrConflict) {
			return
		}
	}
}

// NewDigitCode returns n (1 to 18) uniformly random decimal digits, a code
// to send, and a random ID for it.
func NewDigitCode(n int) (code, id string, err error) {
	v, err := rand.Int(rand.Reader, big.NewInt(0).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	if err != nil {
		return "", "", err
	}
	if id, err = RandomID(); err != nil {
		return "", "", err
	}
	return fmt.Sprintf("%0*d", n, v.Int64()), id, nil
}

// KeyedHash is HMAC-SHA-256 under key of parts, each ended by a NUL: what
// a method keeps of a code it sent. A code of fewer than 112 bits must not
// be stored recoverable, and the key is kept sealed by the host, outside
// the database's reach (SPEC §7).
func KeyedHash(key []byte, parts ...string) []byte {
	mac := hmac.New(sha256.New, key)
	for _, s := range parts {
		mac.Write([]byte(s))
		mac.Write([]byte{0})
	}
	return mac.Sum(nil)
}

// TypedDigits is a code as a person typed it, without the spaces, tabs and
// dashes that group its digits; "" for an answer over 64 bytes, which no
// code is.
func TypedDigits(s string) string {
	if len(s) > 64 {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}
