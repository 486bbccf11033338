package sdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// Host is what the host (stepup) offers a method during one call.
type Host interface {
	// Storage is the method's private key-value view. Values are
	// encrypted at rest by the host; keys are not, so never put a secret
	// in a key.
	Storage() Storage
	// RateLimit counts events across every replica of the host.
	RateLimit() RateLimiter
	// Now is the host's clock, read when the host made this call. Use it
	// for every decision that depends on time; never time.Now.
	Now() time.Time
}

// Version arguments of Storage.Put and Storage.Delete.
const (
	// MustNotExist makes Put fail with ErrConflict when the key exists.
	MustNotExist int64 = 0
	// AnyVersion makes Put overwrite, and Delete remove, whatever is there.
	AnyVersion int64 = -1
)

// Storage is a private key-value namespace with versions, for
// compare-and-swap across concurrent calls and replicas. Keys are UTF-8
// without NUL, at most MaxKeyLen bytes; values at most MaxValueLen bytes.
type Storage interface {
	// Get returns the value and its version (>= 1). ErrNotFound when the
	// key is absent or expired.
	Get(ctx context.Context, key string) (value []byte, version int64, err error)
	// Put stores value and returns its new version. expectVersion
	// MustNotExist (0): the key must be absent or expired; > 0: the stored
	// version must equal it; AnyVersion (-1): overwrite. Otherwise
	// ErrConflict, and nothing changes. Of concurrent Puts expecting one
	// version, exactly one succeeds. ttl 0 keeps the value until deleted.
	Put(ctx context.Context, key string, value []byte, expectVersion int64, ttl time.Duration) (int64, error)
	// Delete removes key: AnyVersion whatever is there (absent is not an
	// error), > 0 only at that version (else ErrConflict).
	Delete(ctx context.Context, key string, expectVersion int64) error
	// List returns the live keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// PutOnAccept stores value under key, compare-and-swap at expectVersion
// as Storage.Put does, as the host accepts this verification: the write
// that spends what the response used (a code, a counter), made without a
// round trip. Call it last in Verify, at most once, and return success:
// the host writes only when Verify succeeds, and if the record changed
// meanwhile (another verification won), it does not accept, and calls
// Verify again with the records as they are then, as the method would
// retry after ErrConflict. A host that does not offer it (an older one,
// or a local host in tests) gets the Put at once, and its ErrConflict is
// returned here as Put's would be.
func PutOnAccept(ctx context.Context, h Host, key string, value []byte, expectVersion int64, ttl time.Duration) error {
	rh, ok := h.(*remoteHost)
	if !ok || !rh.accepting {
		_, err := h.Storage().Put(ctx, key, value, expectVersion, ttl)
		return err
	}
	if rh.onAccept != nil {
		return errors.New("sdk: PutOnAccept called twice in one verification")
	}
	rh.onAccept = &pluginpb.PutRequest{Key: key, Value: value, ExpectVersion: expectVersion, TtlNanos: int64(ttl)}
	return nil
}

// Size limits of Storage.
const (
	MaxKeyLen   = 512
	MaxValueLen = 1 << 20
)

// RateLimiter counts events in a sliding window.
type RateLimiter interface {
	// Count records one event for key unless the window already holds
	// limit events (then Allowed is false and nothing is recorded). Keys
	// are private to the method. Of N concurrent calls with room for k,
	// exactly k are allowed, across replicas.
	Count(ctx context.Context, key string, window time.Duration, limit int) (RateResult, error)
}

// RateResult is the outcome of RateLimiter.Count.
type RateResult struct {
	Allowed bool
	// Count is the number of events in the window after the call.
	Count int
	// RetryAfter is, when refused, when the oldest counted event leaves the
	// window (host clock).
	RetryAfter time.Time
}

// Mailer is implemented by a Host that can email its users: the Host of a
// plugin's call when the host (stepup) offers a mail service, and the
// local Host of plugins/host when its backend does. A method does not
// assert it; it calls SendMail.
type Mailer interface {
	// MailUser sends one message to the user userID at the address the
	// host keeps for them; see SendMail for the errors.
	MailUser(ctx context.Context, userID, subject, text string) error
}

// Size limits of SendMail.
const (
	MaxMailSubjectLen = 200
	MaxMailTextLen    = 16 << 10
)

// SendMail emails the user userID a plain-text message, through the host,
// and returns once the host has handed it over (to its mail server or
// outbox), within ctx. The host sends to the address in its own record of
// the user, never to an address the method names, so a method cannot mail
// anyone but the host's users; put no secret in subject.
//
// Errors: ErrNotFound when the host has no such user or the user has no
// email address; ErrInvalidInput when the message is malformed (an empty
// subject or one that is not one line, text that is not UTF-8, either
// longer than MaxMailSubjectLen or MaxMailTextLen bytes) or the host finds
// the user's address unusable; ErrUnavailable when the host cannot send
// mail now (a mail server that fails or does not answer, a host without a
// mail service, an older host, or a Host that is not a Mailer): it may
// work later.
func SendMail(ctx context.Context, h Host, userID, subject, text string) error {
	if err := CheckMail(userID, subject, text); err != nil {
		return err
	}
	m, ok := h.(Mailer)
	if !ok {
		return fmt.Errorf("%w: this host sends no mail", ErrUnavailable)
	}
	return m.MailUser(ctx, userID, subject, text)
}

// CheckMail returns the InputError of a message SendMail must refuse, or
// nil. For plugins/host, which checks what plugins send.
func CheckMail(userID, subject, text string) error {
	switch {
	case !ValidID(userID):
		return InvalidInput("mail: bad user ID")
	case strings.TrimSpace(subject) == "" || len(subject) > MaxMailSubjectLen || !utf8.ValidString(subject) ||
		strings.IndexFunc(subject, unicode.IsControl) >= 0:
		return InvalidInput("mail: the subject must be one line of at most %d bytes", MaxMailSubjectLen)
	case len(text) > MaxMailTextLen || !utf8.ValidString(text):
		return InvalidInput("mail: the text must be UTF-8 of at most %d bytes", MaxMailTextLen)
	}
	return nil
}
