package sdk

import (
	"context"
	"time"
)

// Method is a verification method: TOTP, a temporary code, a security key,
// a code sent by SMS... A plugin implements it and hands it to Serve.
//
// Every call but Describe receives the Host of that call. Calls may arrive
// concurrently, and from several hosts (replicas) sharing one storage: any
// state must live in Host.Storage, updated with compare-and-swap.
//
// Errors: return the sentinels of this package (wrapped with %w for detail
// that is safe to log) so that the host can tell the cases apart; any other
// error reaches the host as an opaque failure.
type Method interface {
	// Describe tells the host what the method is and can do. It is called
	// after Configure (when implemented) and must not depend on a user.
	Describe(ctx context.Context) (Description, error)

	// Begin starts a challenge for a user: it returns what the login page
	// shows and an ID that Verify will receive. ErrNotEnrolled when the
	// method needs an enrolment the user has not completed.
	Begin(ctx context.Context, h Host, req BeginRequest) (Challenge, error)

	// Verify checks a response to a challenge. A wrong response, an unknown
	// user or challenge, a replayed response and an expired challenge all
	// return ErrInvalidResponse, so that nothing leaks to the caller.
	// ErrRateLimited (see RateLimited) when a declared limit is reached.
	Verify(ctx context.Context, h Host, req VerifyRequest) (Result, error)

	// Enrol starts adding a credential for a user, with what the user
	// entered in Description.EnrolFields, and returns what the enrolment
	// page shows (for TOTP: a QR code, the otpauth:// URI and the key).
	// ErrAlreadyEnrolled when the user may hold only one.
	Enrol(ctx context.Context, h Host, req EnrolRequest) (Enrolment, error)

	// ConfirmEnrolment completes an enrolment with the user's first
	// response and returns the new credential. ErrInvalidResponse for a
	// wrong response or an unknown or expired enrolment.
	ConfirmEnrolment(ctx context.Context, h Host, req ConfirmRequest) (Credential, error)

	// ListCredentials returns the user's confirmed credentials, oldest
	// first; none is an empty list, not an error.
	ListCredentials(ctx context.Context, h Host, userID string) ([]Credential, error)

	// Remove deletes one credential of the user. ErrNotFound when the user
	// has no credential with that ID.
	Remove(ctx context.Context, h Host, userID, credentialID string) error

	// Admin runs one of the actions named in Description.AdminActions on
	// behalf of an administrator the host has already authorised. An
	// unknown action is ErrInvalidInput.
	Admin(ctx context.Context, h Host, req AdminRequest) (map[string]string, error)
}

// Configurable is implemented by a Method that takes settings from the
// host's configuration (the keys under methods.NAME). Configure is called
// once per process, before Describe and before any other call; an error
// stops the method from starting (make it say which key is wrong).
type Configurable interface {
	Configure(settings map[string]string) error
}

// Renamer is implemented by a Method whose credentials the user may
// rename; it declares so with Description.Renamable, which is what the
// host asks. Rename gives the user's credential the name label (already
// checked with CredentialLabel); ErrNotFound when the user has no
// credential with that ID.
type Renamer interface {
	Rename(ctx context.Context, h Host, userID, credentialID, label string) error
}

// Operation names used in Limit.Operation.
const (
	OpBegin   = "begin"
	OpVerify  = "verify"
	OpEnrol   = "enrol"
	OpConfirm = "confirm"
)

// Description is what Describe returns: the capabilities the host relies
// on when it chooses a method for a user.
type Description struct {
	// Name is the method's own name ("totp"). The host reports the name the
	// method is configured under, which is usually the same.
	Name string
	// DisplayName is the human name shown under "use another method".
	DisplayName string
	// Levels are the assurance levels the method can complete ("aal2").
	Levels []string
	// AMR are the RFC 8176 values a successful Verify adds ("otp").
	AMR []string
	// NeedsEnrolment: Begin fails with ErrNotEnrolled for a user who has
	// not confirmed an enrolment.
	NeedsEnrolment bool
	// Priority orders eligible methods: the highest is offered first.
	Priority int
	// Bypass: while the user holds a live credential of this method, the
	// host offers it before every other method, whatever the priorities
	// (an active temporary code). It still needs a level that reaches the
	// request's target.
	Bypass bool
	// Restricted: a restricted authenticator in NIST SP 800-63B's sense
	// (SMS): the enrolment page says so and offers the stronger methods
	// the user can add.
	Restricted bool
	// Managed: the user's credentials of this method come from an
	// administrator or the configuration, never from the user (email
	// codes an administrator turned on): the account page offers neither
	// Add nor Remove for it. Enrol may refuse with an InputError.
	Managed bool
	// ExceptWith are the configured names of other methods: the host does
	// not offer this method to a user who holds a credential of one of
	// them, unless the user's credential of this method is
	// Credential.Explicit (email codes are not offered to a user with a
	// verified phone, unless an administrator turned them on for that
	// user).
	ExceptWith []string
	// SentEvent is the type of an audit event the host writes each time
	// Begin or Enrol succeeded, for a method that sends something then (a
	// code by text message or email: "sms.sent"); empty: none.
	SentEvent string
	// Settings are the keys under methods.NAME that Configure takes, with
	// their types, bounds and defaults: the host refuses a configuration
	// with any other key before the method starts (CheckSettings). Nil: an
	// older plugin that declares none; only its Configure checks.
	Settings []Setting
	// NamesCredentials: the method names its credentials itself (a masked
	// number, "Recovery codes"), so the enrolment page asks for no name
	// and ConfirmRequest.Label is empty.
	NamesCredentials bool
	// Renamable: the user may rename a credential on the account page;
	// the Method implements Renamer. Serve sets it for a Method that
	// implements Renamer.
	Renamable bool
	// AdminActions are the action names Admin accepts.
	AdminActions []string
	// Admin describes the actions of AdminActions that the host offers
	// administrators: in its admin API, on its admin page, in its
	// break-glass command (see AdminAction). An action not described here
	// is offered nowhere, though Admin still accepts it.
	Admin []AdminAction
	// UsedEvent is the type of an audit event the host writes, besides
	// verification.succeeded, on each successful verification
	// ("tempcode.used"); empty: none.
	UsedEvent string
	// Removal says how the account page offers removing a credential.
	Removal Removal
	// EnrolFields are the inputs the enrolment page asks for before it
	// calls Enrol (the phone number to send a first code to); their values
	// arrive as EnrolRequest.Params by Field.Name. None: the page calls
	// Enrol at once.
	EnrolFields []Field
	// Limits are the per-user limits the method enforces itself; the
	// conformance kit checks each of them.
	Limits []Limit
	// UserRecords are the keys of the method's storage that hold one
	// user's records, each with UserPlaceholder for the user's ID
	// ("account/{user}"). The host reads them just before every call about
	// a user and sends them along, so Storage().Get of them answers
	// without a call back to the host. Writes still go to the host, and
	// compare-and-swap on the version keeps them safe across replicas.
	// At most MaxUserRecords; declare only what most calls read.
	UserRecords []string
	// FirstFactor: the method can also identify the user itself (a
	// discoverable passkey): the host may call Begin with an empty
	// BeginRequest.User, show that challenge before it knows who signs in,
	// and call Verify with an empty VerifyRequest.UserID; a successful
	// Verify then names the user in Result.UserID, and its Result.Levels
	// say what it reached on its own (none: it identified the user only).
	FirstFactor bool
}

// UserPlaceholder stands for the user's ID in Description.UserRecords.
const UserPlaceholder = "{user}"

// MaxUserRecords bounds Description.UserRecords.
const MaxUserRecords = 8

// Limit declares that the method refuses the Max+1st call of Operation for
// one user within Window with ErrRateLimited (with FailuresOnly, the call
// after Max failed ones).
type Limit struct {
	Operation string
	Max       int
	Window    time.Duration
	// Key is the RateLimiter key the method counts Operation under, with
	// UserPlaceholder for the user's ID ("verify/{user}"), if it counts
	// with CheckLimit(ctx, h, Key, Window, Max). For OpVerify and OpBegin
	// the host then counts the call itself just before making it and
	// sends the result along, so that count answers without a call back
	// to the host (a Begin that sends a message: SendBudget.Limit).
	// Empty: the method counts as it likes.
	Key string
	// FailuresOnly, for OpVerify with a Key: only failed verifications
	// count towards Max, so that a user who verifies often is never
	// refused a right response. The host counts each attempt ahead of the
	// call as usual (so that of concurrent attempts at most Max reach the
	// method), and gives the attempt back once the verification succeeded.
	// The method's CheckLimit stays as it is. A host that does not know
	// the flag, or one that did not count ahead, counts every attempt:
	// never more than Max failures either way.
	FailuresOnly bool
}

// User is the person a call is about, as the host knows them.
type User struct {
	ID       string
	Username string
	Email    string
	Phone    string
}

// Field is one input of a challenge or enrolment form. Name is the key
// under which the value comes back in a response map.
type Field struct {
	Name  string
	Label string
	// Type is the HTML input type ("text", "password", "tel"...).
	Type string
	// Autocomplete is the HTML autocomplete token ("one-time-code").
	Autocomplete string
	// InputMode is the HTML inputmode ("numeric").
	InputMode string
	// Pattern is the HTML pattern attribute, empty for none.
	Pattern   string
	MaxLength int
}

// BeginRequest asks for a challenge for User (no User: a first-factor
// challenge, see Description.FirstFactor).
type BeginRequest struct {
	User User
	// Level is the level the host aims for ("aal3"), so that the method
	// can offer only the credentials that reach it; empty: not said (an
	// older host), offer them all.
	Level string
}

// Challenge is what Begin returns.
type Challenge struct {
	// ID identifies the challenge in Verify.
	ID string
	// Prompt is the sentence the page shows above the fields.
	Prompt string
	Fields []Field
	// Public is data the page may show or hand to a script (for WebAuthn,
	// the request options); never a secret.
	Public map[string]string
	// ExpiresAt is when Verify stops accepting responses to it.
	ExpiresAt time.Time
}

// VerifyRequest carries a user's response to a challenge.
type VerifyRequest struct {
	UserID      string
	ChallengeID string
	// Response holds the submitted fields by Field.Name.
	Response map[string]string
}

// Result is a successful verification.
type Result struct {
	// AMR are the RFC 8176 values this verification adds.
	AMR []string
	// CredentialID is the credential that answered, when the method has any.
	CredentialID string
	// Notice is a sentence for the user about this verification ("A
	// recovery code was used; 7 of 10 are left."), never a secret: the host
	// emails it to the user once it has accepted the verification.
	Notice string
	// Renew: the credential that answered is used up (the last recovery
	// code), so the host asks the user to set the method up again before
	// the sign-in goes on (they may decline).
	Renew bool
	// Levels are the levels this verification reached, when they depend on
	// how it went (a security key's flags in this ceremony): never more
	// than Description.Levels. Empty: Description.Levels.
	Levels []string
	// UserID is the user a first-factor verification identified
	// (Description.FirstFactor); empty otherwise. The host refuses a
	// result naming another user than the request's.
	UserID string
}

// EnrolRequest starts an enrolment for User.
type EnrolRequest struct {
	User User
	// Params are what the user entered in Description.EnrolFields, by
	// Field.Name (a phone number); empty when the method declares none.
	Params map[string]string
}

// Enrolment is what Enrol returns: what the enrolment page shows.
type Enrolment struct {
	// ID identifies the pending enrolment in ConfirmEnrolment.
	ID     string
	Prompt string
	// Fields are what ConfirmEnrolment needs in its Response.
	Fields []Field
	// Displays are what the page shows above the form, in order: a QR
	// code, a link, a key to copy by hand, codes to save.
	Displays []Display
	// Display and ImagePNG are how methods built with an earlier sdk show
	// things (TOTP's "otpauth_uri" and "secret", and its QR code): the
	// host reads them only when Displays is empty. New methods use
	// Displays.
	Display   map[string]string
	ImagePNG  []byte
	ExpiresAt time.Time
}

// ConfirmRequest completes an enrolment.
type ConfirmRequest struct {
	User        User
	EnrolmentID string
	// Label is the user's name for the credential; the method picks one
	// when it is empty.
	Label    string
	Response map[string]string
}

// Credential is one enrolled credential of a user.
type Credential struct {
	ID        string
	Label     string
	CreatedAt time.Time
	// Warning is what the account page shows beside the credential as an
	// alert ("Only 2 codes left: generate a new set"); empty: none.
	Warning string
	// Explicit: the credential was given to this user in particular (an
	// administrator turned the method on for them), not to everyone by
	// the configuration. It keeps the method offered despite
	// Description.ExceptWith.
	Explicit bool
	// MaxLevel is the highest level a verification with this credential
	// can reach, when it is below Description.Levels' highest (a synced
	// passkey never reaches aal3). Empty: any of Description.Levels. The
	// host offers the method only for the levels some credential of the
	// user reaches.
	MaxLevel string
	// LastUsedAt is when the credential last verified; zero: never, or
	// not kept.
	LastUsedAt time.Time
	// Note says what kind of credential it is, for the account page
	// ("Synced passkey"); empty: nothing.
	Note string
}

// AdminRequest runs an administrative action (for example issuing a
// temporary code) for User.
type AdminRequest struct {
	Action string
	User   User
	Params map[string]string
	// Actor is who runs the action, as the audit log names them
	// ("helpdesk", "client:ID", "break-glass"); empty from a host that does
	// not say.
	Actor string
}
