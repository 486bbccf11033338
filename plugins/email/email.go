package email

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Name is the method's own name.
const Name = "email"

// Defaults and bounds of the settings Configure accepts.
const (
	DefaultPriority = 30
	DefaultMaxLevel = "aal2"
	DefaultCodeTTL  = 10 * time.Minute
	MinCodeTTL      = time.Minute
	MaxCodeTTL      = time.Hour
	DefaultProduct  = "stepup"
)

// Rules of the codes and the messages (SPEC §6).
const (
	// CodeDigits is the length of a code.
	CodeDigits = 6
	// TriesPerCode is how many wrong codes a user may enter within a
	// code's lifetime, whatever the number of codes sent meanwhile: a new
	// code does not bring new tries.
	TriesPerCode = 5
	// MessagesPerHour is how many codes go to one user in any rolling
	// hour (SendWindow); a message the host could not send is not counted.
	MessagesPerHour = 5
	// SendWindow is the rolling window of MessagesPerHour.
	SendWindow = time.Hour
	// FailuresPerMessage bounds the sends the host did not make at this
	// many times MessagesPerHour per user in SendWindow, so that a user
	// cannot make stepup hammer a mail server that is down.
	FailuresPerMessage = 2
)

// ExceptWith is the method a user may hold that keeps them from being
// offered email codes for everyone (the seed: not with a verified phone),
// unless an administrator turned them on for that user.
const ExceptWith = "sms"

// The admin actions, offered by the host as
// /admin/v1/users/{username}/email-codes (Resource), on its admin page,
// and as the member "email_codes" of PATCH /admin/v1/users/{username}
// (PatchField).
const (
	// ActionStatus (GET): "enabled" (for this user), "for_everyone",
	// "summary" and, when enabled, "enabled_at" (RFC 3339) and
	// "enabled_by".
	ActionStatus = "status"
	// ActionEnable (POST) turns email codes on for the user: "enabled"
	// ("true") and "changed" ("false" when they were on already).
	ActionEnable = "enable"
	// ActionDisable (DELETE) turns them off for the user and voids a code
	// sent: "disabled" ("false" when they were not on for the user).
	ActionDisable = "disable"
)

// Resource is the admin API's name of a user's email codes, and
// PatchField the member of the PATCH of the user that sets them.
const (
	Resource   = "email-codes"
	PatchField = "email_codes"
)

// Audit event types the host writes for the method.
const (
	EventUsed     = "email.used"
	EventSent     = "email.sent"
	EventEnabled  = "email.enabled"
	EventRefused  = "email.enable_refused"
	EventDisabled = "email.disabled"
)

// CredentialID is the ID of the one credential a user holds: email codes
// on for them.
const CredentialID = "email"

// User-facing sentences.
const (
	// MsgNotSent is what a user is told when the host did not send the
	// message.
	MsgNotSent = "We could not send you an email just now. Try again in a few minutes, or use another method."
	// MsgNoAddress is what a user without an email address is told.
	MsgNoAddress = "There is no email address on your account, so we cannot email you a code. Use another method, or ask your help desk."
	// MsgTooManyF is what a user is told who asks for one code more than
	// MessagesPerHour allows: %d is MessagesPerHour, %s when they may ask
	// again (UTC).
	MsgTooManyF = "We cannot email you another code just now: we send at most %d in any hour. Try again after %s UTC, or use another method."
	// Subject is the subject of every message: no code in it, which mail
	// clients show in notifications.
	Subject = "Your verification code"

	msgPromptF       = "Enter the 6-digit code we emailed to %s."
	msgPrompt        = "Enter the 6-digit code we emailed to you."
	msgSelfEnrol     = "Email codes are turned on by your administrator, not on this page."
	msgLabel         = "Email codes"
	msgTextF         = "Your %s verification code is:\n\n    %s\n\nIt is valid for %s. Don't share it with anyone: nobody from %[1]s will ever ask you for it.\n\nIf you did not just try to sign in, someone may know your password: change it, or tell your help desk.\n"
	msgStatusOnF     = "Email codes are on for this user (since %s UTC%s)."
	msgStatusBy      = ", by %s"
	msgStatusAll     = "Email codes are on for everyone, but not for a user who has set up text messages unless they are allowed here."
	msgStatusOff     = "Email codes are off for this user."
	msgEnabled       = "Email codes are on for this user."
	msgDisabled      = "Email codes are off for this user."
	maxProductLength = 40
)

// Method is the email method. Create it with New. One Method serves one
// host namespace (a plugin process serves one method).
type Method struct {
	priority    int
	forEveryone bool
	maxLevel    string
	codeTTL     time.Duration
	product     string

	secret *sdk.SharedKey // hashes codes and signs challenge IDs
}

// New returns the method with its defaults.
func New() sdk.Method {
	return &Method{
		priority: DefaultPriority, maxLevel: DefaultMaxLevel, codeTTL: DefaultCodeTTL, product: DefaultProduct,
		secret: &sdk.SharedKey{Name: keyName},
	}
}

// Configure implements sdk.Configurable. Keys: priority; for_everyone
// (true: every user is offered email codes, but a user with a phone for
// text messages only once an administrator allowed them); max_level (aal2,
// or aal1 for a deployment that follows NIST SP 800-63B-4, which does not
// count email as an authenticator: then a code never raises a session
// above the password); code_ttl (1m to 1h). From the host:
// sdk.SettingProductName, which each message names. Other keys are
// ignored. A bad value is an *sdk.SettingError naming its key.
func (m *Method) Configure(s map[string]string) error {
	if v, ok := s["priority"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 1<<20 {
			return sdk.InvalidSetting("priority", v, fmt.Sprintf("use a whole number from 0 to %d", 1<<20))
		}
		m.priority = n
	}
	if v, ok := s["for_everyone"]; ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return sdk.InvalidSetting("for_everyone", v, "use true or false")
		}
		m.forEveryone = b
	}
	if v, ok := s["max_level"]; ok {
		switch l := strings.TrimSpace(v); l {
		case "aal1", "aal2":
			m.maxLevel = l
		default:
			return sdk.InvalidSetting("max_level", v, "use aal2, or aal1 to follow NIST SP 800-63B-4")
		}
	}
	if v, ok := s["code_ttl"]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < MinCodeTTL || d > MaxCodeTTL || d%time.Minute != 0 {
			return sdk.InvalidSetting("code_ttl", v, `use whole minutes from 1m to 1h such as "10m"`)
		}
		m.codeTTL = d
	}
	if v := productName(s[sdk.SettingProductName]); v != "" {
		m.product = v
	}
	return nil
}

// productName is what a message may say of ui.product_name: one line,
// not too long.
func productName(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > maxProductLength {
		s = strings.TrimSpace(string(r[:maxProductLength]))
	}
	return s
}

// DefaultSettings returns the settings a new Method runs with, as
// Configure takes them: for_everyone, max_level and code_ttl. stepup
// shows them as the defaults under methods.email (plugins.Defaults).
func (m *Method) DefaultSettings() map[string]string {
	return map[string]string{"for_everyone": "false", "max_level": DefaultMaxLevel, "code_ttl": "10m"}
}

// declaredSettings are the keys Configure takes (sdk.Description.Settings).
var declaredSettings = []sdk.Setting{
	{Name: "for_everyone", Type: sdk.SettingBool, Default: "false"},
	{Name: "max_level", Type: sdk.SettingChoice, Choices: []string{"aal1", "aal2"}, Default: "aal2"},
	{Name: "code_ttl", Type: sdk.SettingDuration, Min: "1m", Max: "1h", Default: "10m"},
}

// Describe implements sdk.Method. The method reaches max_level only: with
// aal1 it is never offered for a step-up, as a code by email then counts
// for nothing beyond the password.
func (m *Method) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Settings:       declaredSettings,
		Name:           Name,
		DisplayName:    "Code by email",
		Levels:         []string{m.maxLevel},
		AMR:            []string{"otp"},
		NeedsEnrolment: true,
		Managed:        true,
		ExceptWith:     []string{ExceptWith},
		Priority:       m.priority,
		AdminActions:   []string{ActionStatus, ActionEnable, ActionDisable},
		Admin: []sdk.AdminAction{
			{
				Name: ActionStatus, Resource: Resource, Verb: sdk.VerbGet, Label: "Email codes",
				Results: []sdk.AdminResult{
					{Name: "enabled", Type: sdk.ResultBool},
					{Name: "for_everyone", Type: sdk.ResultBool},
					{Name: "enabled_at", Label: "Allowed", Type: sdk.ResultTime},
					{Name: "enabled_by", Label: "Allowed by"},
					{Name: "summary", Type: sdk.ResultSummary},
				},
			},
			{
				Name: ActionEnable, Resource: Resource, Verb: sdk.VerbPost, Label: "Allow email codes", OfferedIf: "!enabled",
				Results: []sdk.AdminResult{{Name: "enabled", Type: sdk.ResultBool}, {Name: "changed", Type: sdk.ResultBool}},
				Event:   EventEnabled, EventIf: "changed", RefusedEvent: EventRefused, Done: msgEnabled, NotForSelf: true,
				PatchField: PatchField,
			},
			{
				Name: ActionDisable, Resource: Resource, Verb: sdk.VerbDelete, Label: "Stop email codes", OfferedIf: "enabled",
				Results: []sdk.AdminResult{{Name: "disabled", Type: sdk.ResultBool}},
				Event:   EventDisabled, EventIf: "disabled", Done: msgDisabled, PatchField: PatchField,
			},
		},
		UsedEvent: EventUsed,
		SentEvent: EventSent,
		Limits: []sdk.Limit{
			// Failed codes, across the codes sent within a code's lifetime:
			// a new code does not bring new tries.
			{Operation: sdk.OpVerify, Max: TriesPerCode, Window: m.codeTTL, Key: verifyKey(sdk.UserPlaceholder), FailuresOnly: true},
			budget.Limit(sdk.OpBegin), // the message a challenge sends
		},
		UserRecords: []string{enabledKey(sdk.UserPlaceholder), codeKey(sdk.UserPlaceholder), failedKey(sdk.UserPlaceholder)},
	}, nil
}

// enabled is the record of an administrator's turning email codes on for
// one user.
type enabled struct {
	At time.Time `json:"at"`
	By string    `json:"by,omitempty"`
}

// sentCode is the last code sent to a user, as a keyed hash.
type sentCode struct {
	ID        string    `json:"id"`
	Hash      []byte    `json:"hash"` // codeHash(key, user, ID, code)
	ExpiresAt time.Time `json:"expires_at"`
	Used      bool      `json:"used,omitempty"`
}

func (c sentCode) live(now time.Time) bool {
	return !c.Used && len(c.Hash) == sha256.Size && now.Before(c.ExpiresAt)
}

func enabledKey(userID string) string { return "enabled/" + userID }
func codeKey(userID string) string    { return "code/" + userID }
func failedKey(userID string) string  { return "send-failed/" + userID }

// Rate-limiter keys: messages sent, and verifications (the host counts
// them ahead and gives successes back).
func sendKey(userID string) string   { return "send/" + userID }
func verifyKey(userID string) string { return "verify/" + userID }

// keyName holds the key that hashes codes and signs challenge IDs.
const keyName = "hmac-key"

var codeField = sdk.Field{
	Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code",
	InputMode: "numeric", Pattern: "[0-9]{6}", MaxLength: CodeDigits,
}

// allowed reads whether the user may use email codes, and whether an
// administrator allowed them for that user in particular.
func (m *Method) allowed(ctx context.Context, st sdk.Storage, userID string) (on, explicit bool, at enabled, err error) {
	_, err = sdk.GetJSON(ctx, st, enabledKey(userID), &at)
	switch {
	case err == nil:
		return true, true, at, nil
	case errors.Is(err, sdk.ErrNotFound):
		return m.forEveryone, false, enabled{}, nil
	}
	return false, false, enabled{}, err
}

// Begin implements sdk.Method: it emails a new code to the user (see send
// for the hourly limit) and keeps its hash, which a committing host writes
// with the challenge it keeps (sdk.PutOnCommit); the method stores no
// challenge, its ID is signed for the user and the code
// (sdk.NewChallengeID). A code
// sent before is replaced, but the failures made with it still count
// (Describe's verify limit).
func (m *Method) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	userID := req.User.ID
	if !sdk.ValidID(userID) {
		return sdk.Challenge{}, sdk.InvalidInput("email: bad user ID")
	}
	st, now := h.Storage(), h.Now()
	on, _, _, err := m.allowed(ctx, st, userID)
	switch {
	case err != nil:
		return sdk.Challenge{}, err
	case !on:
		return sdk.Challenge{}, sdk.ErrNotEnrolled
	case strings.TrimSpace(req.User.Email) == "":
		return sdk.Challenge{}, sdk.Unavailable("%s", MsgNoAddress)
	}
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Challenge{}, err
	}
	code, id, err := newCode()
	if err != nil {
		return sdk.Challenge{}, err
	}
	if err := m.send(ctx, h, userID, code); err != nil {
		return sdk.Challenge{}, err
	}
	expires := now.Add(m.codeTTL).Truncate(time.Second) // as the ID carries it
	c := sentCode{ID: id, Hash: codeHash(key, userID, id, code), ExpiresAt: expires}
	if err := sdk.PutJSONOnCommit(ctx, st, codeKey(userID), c, sdk.AnyVersion, expires.Sub(now)); err != nil {
		return sdk.Challenge{}, err
	}
	chID, err := sdk.NewChallengeID(key, Name, expires, userID, id)
	if err != nil {
		return sdk.Challenge{}, err
	}
	prompt := msgPrompt
	if masked := MaskAddress(req.User.Email); masked != "" {
		prompt = fmt.Sprintf(msgPromptF, masked)
	}
	return sdk.Challenge{ID: chID, Prompt: prompt, Fields: []sdk.Field{codeField}, ExpiresAt: expires}, nil
}

// Verify implements sdk.Method. Every way to fail but a rate limit or an
// outage is the bare sdk.ErrInvalidResponse, after the same work: a wrong
// or used code, another user's or an expired challenge, and a user for
// whom email codes were turned off since the code was sent. No round trip
// to the host: the records come with the call (UserRecords), the host
// counts the attempt ahead (the verify limit) and writes the spent code
// as it accepts (PutOnAccept).
func (m *Method) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if !sdk.ValidID(req.UserID) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	limitErr := sdk.CheckLimit(ctx, h, verifyKey(req.UserID), m.codeTTL, TriesPerCode)
	on, _, _, onErr := m.allowed(ctx, st, req.UserID)
	var c sentCode
	version, codeErr := sdk.GetJSON(ctx, st, codeKey(req.UserID), &c)
	key, keyErr := m.secret.Get(ctx, st)
	switch {
	case limitErr != nil:
		return sdk.Result{}, limitErr
	case keyErr != nil:
		return sdk.Result{}, keyErr
	case onErr != nil:
		return sdk.Result{}, onErr
	case codeErr != nil && !errors.Is(codeErr, sdk.ErrNotFound):
		return sdk.Result{}, codeErr
	}
	code := normalise(req.Response["code"])
	for range 4 {
		// Check everything before deciding, so that the work done does not
		// tell which check failed.
		want := c.Hash
		if len(want) != sha256.Size {
			want = make([]byte, sha256.Size)
		}
		codeOK := hmac.Equal(codeHash(key, req.UserID, c.ID, code), want)
		chOK := sdk.CheckChallengeID(key, Name, req.ChallengeID, now, req.UserID, c.ID)
		if !codeOK || !chOK || !on || !c.live(now) {
			return sdk.Result{}, sdk.ErrInvalidResponse
		}
		c.Used = true
		raw, err := json.Marshal(c)
		if err != nil {
			return sdk.Result{}, err
		}
		err = sdk.PutOnAccept(ctx, h, codeKey(req.UserID), raw, version, c.ExpiresAt.Sub(now))
		if errors.Is(err, sdk.ErrConflict) {
			// Another verification (or a new code) won the race; look again.
			c = sentCode{}
			if version, err = sdk.GetJSON(ctx, st, codeKey(req.UserID), &c); err != nil {
				return sdk.Result{}, invalid(err)
			}
			continue
		}
		if err != nil {
			return sdk.Result{}, err
		}
		return sdk.Result{AMR: []string{"otp"}, CredentialID: CredentialID}, nil
	}
	return sdk.Result{}, sdk.ErrInvalidResponse
}

// Enrol implements sdk.Method: a user cannot turn email codes on.
func (m *Method) Enrol(context.Context, sdk.Host, sdk.EnrolRequest) (sdk.Enrolment, error) {
	return sdk.Enrolment{}, sdk.InvalidInput(msgSelfEnrol)
}

// ConfirmEnrolment implements sdk.Method: there is nothing to confirm.
func (m *Method) ConfirmEnrolment(context.Context, sdk.Host, sdk.ConfirmRequest) (sdk.Credential, error) {
	return sdk.Credential{}, sdk.InvalidInput(msgSelfEnrol)
}

// ListCredentials implements sdk.Method: one credential, CredentialID,
// while email codes are on for the user (Explicit) or for everyone; none
// otherwise. It does not know the address, which is the host's.
func (m *Method) ListCredentials(ctx context.Context, h sdk.Host, userID string) ([]sdk.Credential, error) {
	if !sdk.ValidID(userID) {
		return []sdk.Credential{}, nil
	}
	on, explicit, at, err := m.allowed(ctx, h.Storage(), userID)
	if err != nil {
		return nil, err
	}
	if !on {
		return []sdk.Credential{}, nil
	}
	return []sdk.Credential{{ID: CredentialID, Label: msgLabel, CreatedAt: at.At, Explicit: explicit}}, nil
}

// Remove implements sdk.Method: an administrator disconnecting the method
// turns email codes off for the user, as ActionDisable does. ErrNotFound
// when they were not on for that user in particular (for everyone, they
// stay on: only the configuration turns that off).
func (m *Method) Remove(ctx context.Context, h sdk.Host, userID, credentialID string) error {
	if !sdk.ValidID(userID) || credentialID != CredentialID {
		return sdk.ErrNotFound
	}
	ok, err := disable(ctx, h.Storage(), userID)
	if err != nil {
		return err
	}
	if !ok {
		return sdk.ErrNotFound
	}
	return nil
}

// Admin implements sdk.Method: status, enable and disable (see the Action
// constants).
func (m *Method) Admin(ctx context.Context, h sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	switch req.Action {
	case ActionStatus, ActionEnable, ActionDisable:
	default:
		return nil, sdk.InvalidInput("email has no action %q", req.Action)
	}
	userID := req.User.ID
	if !sdk.ValidID(userID) {
		return nil, sdk.InvalidInput("email: bad user ID")
	}
	st := h.Storage()
	switch req.Action {
	case ActionStatus:
		_, explicit, at, err := m.allowed(ctx, st, userID)
		if err != nil {
			return nil, err
		}
		out := map[string]string{"enabled": strconv.FormatBool(explicit), "for_everyone": strconv.FormatBool(m.forEveryone)}
		switch {
		case explicit:
			by := ""
			if at.By != "" {
				by = fmt.Sprintf(msgStatusBy, at.By)
			}
			out["enabled_at"], out["enabled_by"] = at.At.UTC().Format(time.RFC3339), at.By
			out["summary"] = fmt.Sprintf(msgStatusOnF, at.At.UTC().Format("2006-01-02 15:04"), by)
		case m.forEveryone:
			out["summary"] = msgStatusAll
		default:
			out["summary"] = msgStatusOff
		}
		return out, nil
	case ActionEnable:
		actor := strings.TrimSpace(req.Actor)
		if len(actor) > 256 || !utf8.ValidString(actor) {
			return nil, sdk.InvalidInput("actor must be at most 256 bytes of UTF-8")
		}
		// The switch is the action's committing write (with its event, on
		// a committing host), so whether it changes anything is read first.
		if _, _, err := st.Get(ctx, enabledKey(userID)); err == nil {
			return map[string]string{"enabled": "true", "changed": "false"}, nil
		} else if !errors.Is(err, sdk.ErrNotFound) {
			return nil, err
		}
		raw, err := json.Marshal(enabled{At: h.Now(), By: actor})
		if err != nil {
			return nil, err
		}
		err = sdk.PutOnCommit(ctx, st, enabledKey(userID), raw, sdk.MustNotExist, 0)
		if err != nil && !errors.Is(err, sdk.ErrConflict) {
			return nil, err
		}
		return map[string]string{"enabled": "true", "changed": strconv.FormatBool(err == nil)}, nil
	default:
		ok, err := disable(ctx, st, userID)
		if err != nil {
			return nil, err
		}
		return map[string]string{"disabled": strconv.FormatBool(ok)}, nil
	}
}

// disable turns email codes off for the user and voids the code sent, and
// reports whether they were on for that user.
func disable(ctx context.Context, st sdk.Storage, userID string) (bool, error) {
	for range 4 {
		_, version, err := st.Get(ctx, enabledKey(userID))
		if errors.Is(err, sdk.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		err = sdk.DeleteOnCommit(ctx, st, enabledKey(userID), version) // with its event, on a committing host
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			return false, err
		}
		_ = st.Delete(ctx, codeKey(userID), sdk.AnyVersion) // Verify refuses it anyway
		return true, nil
	}
	return false, fmt.Errorf("%w: email: the user's record keeps changing", sdk.ErrUnavailable)
}

// send counts one message against the user's hourly budget, then asks the
// host to email it; a message the host did not send gives its count back
// (sdk.SendBudget) and is an *sdk.UnavailableError saying MsgNotSent (or
// MsgNoAddress).
func (m *Method) send(ctx context.Context, h sdk.Host, userID, code string) error {
	return budget.Send(ctx, h, userID, func() error {
		err := sdk.SendMail(ctx, h, userID, Subject, m.text(code))
		if err == nil {
			return nil
		}
		// The host's error is for the log only: wrapping its sentinel would
		// send ErrNotFound or ErrInvalidInput on to the host.
		msg := MsgNotSent
		if errors.Is(err, sdk.ErrNotFound) {
			msg = MsgNoAddress
		}
		return fmt.Errorf("%w (%v)", sdk.Unavailable("%s", msg), err)
	})
}

// budget is the hourly budget of messages per user (MessagesPerHour).
var budget = sdk.SendBudget{CountKey: sendKey, FailedKey: failedKey, Window: SendWindow, Max: MessagesPerHour,
	FailuresPerMax: FailuresPerMessage, Refusal: func(until time.Time) string {
		return fmt.Sprintf(MsgTooManyF, MessagesPerHour, until.UTC().Format("15:04"))
	}}

// text is the message that carries code: it names the product, says how
// long the code is valid, and warns against sharing it.
func (m *Method) text(code string) string {
	return fmt.Sprintf(msgTextF, m.product, code, minutes(m.codeTTL))
}

// minutes writes d, whole minutes, as "10 minutes" or "1 minute".
func minutes(d time.Duration) string {
	n := int(d / time.Minute)
	if n == 1 {
		return "1 minute"
	}
	return strconv.Itoa(n) + " minutes"
}

// MaskAddress shows an address as pages and logs may: its first character,
// dots, and its domain ("a•••@example.com"); "" for anything that is not
// one address.
func MaskAddress(addr string) string {
	local, domain, ok := strings.Cut(strings.TrimSpace(addr), "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(domain, "@ \t\r\n") || !utf8.ValidString(addr) {
		return ""
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "•••@" + domain
}

// codeHash is what is stored of a code: HMAC-SHA-256 under the method's
// key of the user, the code's ID and the code.
func codeHash(key []byte, userID, id, code string) []byte {
	return sdk.KeyedHash(key, "stepup email code", userID, id, code)
}

// newCode returns CodeDigits uniformly random decimal digits and an ID
// for them.
func newCode() (code, id string, err error) { return sdk.NewDigitCode(CodeDigits) }

// normalise drops the spaces and dashes a person types to group digits,
// and bounds the work on a silly long answer.
func normalise(code string) string { return sdk.TypedDigits(code) }

// invalid maps "no such record" (and a lost race for it) to the one error
// every failed verification gets; an outage stays an outage.
func invalid(err error) error {
	if errors.Is(err, sdk.ErrNotFound) || errors.Is(err, sdk.ErrConflict) {
		return sdk.ErrInvalidResponse
	}
	return err
}
