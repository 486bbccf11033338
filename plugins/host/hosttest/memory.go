package hosttest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Clock is a settable clock for Spec.Now. The zero Clock reads the zero
// time; use NewClock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

type entry struct {
	value   []byte
	version int64
	expires time.Time
}

func (e entry) live(now time.Time) bool { return e.expires.IsZero() || e.expires.After(now) }

// Memory is an in-memory host.Backend. Every method holds one lock, so
// compare-and-swap and counting are atomic. Safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	kv     map[string]map[string]entry
	events map[string][]time.Time
	spans  map[string]time.Duration
	fail   error
	calls  int

	mails     []Mail
	mailFail  error
	noAddress map[string]bool
}

var _ host.Backend = (*Memory)(nil)

// NewMemory returns an empty backend.
func NewMemory() *Memory {
	return &Memory{kv: map[string]map[string]entry{}, events: map[string][]time.Time{}, spans: map[string]time.Duration{}}
}

// Fail makes every later call fail with err (an outage); nil heals.
func (m *Memory) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// Calls counts the calls made so far.
func (m *Memory) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

func (m *Memory) enter() error {
	m.calls++
	return m.fail
}

// KVGet implements host.Backend.
func (m *Memory) KVGet(_ context.Context, namespace, key string, now time.Time) (host.KVEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(); err != nil {
		return host.KVEntry{}, err
	}
	e, ok := m.kv[namespace][key]
	if !ok || !e.live(now) {
		return host.KVEntry{}, fmt.Errorf("memory: kv %s/%s: %w", namespace, key, sdk.ErrNotFound)
	}
	return host.KVEntry{Value: append([]byte(nil), e.value...), Version: e.version, ExpiresAt: e.expires}, nil
}

var _ host.BatchReader = (*Memory)(nil)

// KVGetMany implements host.BatchReader, under one lock.
func (m *Memory) KVGetMany(_ context.Context, namespace string, keys []string, now time.Time) (map[string]host.KVEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(); err != nil {
		return nil, err
	}
	out := make(map[string]host.KVEntry, len(keys))
	for _, key := range keys {
		if e, ok := m.kv[namespace][key]; ok && e.live(now) {
			out[key] = host.KVEntry{Value: append([]byte(nil), e.value...), Version: e.version, ExpiresAt: e.expires}
		}
	}
	return out, nil
}

// KVPut implements host.Backend.
func (m *Memory) KVPut(_ context.Context, namespace, key string, value []byte, expectVersion int64, expiresAt, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(); err != nil {
		return 0, err
	}
	ns := m.kv[namespace]
	if ns == nil {
		ns = map[string]entry{}
		m.kv[namespace] = ns
	}
	cur, ok := ns[key]
	live := ok && cur.live(now)
	var next int64
	switch {
	case expectVersion == 0 && !live, expectVersion == -1 && !live:
		next = 1
	case expectVersion == -1, expectVersion > 0 && live && cur.version == expectVersion:
		next = cur.version + 1
	case expectVersion < -1:
		return 0, fmt.Errorf("memory: kv put: invalid expectVersion %d", expectVersion)
	default:
		return 0, fmt.Errorf("memory: kv %s/%s: %w", namespace, key, sdk.ErrConflict)
	}
	ns[key] = entry{value: append([]byte(nil), value...), version: next, expires: expiresAt}
	return next, nil
}

// KVDelete implements host.Backend.
func (m *Memory) KVDelete(_ context.Context, namespace, key string, expectVersion int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(); err != nil {
		return err
	}
	cur, ok := m.kv[namespace][key]
	switch {
	case expectVersion == -1:
	case expectVersion > 0:
		if !ok || cur.version != expectVersion {
			return fmt.Errorf("memory: kv %s/%s: %w", namespace, key, sdk.ErrConflict)
		}
	default:
		return fmt.Errorf("memory: kv delete: invalid expectVersion %d", expectVersion)
	}
	delete(m.kv[namespace], key)
	return nil
}

// KVList implements host.Backend.
func (m *Memory) KVList(_ context.Context, namespace, prefix string, now time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(); err != nil {
		return nil, err
	}
	var keys []string
	for k, e := range m.kv[namespace] {
		if strings.HasPrefix(k, prefix) && e.live(now) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// CountEvent implements host.Backend.
func (m *Memory) CountEvent(_ context.Context, key string, window time.Duration, limit int, now time.Time) (host.RateResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(); err != nil {
		return host.RateResult{}, err
	}
	// Forget events older than the longest window ever asked for this key.
	m.spans[key] = max(m.spans[key], window)
	evs := m.events[key][:0]
	for _, t := range m.events[key] {
		if t.After(now.Add(-m.spans[key])) {
			evs = append(evs, t)
		}
	}
	var n int
	var oldest time.Time
	for _, t := range evs {
		if t.After(now.Add(-window)) {
			if n == 0 || t.Before(oldest) {
				oldest = t
			}
			n++
		}
	}
	if n >= limit {
		m.events[key] = evs
		return host.RateResult{Count: n, RetryAfter: oldest.Add(window)}, nil
	}
	m.events[key] = append(evs, now)
	return host.RateResult{Allowed: true, Count: n + 1}, nil
}

// Raw returns the bytes stored under namespace/key, as the backend holds
// them (sealed), ignoring expiry.
func (m *Memory) Raw(namespace, key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.kv[namespace][key]
	return append([]byte(nil), e.value...), ok
}

// SetRaw overwrites the bytes under namespace/key (to test tampering).
func (m *Memory) SetRaw(namespace, key string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.kv[namespace][key]
	e.value = append([]byte(nil), value...)
	if m.kv[namespace] == nil {
		m.kv[namespace] = map[string]entry{}
	}
	m.kv[namespace][key] = e
}

// Keys returns every stored namespace/key pair as "namespace\x00key",
// sorted, ignoring expiry.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for ns, kv := range m.kv {
		for k := range kv {
			out = append(out, ns+"\x00"+k)
		}
	}
	sort.Strings(out)
	return out
}

// Mail is a message a plugin sent through Memory's Mailer.
type Mail struct {
	UserID, Subject, Text string
}

var _ host.Mailer = (*Memory)(nil)

// MailUser implements host.Mailer: it keeps the message (see Mails), or
// fails as FailMail says. Every user has an address but those of
// NoAddress.
func (m *Memory) MailUser(_ context.Context, userID, subject, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.noAddress[userID] {
		return fmt.Errorf("memory: user %s: %w", userID, sdk.ErrNotFound)
	}
	if m.mailFail != nil {
		return m.mailFail
	}
	m.mails = append(m.mails, Mail{UserID: userID, Subject: subject, Text: text})
	return nil
}

// FailMail makes every later MailUser fail with err (a mail server that is
// down); nil heals.
func (m *Memory) FailMail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mailFail = err
}

// NoAddress makes MailUser treat userID as a user without an email
// address (sdk.ErrNotFound).
func (m *Memory) NoAddress(userID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.noAddress == nil {
		m.noAddress = map[string]bool{}
	}
	m.noAddress[userID] = true
}

// Mails returns the messages sent so far, oldest first.
func (m *Memory) Mails() []Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Mail(nil), m.mails...)
}
