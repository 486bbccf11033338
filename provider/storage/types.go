package storage

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// User is a local account.
type User struct {
	ID       string
	Username string
	Email    string
	// Name is the user's full name ("Alice Liddell"), from the upstream
	// IdP's name claim; empty when none is known.
	Name         string
	Phone        string
	PasswordHash string // argon2id PHC string; empty: no local password
	Active       bool
	Permissions  []string // e.g. "manage_mfa"
	// UpstreamIssuer and UpstreamSub name the account at the upstream
	// identity provider this user is linked to (SPEC §11); empty: none.
	// The pair is unique among users.
	UpstreamIssuer string
	UpstreamSub    string
	// Skeleton is the username's look-alike form (username.Skeleton),
	// set by whoever names the user; the store indexes it (LookAlike).
	Skeleton  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewUserID returns a new random user ID (96 bits, base64url), for
// every path that creates a user: the admin service, an upstream account's
// first sign-in, an external-MFA hint.
func NewUserID() string {
	b := make([]byte, 12)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HasPermission reports whether the user holds permission p.
func (u User) HasPermission(p string) bool {
	for _, have := range u.Permissions {
		if have == p {
			return true
		}
	}
	return false
}

// Factor is one authentication factor a session has completed.
type Factor struct {
	Method string   // "password", "upstream", or a verification method's name
	First  bool     // a first factor (password, upstream IdP, id_token_hint)
	Levels []string // second factors: the levels it satisfies
	// Both: a first factor that is a second one too (a passkey with user
	// verification, authflow.Factor.Both): its Levels count.
	Both bool      `json:",omitempty"`
	AMR  []string  // RFC 8176 values it contributes
	Time time.Time // when it was completed
	// IDToken is, for a sign-in at the upstream whose session stepup ends
	// too (upstream.end_session), the upstream's ID token: the
	// id_token_hint of that logout.
	IDToken string `json:",omitempty"`
}

// AuthRequest is an OpenID Connect authorization request and how far its
// login has come. Data is opaque to the store (the provider's JSON of the
// request parameters and progress); the typed fields are the ones the store
// itself may need.
type AuthRequest struct {
	ID        string
	ClientID  string
	SessionID string // browser session that is completing it, if any
	UserID    string // set once the user is known
	Done      bool   // login finished; a code may be issued
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Session is a browser's login session, referenced by an encrypted cookie.
type Session struct {
	ID        string
	UserID    string
	Factors   []Factor
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// LoginWrite is what one step of a login changes, written by
// Store.SaveLogin in one transaction, so that a completed factor, the
// request it completes and their audit events are stored together or not
// at all.
type LoginWrite struct {
	// Session, when its ID is set, is stored and replaces the session
	// OldSessionID (which may be empty or absent): a browser never holds
	// two live sessions nor none. ErrAlreadyExists if Session.ID is taken.
	OldSessionID string
	Session      Session
	// AuthRequestID, when set, names the live request that Update is
	// applied to (ErrNotFound when there is none), as by UpdateAuthRequest.
	AuthRequestID string
	Update        func(AuthRequest) (AuthRequest, error)
	// Create, when its ID is set (and AuthRequestID is not), is stored as
	// a new request, as by CreateAuthRequest.
	Create AuthRequest
	// KV, when set, is a method's write that belongs to this step (the
	// code a challenge sent): made as by KVPut or KVDelete, and its
	// ErrConflict aborts the whole write.
	KV *KVWrite
	// Events are appended to the audit log.
	Events []Event
}

// KVWrite is one KVPut (or, with Delete, one KVDelete) made inside
// another write; see LoginWrite.KV.
type KVWrite struct {
	Namespace, Key string
	Value          []byte
	ExpectVersion  int64
	ExpiresAt      time.Time
	Now            time.Time
	Delete         bool
}

// RefreshToken is a long-lived grant. Hash is the SHA-256 (hex) of the
// value the client holds; the value itself is never stored.
type RefreshToken struct {
	Hash      string
	ID        string // stable public identifier (for revocation and audit)
	ClientID  string
	UserID    string
	Scopes    []string
	Audience  []string
	ACR       string
	AMR       []string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	// GrantID is the ID of the auth request whose code began this
	// token's line of rotations (see Store.RevokeCodeGrant); empty for a
	// token not from a code.
	GrantID string
}

// AccessToken records an issued JWT access token by its jti.
type AccessToken struct {
	ID             string
	ClientID       string
	UserID         string // empty for client-credentials tokens
	Scopes         []string
	Audience       []string
	ACR            string
	AMR            []string
	AuthTime       time.Time
	RefreshTokenID string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	GrantID        string // as RefreshToken.GrantID
}

// RedeemedCode records the redemption of an authorization code, so that a
// second use can be checked as the first was, and revoke the tokens the
// first was given (RFC 6749 §4.1.2).
type RedeemedCode struct {
	RequestID  string // the auth request the code named
	ClientID   string
	UserID     string
	Data       []byte    // the request's Data when it was redeemed
	RedeemedAt time.Time // the store's clock (WithClock) at the redemption
	ExpiresAt  time.Time // when the request and the tokens first issued have all expired
}

// SigningKey is a token-signing key. PrivateKey is encrypted by the caller
// before it reaches the store.
type SigningKey struct {
	ID         string
	Algorithm  string // "ES256", "RS256"
	PrivateKey []byte
	CreatedAt  time.Time
	RetiredAt  time.Time // zero: active
	ExpiresAt  time.Time // zero: never; set when retired (published until then)
}

// Event is one audit-log entry.
type Event struct {
	Seq        int64 // assigned by the store, increasing
	Time       time.Time
	Type       string // e.g. "login.password.failed", "tempcode.issued"
	Actor      string // who acted: a username, "client:ID", "system"
	UserID     string // whom it concerns
	ClientID   string
	RemoteAddr string
	Outcome    string // "success", "failure", "denied", ...
	Details    map[string]string
	// Mail, when set, is a notification that must follow the event (the
	// "a method was added" email): the store queues it in its outbox in
	// the same transaction as the event, and a worker delivers it after
	// commit (ClaimMail). Never read back by ListEvents.
	Mail *Mail
}

// MailClaim names a claimed outbox message: its ID and its claim's token.
type MailClaim struct {
	ID    int64
	Claim string
}

// Mail is one message in the store's outbox: queued with the change it
// follows, claimed by one worker at a time, sent at least once.
type Mail struct {
	ID int64 // assigned by the store
	// Kind says what the message is ("method added"), for the log and the
	// audit event of a message given up; never its text.
	Kind    string
	UserID  string
	To      string
	Subject string
	Text    string
	// Attempts counts the claims so far, the current one included: a
	// worker that crashed while sending used one up.
	Attempts int
	// NextAt is when the message is due; zero when queued is "now" (the
	// event's time).
	NextAt    time.Time
	CreatedAt time.Time
	// Claim is the token of the current claim (ClaimMail), which
	// FinishMail and RetryMail must present.
	Claim string
	// LastError is why the previous attempt failed (no secret: a
	// mailer's error).
	LastError string
}

// EventFilter selects audit events. Zero fields match everything.
type EventFilter struct {
	UserID    string
	Type      string    // exact type, or a prefix ending in "." ("login.")
	Since     time.Time // inclusive
	Until     time.Time // exclusive
	BeforeSeq int64
	Limit     int
}

// RateResult is the outcome of Store.CountEvent.
type RateResult struct {
	Allowed    bool
	Count      int
	RetryAfter time.Time // when refused: when room frees up
}

// Lockout is the consecutive-failure state of one key.
type Lockout struct {
	Failures    int
	LockedUntil time.Time // zero: not locked
}

// Locked reports whether the key is locked at now.
func (l Lockout) Locked(now time.Time) bool { return now.Before(l.LockedUntil) }

// KVEntry is a value in a namespaced key-value view.
type KVEntry struct {
	Value     []byte
	Version   int64
	ExpiresAt time.Time
}

// TrustedBrowser is a browser on which a user chose "don't ask again"
// after a second factor (SPEC §5). Hash is the SHA-256 of the opaque
// value the browser's cookie holds; the value itself is never stored.
type TrustedBrowser struct {
	Hash   string
	ID     string // public identifier: the account page's "forget", the audit log
	UserID string
	Name   string // from the user agent when trusted, e.g. "Chrome on Linux"
	// Method, Levels and AMR are the second factor that earned the trust:
	// what a login that the browser spares says was done (Levels capped
	// below the levels a trusted browser never reaches).
	Method     string
	Levels     []string
	AMR        []string
	CreatedAt  time.Time // when the factor was done and the browser trusted
	LastUsedAt time.Time // zero: never used to skip a factor yet
	ExpiresAt  time.Time
}
