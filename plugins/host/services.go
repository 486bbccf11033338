package host

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// KeySize is the length of the data key a host is given: AES-256.
const KeySize = 32

// sealVersion prefixes every sealed value: the format (and, later, the key
// generation) it was written with.
const sealVersion byte = 1

// services are the host services of one method: its storage view, bound to
// one namespace and encrypted, and its rate limiter, bound to one key
// prefix. The plugin never names a namespace; the host does.
type services struct {
	namespace string
	backend   Backend
	mailer    Mailer      // nil: the backend sends no mail
	batch     BatchReader // nil: the backend reads one key at a time
	aead      cipher.AEAD
	now       func() time.Time
	log       *slog.Logger
}

func newServices(namespace string, b Backend, key []byte, now func() time.Time, log *slog.Logger) (*services, error) {
	if b == nil {
		return nil, errors.New("no storage backend")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("data key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mailer, _ := b.(Mailer)
	batch, _ := b.(BatchReader)
	return &services{namespace: namespace, backend: b, mailer: mailer, batch: batch, aead: aead, now: now, log: log}, nil
}

// NewLocalHost returns the Host that a plugin configured under name sees,
// without a subprocess: the same namespace, encryption and rate-limit keys
// as a launched plugin. Its Now reads now on every call. For tests of a
// Method in process, and for tools that read a method's data.
func NewLocalHost(name string, b Backend, key []byte, now func() time.Time) (sdk.Host, error) {
	s, err := newServices(Namespace(name), b, key, now, nil)
	if err != nil {
		return nil, err
	}
	return localHost{s}, nil
}

// Namespace is the Backend namespace of the method configured under name;
// its rate-limit keys start with Namespace(name) + "/".
func Namespace(name string) string { return "method/" + name }

type localHost struct{ s *services }

func (h localHost) Storage() sdk.Storage       { return h.s }
func (h localHost) RateLimit() sdk.RateLimiter { return h.s }
func (h localHost) Now() time.Time             { return h.s.now() }

// MailUser implements sdk.Mailer through the backend, as a launched
// plugin's host does.
func (h localHost) MailUser(ctx context.Context, userID, subject, text string) error {
	return h.s.MailUser(ctx, userID, subject, text)
}

func checkKey(key string) error {
	switch {
	case key == "":
		return sdk.InvalidInput("storage key is empty")
	case len(key) > sdk.MaxKeyLen:
		return sdk.InvalidInput("storage key is longer than %d bytes", sdk.MaxKeyLen)
	case !utf8.ValidString(key) || strings.ContainsRune(key, 0):
		return sdk.InvalidInput("storage key is not UTF-8 without NUL")
	}
	return nil
}

// aad binds a sealed value to its namespace and key: a value copied to
// another key or namespace no longer opens.
func (s *services) aad(key string) []byte {
	return []byte("stepup-plugin-kv\x00" + s.namespace + "\x00" + key)
}

func (s *services) seal(key string, plain []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:1+ns], plain, s.aad(key)), nil
}

func (s *services) open(key string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("not a sealed value")
	}
	return s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], s.aad(key))
}

// backendErr keeps the two errors a plugin may act on and hides the rest
// (database detail stays in the host's log).
func (s *services) backendErr(op, key string, err error) error {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return sdk.ErrNotFound
	case errors.Is(err, sdk.ErrConflict):
		return sdk.ErrConflict
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	s.log.Error("plugin storage failed", "namespace", s.namespace, "op", op, "key", key, "err", err)
	return fmt.Errorf("%w: storage %s failed", sdk.ErrUnavailable, op)
}

// Get implements sdk.Storage.
func (s *services) Get(ctx context.Context, key string) ([]byte, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	e, err := s.backend.KVGet(ctx, s.namespace, key, s.now())
	if err != nil {
		return nil, 0, s.backendErr("get", key, err)
	}
	return s.opened(key, e)
}

// opened is what Get returns for the entry e of key.
func (s *services) opened(key string, e KVEntry) ([]byte, int64, error) {
	plain, err := s.open(key, e.Value)
	if err != nil {
		s.log.Error("plugin storage value does not decrypt (wrong data key or tampering)", "namespace", s.namespace, "key", key)
		return nil, 0, fmt.Errorf("%w: stored value does not decrypt", sdk.ErrUnavailable)
	}
	return plain, e.Version, nil
}

// getResult is what Get returns for one key of getMany.
type getResult struct {
	value   []byte
	version int64
	err     error
}

// getMany is Get of each of keys, in one backend call when the backend is
// a BatchReader.
func (s *services) getMany(ctx context.Context, keys []string) []getResult {
	out := make([]getResult, len(keys))
	if s.batch == nil {
		for i, key := range keys {
			out[i].value, out[i].version, out[i].err = s.Get(ctx, key)
		}
		return out
	}
	valid := make([]string, 0, len(keys))
	for i, key := range keys {
		if out[i].err = checkKey(key); out[i].err == nil {
			valid = append(valid, key)
		}
	}
	if len(valid) == 0 {
		return out
	}
	entries, err := s.batch.KVGetMany(ctx, s.namespace, valid, s.now())
	if err != nil {
		err = s.backendErr("get", strings.Join(valid, " "), err)
	}
	for i, key := range keys {
		if out[i].err != nil {
			continue
		}
		e, ok := entries[key]
		switch {
		case err != nil:
			out[i].err = err
		case !ok:
			out[i].err = sdk.ErrNotFound
		default:
			out[i].value, out[i].version, out[i].err = s.opened(key, e)
		}
	}
	return out
}

// Put implements sdk.Storage.
func (s *services) Put(ctx context.Context, key string, value []byte, expectVersion int64, ttl time.Duration) (int64, error) {
	w, err := s.putWrite(key, value, expectVersion, ttl)
	if err != nil {
		return 0, err
	}
	return s.write(ctx, w)
}

// write makes w through the backend (its version: 0 for a delete).
func (s *services) write(ctx context.Context, w Write) (int64, error) {
	if w.Delete {
		if err := s.backend.KVDelete(ctx, w.Namespace, w.Key, w.ExpectVersion); err != nil {
			return 0, s.backendErr("delete", w.Key, err)
		}
		return 0, nil
	}
	v, err := s.backend.KVPut(ctx, w.Namespace, w.Key, w.Value, w.ExpectVersion, w.ExpiresAt, w.Now)
	if err != nil {
		return 0, s.backendErr("put", w.Key, err)
	}
	return v, nil
}

// putWrite checks a Put and returns it as the backend makes it: sealed,
// in the plugin's namespace, its ttl an expiry on the host clock.
func (s *services) putWrite(key string, value []byte, expectVersion int64, ttl time.Duration) (Write, error) {
	if err := checkKey(key); err != nil {
		return Write{}, err
	}
	switch {
	case len(value) > sdk.MaxValueLen:
		return Write{}, sdk.InvalidInput("storage value is longer than %d bytes", sdk.MaxValueLen)
	case expectVersion < -1:
		return Write{}, sdk.InvalidInput("expectVersion %d: want -1, 0 or a version", expectVersion)
	case ttl < 0:
		return Write{}, sdk.InvalidInput("negative ttl")
	}
	sealed, err := s.seal(key, value)
	if err != nil {
		return Write{}, s.backendErr("put", key, err)
	}
	w := Write{Namespace: s.namespace, Key: key, Value: sealed, ExpectVersion: expectVersion, Now: s.now()}
	if ttl > 0 {
		w.ExpiresAt = w.Now.Add(ttl)
	}
	return w, nil
}

// Delete implements sdk.Storage.
func (s *services) Delete(ctx context.Context, key string, expectVersion int64) error {
	w, err := s.deleteWrite(key, expectVersion)
	if err != nil {
		return err
	}
	_, err = s.write(ctx, w)
	return err
}

// deleteWrite checks a Delete and returns it as the backend makes it.
func (s *services) deleteWrite(key string, expectVersion int64) (Write, error) {
	if err := checkKey(key); err != nil {
		return Write{}, err
	}
	if expectVersion == 0 || expectVersion < -1 {
		return Write{}, sdk.InvalidInput("expectVersion %d: want -1 or a version", expectVersion)
	}
	return Write{Namespace: s.namespace, Key: key, ExpectVersion: expectVersion, Now: s.now(), Delete: true}, nil
}

// List implements sdk.Storage.
func (s *services) List(ctx context.Context, prefix string) ([]string, error) {
	if len(prefix) > sdk.MaxKeyLen || !utf8.ValidString(prefix) || strings.ContainsRune(prefix, 0) {
		return nil, sdk.InvalidInput("bad storage prefix")
	}
	keys, err := s.backend.KVList(ctx, s.namespace, prefix, s.now())
	if err != nil {
		return nil, s.backendErr("list", prefix, err)
	}
	return keys, nil
}

// Count implements sdk.RateLimiter.
func (s *services) Count(ctx context.Context, key string, window time.Duration, limit int) (sdk.RateResult, error) {
	if err := checkKey(key); err != nil {
		return sdk.RateResult{}, err
	}
	if window <= 0 || limit <= 0 {
		return sdk.RateResult{}, sdk.InvalidInput("rate limit needs a positive window and limit")
	}
	r, err := s.backend.CountEvent(ctx, s.namespace+"/"+key, window, limit, s.now())
	if err != nil {
		return sdk.RateResult{}, s.backendErr("count", key, err)
	}
	return sdk.RateResult{Allowed: r.Allowed, Count: r.Count, RetryAfter: r.RetryAfter}, nil
}

// MailUser sends a plugin's message to one of the provider's users
// through the backend's Mailer (see sdk.SendMail); the address is the
// backend's, never the plugin's.
func (s *services) MailUser(ctx context.Context, userID, subject, text string) error {
	if err := sdk.CheckMail(userID, subject, text); err != nil {
		return err
	}
	if s.mailer == nil {
		return fmt.Errorf("%w: the host sends no mail", sdk.ErrUnavailable)
	}
	err := s.mailer.MailUser(ctx, userID, subject, text)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sdk.ErrNotFound):
		return fmt.Errorf("%w: no email address for this user", sdk.ErrNotFound)
	case errors.Is(err, sdk.ErrInvalidInput):
		return sdk.InvalidInput("mail: the user's address cannot take mail")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: mail not sent: %w", sdk.ErrUnavailable, err)
	}
	s.log.Error("plugin mail not sent", "namespace", s.namespace, "user", userID, "err", err)
	return fmt.Errorf("%w: mail not sent", sdk.ErrUnavailable)
}

// storageServer, rateLimitServer and mailServer serve the services to one
// plugin process over the go-plugin broker.
type storageServer struct {
	pluginpb.UnimplementedStorageServer
	s *services
}

func (g storageServer) Get(ctx context.Context, req *pluginpb.GetRequest) (*pluginpb.GetResponse, error) {
	v, ver, err := g.s.Get(ctx, req.GetKey())
	if err != nil {
		return nil, sdk.ToStatus(err)
	}
	return &pluginpb.GetResponse{Value: v, Version: ver}, nil
}

func (g storageServer) Put(ctx context.Context, req *pluginpb.PutRequest) (*pluginpb.PutResponse, error) {
	v, err := g.s.Put(ctx, req.GetKey(), req.GetValue(), req.GetExpectVersion(), time.Duration(req.GetTtlNanos()))
	if err != nil {
		return nil, sdk.ToStatus(err)
	}
	return &pluginpb.PutResponse{Version: v}, nil
}

func (g storageServer) Delete(ctx context.Context, req *pluginpb.DeleteRequest) (*pluginpb.DeleteResponse, error) {
	if err := g.s.Delete(ctx, req.GetKey(), req.GetExpectVersion()); err != nil {
		return nil, sdk.ToStatus(err)
	}
	return &pluginpb.DeleteResponse{}, nil
}

func (g storageServer) List(ctx context.Context, req *pluginpb.ListRequest) (*pluginpb.ListResponse, error) {
	keys, err := g.s.List(ctx, req.GetPrefix())
	if err != nil {
		return nil, sdk.ToStatus(err)
	}
	return &pluginpb.ListResponse{Keys: keys}, nil
}

type rateLimitServer struct {
	pluginpb.UnimplementedRateLimitServer
	s *services
}

func (g rateLimitServer) Count(ctx context.Context, req *pluginpb.CountRequest) (*pluginpb.CountResponse, error) {
	r, err := g.s.Count(ctx, req.GetKey(), time.Duration(req.GetWindowNanos()), int(req.GetLimit()))
	if err != nil {
		return nil, sdk.ToStatus(err)
	}
	return countResponse(r), nil
}

type mailServer struct {
	pluginpb.UnimplementedMailServer
	s *services
}

func (g mailServer) Send(ctx context.Context, req *pluginpb.MailRequest) (*pluginpb.MailResponse, error) {
	if err := g.s.MailUser(ctx, req.GetUserId(), req.GetSubject(), req.GetText()); err != nil {
		return nil, sdk.ToStatus(err)
	}
	return &pluginpb.MailResponse{}, nil
}

func countResponse(r sdk.RateResult) *pluginpb.CountResponse {
	out := &pluginpb.CountResponse{Allowed: r.Allowed, Count: int32(r.Count)}
	if !r.RetryAfter.IsZero() {
		out.RetryAfterUnixNano = r.RetryAfter.UnixNano()
	}
	return out
}
