package storage

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// Sentinel errors. Backends wrap them with %w; callers compare with errors.Is.
var (
	// ErrNotFound: no row with that key (or it has expired).
	ErrNotFound = errors.New("storage: not found")
	// ErrAlreadyExists: a create collided with an existing unique key.
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrConflict: a compare-and-swap saw a different version than expected.
	ErrConflict = errors.New("storage: version conflict")
	// ErrUnavailable: the database cannot be reached (closed, down, out of
	// time); nothing was read or written. See Unavailable.
	ErrUnavailable = errors.New("storage: database unavailable")
)

// Unavailable reports whether err means the database could not be
// reached, rather than an answer from it: ErrUnavailable, a network error
// on the way (a refused or broken connection, as a restarting PostgreSQL
// gives), or a deadline. The callers answer it 503 with Retry-After,
// never with a verdict.
func Unavailable(err error) bool {
	var ne net.Error
	return errors.Is(err, ErrUnavailable) || errors.As(err, &ne) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded)
}

// Option configures a backend at Open.
type Option func(*Options)

// Options are what every backend's Open takes besides its address.
type Options struct {
	// Now is the clock by which the store judges expiry where a method
	// takes no now argument; nil is time.Now. The provider passes its own
	// clock, so that expiry is judged by one clock everywhere.
	Now func() time.Time
}

// WithClock makes the store judge expiry by now instead of the wall clock.
func WithClock(now func() time.Time) Option { return func(o *Options) { o.Now = now } }

// Apply returns the options opts set, with defaults filled in.
func Apply(opts ...Option) Options {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Store is the whole persistence contract. Every method is safe for
// concurrent use by many goroutines and by several processes sharing one
// database; every "atomically" below holds across processes.
//
// Times are stored with at least millisecond precision and returned in UTC.
// A row is live while the clock is before its ExpiresAt and behaves as
// absent (ErrNotFound) from that instant on, even before PurgeExpired
// removes it; a zero ExpiresAt never expires. Methods without a now
// argument judge expiry by the clock the store was opened with (WithClock;
// the wall clock by default), read at each call; methods with one judge by
// it alone.
//
// The fn of an Update method runs inside the transaction, holding the row
// (on SQLite, the only writer): it must be quick and must not call the Store.
type Store interface {
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
	// PurgeExpired deletes rows whose expiry is before now (auth requests,
	// redeemed-code records, sessions, refresh and access tokens, rate
	// events, KV entries, retired keys past ExpiresAt, trusted browsers)
	// and returns how many went.
	PurgeExpired(ctx context.Context, now time.Time) (int64, error)

	// CreateUser stores a new user, and events with it in the same
	// transaction (its audit event: a user is never created without it).
	// ErrAlreadyExists if the ID, the username or the upstream link is
	// taken (usernames compare case-sensitively; callers normalise);
	// nothing is written then.
	CreateUser(ctx context.Context, u User, events ...Event) error
	// GetUser returns the user by ID.
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByUsername returns the user by username.
	GetUserByUsername(ctx context.Context, username string) (User, error)
	// GetUserByUpstream returns the user linked to the account subject at
	// the upstream identity provider issuer (User.UpstreamIssuer and
	// UpstreamSub); an empty subject links no one (ErrNotFound).
	GetUserByUpstream(ctx context.Context, issuer, subject string) (User, error)
	// ListUsers returns all users ordered by username.
	ListUsers(ctx context.Context) ([]User, error)
	// LookAlike returns the first username (in byte order) other than
	// except whose Skeleton is skeleton, in one indexed lookup;
	// ErrNotFound when there is none.
	LookAlike(ctx context.Context, skeleton, except string) (string, error)
	// UpdateUser applies fn to the current user inside one transaction and
	// stores the result (ID and CreatedAt cannot change), with events in
	// the same transaction (the change's audit event, and its mail): all
	// or nothing. An error from fn aborts and is returned unchanged.
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error), events ...Event) (User, error)

	// CreateAuthRequest stores a new authorization request, and events
	// with it in the same transaction (what began with it: a code sent
	// for its challenge). ErrAlreadyExists if the ID is taken; nothing is
	// written then.
	CreateAuthRequest(ctx context.Context, r AuthRequest, events ...Event) error
	// GetAuthRequest returns the request by ID.
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	// UpdateAuthRequest applies fn to the request inside one transaction.
	UpdateAuthRequest(ctx context.Context, id string, fn func(AuthRequest) (AuthRequest, error)) (AuthRequest, error)
	// DeleteAuthRequest removes the request. Deleting an absent request is
	// not an error.
	DeleteAuthRequest(ctx context.Context, id string) error
	// RedeemAuthRequest is what redeeming an authorization code does: in
	// one transaction it removes the live, done request, records its
	// redemption (a RedeemedCode with the request's fields, live until the
	// request and the tokens issued have all expired) and stores the
	// access token issued for it and, when rt is non-nil, the refresh
	// token, both with GrantID id (whatever they carried). Of two
	// concurrent calls exactly one succeeds and the other gets ErrNotFound,
	// as does a request that is absent, expired or not done; then nothing
	// is stored.
	RedeemAuthRequest(ctx context.Context, id string, rt *RefreshToken, at AccessToken) error
	// GetRedeemedCode returns the live record of request id's redemption.
	GetRedeemedCode(ctx context.Context, id string) (RedeemedCode, error)
	// RevokeCodeGrant is what a second redemption of a code does (RFC 6749
	// §4.1.2): when request id was redeemed and its record is live, it
	// removes every refresh and access token whose GrantID is id (those of
	// the redemption and those rotated from them, even one a concurrent
	// RotateRefreshToken is storing) and returns the record and how many
	// live tokens went. ErrNotFound when there is no live record; then
	// nothing changes. The record stays until it expires, so a later call
	// finds it again.
	RevokeCodeGrant(ctx context.Context, id string) (RedeemedCode, int64, error)

	// GetSession returns the session by ID.
	GetSession(ctx context.Context, id string) (Session, error)
	// GetSessionUser returns the session by ID with its user, in one read.
	// The user is the zero User when the session has none or its user no
	// longer exists; an absent or expired session is ErrNotFound, as in
	// GetSession.
	GetSessionUser(ctx context.Context, id string) (Session, User, error)
	// DeleteSession removes a session, with events in the same
	// transaction; absent is not an error.
	DeleteSession(ctx context.Context, id string, events ...Event) error
	// SaveLogin writes one step of a login in one transaction (see
	// LoginWrite) and returns the updated or created request, or the
	// zero request when w names none. An error from w.Update aborts the whole write and
	// is returned unchanged.
	SaveLogin(ctx context.Context, w LoginWrite) (AuthRequest, error)
	// DeleteUserSessions removes every session of a user and returns how
	// many went.
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)

	// CreateRefreshToken stores a refresh token (keyed by the hash of the
	// value the client holds) and, when at is non-nil, an access token issued
	// with it, in one transaction.
	CreateRefreshToken(ctx context.Context, rt RefreshToken, at *AccessToken) error
	// GetRefreshToken returns the live token with that hash. A token whose
	// user is absent or inactive is not live (ErrNotFound): a deactivated
	// user's grants are dead even before their tokens are deleted.
	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// RotateRefreshToken atomically deletes the token with oldHash and stores
	// next (and at, when non-nil), both with the GrantID of the token they
	// replace. Of two concurrent rotations of one token exactly one
	// succeeds; the other gets ErrNotFound.
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken, at *AccessToken) error
	// DeleteRefreshToken removes one refresh token, with events in the
	// same transaction; absent is not an error.
	DeleteRefreshToken(ctx context.Context, hash string, events ...Event) error
	// DeleteUserTokens removes every refresh and access token of a user, or
	// only those of clientID when it is not empty, and returns how many went.
	DeleteUserTokens(ctx context.Context, userID, clientID string) (int64, error)

	// CreateAccessToken records an issued access token so that it can be
	// revoked and introspected.
	CreateAccessToken(ctx context.Context, at AccessToken) error
	// GetAccessToken returns the live access token by ID.
	GetAccessToken(ctx context.Context, id string) (AccessToken, error)
	// DeleteAccessToken revokes one access token, with events in the same
	// transaction; absent is not an error.
	DeleteAccessToken(ctx context.Context, id string, events ...Event) error

	// CreateSigningKey stores a new key. ErrAlreadyExists on a duplicate ID.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every key not yet past ExpiresAt, newest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// RetireSigningKeys sets RetiredAt=at and ExpiresAt=expires on every key
	// of algorithm alg that is not retired yet, except keepID.
	RetireSigningKeys(ctx context.Context, alg, keepID string, at, expires time.Time) error

	// AppendEvent adds an audit event (and queues its Mail, in the same
	// transaction). The backend assigns Seq.
	AppendEvent(ctx context.Context, e Event) error
	// ListEvents returns events matching f, newest first, at most f.Limit
	// (default 100), starting strictly below f.BeforeSeq when it is set.
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)

	// CountEvent atomically records one event for key at now unless the
	// number of events for key after now-window has already reached limit.
	// Events stamped after now count too: a concurrent caller that read its
	// clock later (or a replica whose clock is ahead) may reach the store
	// first. It returns whether the event was recorded, the count in the
	// window after the call, and, when refused, when the oldest counted
	// event leaves the window. Of N concurrent calls with room for k, exactly
	// k are allowed, whatever the order of their nows.
	CountEvent(ctx context.Context, key string, window time.Duration, limit int, now time.Time) (RateResult, error)

	// RecordFailure atomically adds one consecutive failure for key. When the
	// count reaches max, the key is locked until now+lockFor and the count
	// starts again from zero. It returns the state after the call. onLock
	// are written in the same transaction when the key is locked after it
	// (the lockout's audit event: a lock never starts without it).
	RecordFailure(ctx context.Context, key string, max int, lockFor time.Duration, now time.Time, onLock ...Event) (Lockout, error)
	// ResetFailures clears the count (not an active lock) for key.
	ResetFailures(ctx context.Context, key string) error
	// GetLockout returns the state for key; an unknown key is unlocked with
	// zero failures.
	GetLockout(ctx context.Context, key string, now time.Time) (Lockout, error)

	// CreateTrustedBrowser stores a browser a user trusted, and events
	// with it in the same transaction. ErrAlreadyExists if its Hash or ID
	// is taken; nothing is written then.
	CreateTrustedBrowser(ctx context.Context, b TrustedBrowser, events ...Event) error
	// GetTrustedBrowser returns the live trusted browser whose cookie
	// hashes to hash, whoever's it is (the caller checks the user).
	GetTrustedBrowser(ctx context.Context, hash string) (TrustedBrowser, error)
	// TouchTrustedBrowser sets LastUsedAt of the live trusted browser with
	// hash to at. ErrNotFound when there is none (forgotten or expired
	// since it was read): then the browser must not spare a factor.
	TouchTrustedBrowser(ctx context.Context, hash string, at time.Time) error
	// ListTrustedBrowsers returns a user's live trusted browsers, the most
	// recently trusted first.
	ListTrustedBrowsers(ctx context.Context, userID string) ([]TrustedBrowser, error)
	// DeleteTrustedBrowser removes the user's live trusted browser id and
	// appends events in the same transaction. ErrNotFound when the user
	// has no live browser id (another user's is not the user's); nothing
	// is written then.
	DeleteTrustedBrowser(ctx context.Context, userID, id string, events ...Event) error
	// DeleteUserTrustedBrowsers removes every trusted browser of a user,
	// appends events in the same transaction (also when there was none),
	// and returns how many live ones went.
	DeleteUserTrustedBrowsers(ctx context.Context, userID string, events ...Event) (int64, error)

	// KVGet returns one entry of a namespace (a plugin's storage view).
	KVGet(ctx context.Context, namespace, key string, now time.Time) (KVEntry, error)
	// KVGetMany returns the entries of keys in namespace live at now, in
	// one query (a method's records of a user, sent with each call): a
	// key that is absent or expired is missing from the map. No keys is
	// an empty map, without a query.
	KVGetMany(ctx context.Context, namespace string, keys []string, now time.Time) (map[string]KVEntry, error)
	// KVPut stores value under key. With expectVersion 0 the key must be
	// absent (else ErrConflict); with expectVersion >0 the stored version
	// must equal it (else ErrConflict); with expectVersion -1 it overwrites
	// unconditionally. The new version is returned. expiresAt zero means
	// never. events are written in the same transaction (a method's
	// credential and its method.added event): a refused put writes none.
	KVPut(ctx context.Context, namespace, key string, value []byte, expectVersion int64, expiresAt time.Time, now time.Time, events ...Event) (int64, error)
	// KVDelete removes key; with expectVersion >0 only at that version
	// (else ErrConflict). Absent is not an error when expectVersion is -1.
	// Other values of expectVersion are an error. events are written in
	// the same transaction; a refused delete writes none.
	KVDelete(ctx context.Context, namespace, key string, expectVersion int64, events ...Event) error

	// ClaimMail claims up to limit outbox messages due at now (NextAt not
	// after now) that no live claim holds, for lease: each comes back
	// with a new Claim token and Attempts counted up. A claim is
	// exclusive across processes: of concurrent callers, each message
	// goes to one. A claim that lapsed (a worker that died while sending)
	// is claimed again: delivery is at least once.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error)
	// FinishMail removes a claimed message (sent, or given up), with
	// events in the same transaction. ErrConflict when claim is no longer
	// the message's (the lease lapsed and another worker claimed it);
	// then nothing is written.
	FinishMail(ctx context.Context, id int64, claim string, events ...Event) error
	// FinishMails removes the claimed messages that were sent, in one
	// transaction: those whose claim is no longer theirs are left alone
	// and come back in lapsed.
	FinishMails(ctx context.Context, sent []MailClaim) (lapsed []int64, err error)
	// RetryMail releases a claimed message after a failed attempt: it is
	// due again at next, with lastErr kept. ErrConflict as FinishMail.
	RetryMail(ctx context.Context, id int64, claim string, next time.Time, lastErr string) error
	// KVList returns the keys of a namespace that start with prefix, sorted.
	KVList(ctx context.Context, namespace, prefix string, now time.Time) ([]string, error)
}
