package host

import (
	"context"
	"time"
)

// Backend is the storage the host services are built on: the KV and
// rate-event part of the provider's store. Its methods have the shapes and
// the semantics of the same-named methods of provider/storage.Store, so the
// provider adapts its store with a few lines (see the package doc).
//
// Errors: a missing key must match sdk.ErrNotFound and a failed
// compare-and-swap sdk.ErrConflict under errors.Is; anything else is
// reported to the plugin as sdk.ErrUnavailable (and logged by the host).
type Backend interface {
	// KVGet returns the entry of namespace/key live at now.
	KVGet(ctx context.Context, namespace, key string, now time.Time) (KVEntry, error)
	// KVPut stores value under key. expectVersion 0: the key must be absent
	// (or expired); > 0: the stored version must equal it; -1: overwrite.
	// Otherwise ErrConflict. Returns the new version. expiresAt zero: never.
	KVPut(ctx context.Context, namespace, key string, value []byte, expectVersion int64, expiresAt time.Time, now time.Time) (int64, error)
	// KVDelete removes key: with -1 whatever is there (absent is not an
	// error), with > 0 only at that version (else ErrConflict).
	KVDelete(ctx context.Context, namespace, key string, expectVersion int64) error
	// KVList returns the live keys of namespace starting with prefix, sorted.
	KVList(ctx context.Context, namespace, prefix string, now time.Time) ([]string, error)
	// CountEvent atomically records one event for key at now unless limit
	// events are stamped after now-window, also after now (as
	// provider/storage.Store.CountEvent); see RateResult. With limit 0 it
	// only counts (the host reads its own counts so).
	CountEvent(ctx context.Context, key string, window time.Duration, limit int, now time.Time) (RateResult, error)
}

// Mailer is implemented by a Backend that can email the provider's users:
// then the host's Mail service (sdk.SendMail) works, else it answers
// sdk.ErrUnavailable. MailUser sends subject and text to the address in
// the provider's own record of userID, within ctx, and returns once the
// message is handed over. Errors: sdk.ErrNotFound (errors.Is) for an
// unknown user or one without an email address, sdk.ErrInvalidInput for
// a message that can never be sent (an unusable address); anything else
// is reported to the plugin as sdk.ErrUnavailable (and logged by the
// host).
type Mailer interface {
	MailUser(ctx context.Context, userID, subject, text string) error
}

// BatchReader is implemented by a Backend that reads several keys in one
// call: then the records a method declares (sdk.Description.UserRecords)
// cost one read per call to it, else one KVGet each. KVGetMany returns the
// entries among keys of namespace live at now, as KVGet would each (as
// provider/storage.Store.KVGetMany); a key absent or expired is missing
// from the map, not an error.
type BatchReader interface {
	KVGetMany(ctx context.Context, namespace string, keys []string, now time.Time) (map[string]KVEntry, error)
}

// KVEntry is a stored value (same fields as provider/storage.KVEntry, so a
// conversion host.KVEntry(e) works).
type KVEntry struct {
	Value     []byte
	Version   int64
	ExpiresAt time.Time
}

// RateResult is the outcome of Backend.CountEvent (same fields as
// provider/storage.RateResult).
type RateResult struct {
	Allowed    bool
	Count      int
	RetryAfter time.Time // when refused: when room frees up
}
