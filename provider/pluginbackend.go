package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// PluginBackend adapts the store to the plugin host: each method's data
// lives in the store's KV table under its own namespace, so it is shared by
// every replica like the rest of the flow state. It is also the host's
// host.Mailer: a method's mail (sdk.SendMail) goes through mailer to the
// address of the user's record in s, sent at once within the call; a nil
// mailer sends none (sdk.ErrUnavailable).
func PluginBackend(s storage.Store, mailer notify.Sender) host.Backend {
	return pluginBackend{s, mailer}
}

var _ host.BatchReader = pluginBackend{}

type pluginBackend struct {
	s      storage.Store
	mailer notify.Sender
}

// pluginErr maps the store's sentinels onto the SDK's.
func pluginErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("%w: %w", sdk.ErrNotFound, err)
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrAlreadyExists):
		return fmt.Errorf("%w: %w", sdk.ErrConflict, err)
	}
	return err
}

func (b pluginBackend) KVGet(ctx context.Context, ns, key string, now time.Time) (host.KVEntry, error) {
	e, err := b.s.KVGet(ctx, ns, key, now)
	return host.KVEntry(e), pluginErr(err)
}

// KVGetMany implements host.BatchReader: a method's records of a user,
// sent with each call, are one query.
func (b pluginBackend) KVGetMany(ctx context.Context, ns string, keys []string, now time.Time) (map[string]host.KVEntry, error) {
	entries, err := b.s.KVGetMany(ctx, ns, keys, now)
	if err != nil {
		return nil, pluginErr(err)
	}
	out := make(map[string]host.KVEntry, len(entries))
	for k, e := range entries {
		out[k] = host.KVEntry(e)
	}
	return out, nil
}

// KVPut and KVDelete write, with a method's committing write (a
// credential confirmed, removed, a code issued), the events the caller
// made for it (host.OnCommit): the change and its audit event (and its
// mail) are one transaction.
func (b pluginBackend) KVPut(ctx context.Context, ns, key string, value []byte, expect int64, expiresAt, now time.Time) (int64, error) {
	v, err := b.s.KVPut(ctx, ns, key, value, expect, expiresAt, now, commitEvents(ctx)...)
	return v, pluginErr(err)
}

func (b pluginBackend) KVDelete(ctx context.Context, ns, key string, expect int64) error {
	return pluginErr(b.s.KVDelete(ctx, ns, key, expect, commitEvents(ctx)...))
}

// commitEvents are the events to write with this write: none but for a
// committing one.
func commitEvents(ctx context.Context) []storage.Event {
	events, _ := host.CommitPayload(ctx).([]storage.Event)
	return events
}

func (b pluginBackend) KVList(ctx context.Context, ns, prefix string, now time.Time) ([]string, error) {
	keys, err := b.s.KVList(ctx, ns, prefix, now)
	return keys, pluginErr(err)
}

func (b pluginBackend) CountEvent(ctx context.Context, key string, window time.Duration, limit int, now time.Time) (host.RateResult, error) {
	r, err := b.s.CountEvent(ctx, key, window, limit, now)
	return host.RateResult(r), pluginErr(err)
}

// MailUser implements host.Mailer: an unknown user or one without an
// address is sdk.ErrNotFound, an address the mailer refuses
// sdk.ErrInvalidInput; any other failure the host reports to the plugin as
// sdk.ErrUnavailable.
func (b pluginBackend) MailUser(ctx context.Context, userID, subject, text string) error {
	if b.mailer == nil {
		return fmt.Errorf("%w: no mailer", sdk.ErrUnavailable)
	}
	u, err := b.s.GetUser(ctx, userID)
	if err != nil {
		return pluginErr(err)
	}
	if u.Email == "" {
		return fmt.Errorf("%w: user %s has no email address", sdk.ErrNotFound, userID)
	}
	err = b.mailer.Send(ctx, notify.Message{To: u.Email, Subject: subject, Text: text})
	if errors.Is(err, notify.ErrInvalidMessage) {
		return fmt.Errorf("%w: %w", sdk.ErrInvalidInput, err)
	}
	return err
}
