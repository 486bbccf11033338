package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sms/gateway"
)

// Name is the method's own name.
const Name = "sms"

// Defaults and bounds of the settings Configure accepts.
const (
	DefaultPriority = 40
	DefaultPerHour  = 5
	MaxPerHour      = 20
	DefaultCodeTTL  = 10 * time.Minute
	MinCodeTTL      = time.Minute
	MaxCodeTTL      = time.Hour
	DefaultProduct  = "stepup"
)

// Rules of the codes (SPEC §6).
const (
	// CodeDigits is the length of a code.
	CodeDigits = 6
	// TriesPerCode is how many wrong codes a user may enter within a
	// code's lifetime, whatever the number of codes sent meanwhile: a new
	// code does not bring new tries.
	TriesPerCode = 5
	// SendWindow is the rolling window of per_hour.
	SendWindow = time.Hour
	// FailuresPerSend bounds the sends the gateway refused at this many
	// times per_hour per user in SendWindow, so that a user cannot make
	// stepup hammer a gateway that is down.
	FailuresPerSend = 2
)

// The admin actions, offered by the host as
// /admin/v1/users/{username}/phone (Resource) and on its admin page.
const (
	// ActionStatus (GET): "enrolled" ("true"/"false"), "summary" and, when
	// enrolled, "phone" (masked) and "enrolled_at" (RFC 3339).
	ActionStatus = "status"
	// ActionRemove (DELETE) removes the user's number and any code sent to
	// it: "removed" ("true", or "false" when there was none) and "phone"
	// (masked).
	ActionRemove = "remove"
)

// Resource is the admin API's name of a user's mobile number.
const Resource = "phone"

// Audit event types the host writes for the method.
const (
	EventUsed    = "sms.used"
	EventSent    = "sms.sent"
	EventRemoved = "sms.removed"
)

// User-facing sentences.
const (
	// MsgTooManyMessages is what a user is told who asks for one message
	// more than per_hour allows (the seed's words, SPEC §6).
	MsgTooManyMessages = "Unable to send you a verification code at this time. You may have attempted too many verifications in the last hour. Try again later."
	// MsgNotSent is what a user is told when the gateway did not take the
	// message.
	MsgNotSent = "We could not send you a text message just now. Try again in a few minutes, or use another method."

	msgSentToF       = "We sent a code to %s"
	msgEnrolPrompt   = "Enter the 6-digit code from the text message to confirm your number."
	msgPromptF       = "Enter the 6-digit code we sent by text message to %s."
	msgTextF         = "Your %s verification code is %s. Don't share it with anyone."
	msgStatusNone    = "No mobile number is set up for text messages."
	msgStatusF       = "Codes go by text message to %s."
	msgRemoved       = "The mobile number was removed: the user signs in with their other methods."
	maxProductLength = 40
)

// Method is the SMS method. Create it with New. One Method serves one host
// namespace (a plugin process serves one method).
type Method struct {
	priority int
	perHour  int
	codeTTL  time.Duration
	product  string
	host     string // of the "@HOST #CODE" line; "" leaves it out
	sender   gateway.Sender

	secret *sdk.SharedKey // hashes codes and signs challenge IDs
}

// New returns the method with its defaults, sending to the outbox.
func New() sdk.Method {
	return &Method{
		priority: DefaultPriority, perHour: DefaultPerHour, codeTTL: DefaultCodeTTL, product: DefaultProduct,
		sender: must(gateway.New("", gateway.Options{})),
		secret: &sdk.SharedKey{Name: keyName},
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Configure implements sdk.Configurable. Keys: priority; per_hour (1 to
// 20 messages per user in any rolling hour, enrolment included); code_ttl
// (how long a code is valid, 1m to 1h); gateway (see package gateway).
// From the host: sdk.SettingIssuer (whose host name ends each message),
// sdk.SettingProductName (which each message names) and
// sdk.SettingOutboxDir (where the outbox gateway writes). Other keys are
// ignored. A bad value is an *sdk.SettingError naming its key.
func (m *Method) Configure(s map[string]string) error {
	for _, c := range []struct {
		key    string
		dst    *int
		lo, hi int
	}{{"priority", &m.priority, 0, 1 << 20}, {"per_hour", &m.perHour, 1, MaxPerHour}} {
		v, ok := s[c.key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < c.lo || n > c.hi {
			return sdk.InvalidSetting(c.key, v, fmt.Sprintf("use a whole number from %d to %d", c.lo, c.hi))
		}
		*c.dst = n
	}
	if v, ok := s["code_ttl"]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < MinCodeTTL || d > MaxCodeTTL {
			return sdk.InvalidSetting("code_ttl", v, `use a duration from 1m to 1h such as "10m"`)
		}
		m.codeTTL = d
	}
	if v, ok := s[sdk.SettingIssuer]; ok {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || u.Hostname() == "" {
			return sdk.InvalidSetting(sdk.SettingIssuer, v, "use the issuer URL, such as https://login.example.com")
		}
		m.host = strings.ToLower(u.Hostname())
	}
	if v := productName(s[sdk.SettingProductName]); v != "" {
		m.product = v
	}
	sender, err := gateway.New(s[gateway.Setting], gateway.Options{OutboxDir: s[sdk.SettingOutboxDir]})
	if err != nil {
		return err
	}
	m.sender = sender
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
// Configure takes them: per_hour, code_ttl and gateway. stepup shows them
// as the defaults under methods.sms (plugins.Defaults).
func (m *Method) DefaultSettings() map[string]string {
	return map[string]string{
		"per_hour": strconv.Itoa(DefaultPerHour),
		"code_ttl": "10m",
		"gateway":  `{"kind":"outbox"}`,
	}
}

// declaredSettings are the keys Configure takes (sdk.Description.Settings).
var declaredSettings = []sdk.Setting{
	{Name: "per_hour", Type: sdk.SettingInt, Min: "1", Max: strconv.Itoa(MaxPerHour), Default: strconv.Itoa(DefaultPerHour)},
	{Name: "code_ttl", Type: sdk.SettingDuration, Min: "1m", Max: "1h", Default: "10m"},
	{Name: "gateway", Type: sdk.SettingObject, Default: `{"kind":"outbox"}`},
}

// Describe implements sdk.Method.
func (m *Method) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Settings:       declaredSettings,
		Name:           Name,
		DisplayName:    "Text message (SMS)",
		Levels:         []string{"aal2"},
		AMR:            []string{"sms"},
		NeedsEnrolment: true,
		Restricted:     true,
		Priority:       m.priority,
		AdminActions:   []string{ActionStatus, ActionRemove},
		Admin: []sdk.AdminAction{
			{
				Name: ActionStatus, Resource: Resource, Verb: sdk.VerbGet, Label: "Mobile number (SMS)",
				Results: []sdk.AdminResult{
					{Name: "enrolled", Type: sdk.ResultBool},
					{Name: "phone", Label: "Number"},
					{Name: "enrolled_at", Label: "Set up", Type: sdk.ResultTime},
					{Name: "summary", Type: sdk.ResultSummary},
				},
			},
			{
				Name: ActionRemove, Resource: Resource, Verb: sdk.VerbDelete, Label: "Remove number", OfferedIf: "enrolled",
				Results: []sdk.AdminResult{{Name: "removed", Type: sdk.ResultBool}, {Name: "phone", Label: "Number"}},
				Event:   EventRemoved, EventIf: "removed", Done: msgRemoved,
			},
		},
		UsedEvent:        EventUsed,
		SentEvent:        EventSent,
		NamesCredentials: true,
		EnrolFields:      []sdk.Field{{Name: "phone", Label: "Mobile number", Type: "tel", Autocomplete: "tel", MaxLength: 32}},
		Limits: []sdk.Limit{
			// Failed codes, across the codes sent within a code's lifetime:
			// a new code does not bring new tries.
			{Operation: sdk.OpVerify, Max: TriesPerCode, Window: m.codeTTL, Key: verifyKey(sdk.UserPlaceholder), FailuresOnly: true},
			{Operation: sdk.OpConfirm, Max: TriesPerCode, Window: m.codeTTL},
			m.budget().Limit(sdk.OpBegin), // the message a challenge sends
		},
		UserRecords: []string{accountKey(sdk.UserPlaceholder), codeKey(sdk.UserPlaceholder), failedKey(sdk.UserPlaceholder)},
	}, nil
}

// account is a user's confirmed number: the one SMS credential a user has.
type account struct {
	CredentialID string    `json:"credential_id"`
	Label        string    `json:"label"` // the masked number
	CreatedAt    time.Time `json:"created_at"`
	Phone        string    `json:"phone"` // E.164
}

// sentCode is the last code sent for a challenge, as a keyed hash.
type sentCode struct {
	ID           string    `json:"id"`
	CredentialID string    `json:"credential_id"` // the number it went to
	Hash         []byte    `json:"hash"`          // codeHash(key, purposeVerify, user, ID, code)
	ExpiresAt    time.Time `json:"expires_at"`
	Used         bool      `json:"used,omitempty"`
}

func (c sentCode) live(now time.Time) bool {
	return !c.Used && len(c.Hash) == sha256.Size && now.Before(c.ExpiresAt)
}

// pending is an enrolment waiting for the code sent to its number.
type pending struct {
	ID        string    `json:"id"`
	Phone     string    `json:"phone"`
	Hash      []byte    `json:"hash"` // codeHash(key, purposeEnrol, user, ID, code)
	ExpiresAt time.Time `json:"expires_at"`
}

func accountKey(userID string) string { return "account/" + userID }
func codeKey(userID string) string    { return "code/" + userID }
func pendingKey(userID string) string { return "pending/" + userID }
func failedKey(userID string) string  { return "send-failed/" + userID }

// Rate-limiter keys: messages sent, verifications (the host counts them
// ahead and gives successes back) and confirmations.
func sendKey(userID string) string    { return "send/" + userID }
func verifyKey(userID string) string  { return "verify/" + userID }
func confirmKey(userID string) string { return "confirm/" + userID }

// keyName holds the key that hashes codes and signs challenge IDs.
const keyName = "hmac-key"

// Purposes of codeHash: a code sent for a challenge never confirms an
// enrolment, nor the other way round.
const (
	purposeVerify = "verify"
	purposeEnrol  = "enrol"
)

var codeField = sdk.Field{
	Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code",
	InputMode: "numeric", Pattern: "[0-9]{6}", MaxLength: CodeDigits,
}

// Begin implements sdk.Method: it sends a new code to the user's number
// (see send for the hourly limit) and keeps its hash, which a committing
// host writes with the challenge it keeps (sdk.PutOnCommit); the method
// stores no challenge, its ID is signed for the user and the code
// (sdk.NewChallengeID).
// A code sent before is replaced, but the failures made with it still
// count (Describe's verify limit).
func (m *Method) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	userID := req.User.ID
	if !sdk.ValidID(userID) {
		return sdk.Challenge{}, sdk.InvalidInput("sms: bad user ID")
	}
	st, now := h.Storage(), h.Now()
	var acc account
	if _, err := sdk.GetJSON(ctx, st, accountKey(userID), &acc); err != nil {
		if errors.Is(err, sdk.ErrNotFound) {
			return sdk.Challenge{}, sdk.ErrNotEnrolled
		}
		return sdk.Challenge{}, err
	}
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Challenge{}, err
	}
	code, id, err := newCode()
	if err != nil {
		return sdk.Challenge{}, err
	}
	if err := m.send(ctx, h, userID, acc.Phone, code); err != nil {
		return sdk.Challenge{}, err
	}
	expires := now.Add(m.codeTTL).Truncate(time.Second) // as the ID carries it
	c := sentCode{ID: id, CredentialID: acc.CredentialID, Hash: codeHash(key, purposeVerify, userID, id, code), ExpiresAt: expires}
	if err := sdk.PutJSONOnCommit(ctx, st, codeKey(userID), c, sdk.AnyVersion, expires.Sub(now)); err != nil {
		return sdk.Challenge{}, err
	}
	chID, err := sdk.NewChallengeID(key, Name, expires, userID, id)
	if err != nil {
		return sdk.Challenge{}, err
	}
	return sdk.Challenge{
		ID:        chID,
		Prompt:    fmt.Sprintf(msgPromptF, MaskPhone(acc.Phone)),
		Fields:    []sdk.Field{codeField},
		ExpiresAt: expires,
	}, nil
}

// Verify implements sdk.Method. Every way to fail but a rate limit or an
// outage is the bare sdk.ErrInvalidResponse, after the same work. No
// round trip to the host: the records come with the call (UserRecords),
// the host counts the attempt ahead (the verify limit) and writes the
// spent code as it accepts (PutOnAccept).
func (m *Method) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if !sdk.ValidID(req.UserID) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	limitErr := sdk.CheckLimit(ctx, h, verifyKey(req.UserID), m.codeTTL, TriesPerCode)
	var acc account
	_, accErr := sdk.GetJSON(ctx, st, accountKey(req.UserID), &acc)
	var c sentCode
	version, codeErr := sdk.GetJSON(ctx, st, codeKey(req.UserID), &c)
	key, keyErr := m.secret.Get(ctx, st)
	switch {
	case limitErr != nil:
		return sdk.Result{}, limitErr
	case keyErr != nil:
		return sdk.Result{}, keyErr
	case accErr != nil && !errors.Is(accErr, sdk.ErrNotFound):
		return sdk.Result{}, accErr
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
		codeOK := hmac.Equal(codeHash(key, purposeVerify, req.UserID, c.ID, code), want)
		chOK := sdk.CheckChallengeID(key, Name, req.ChallengeID, now, req.UserID, c.ID)
		sameNumber := acc.CredentialID != "" && subtle.ConstantTimeCompare([]byte(acc.CredentialID), []byte(c.CredentialID)) == 1
		if !codeOK || !chOK || !sameNumber || !c.live(now) {
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
		return sdk.Result{AMR: []string{"sms"}, CredentialID: acc.CredentialID}, nil
	}
	return sdk.Result{}, sdk.ErrInvalidResponse
}

// Enrol implements sdk.Method. Params: "phone", the mobile number to
// confirm (see ParsePhone). It sends a code to that number, counted
// against per_hour like any message. A user who has a number already
// enrols a new one: the confirmation replaces it.
func (m *Method) Enrol(ctx context.Context, h sdk.Host, req sdk.EnrolRequest) (sdk.Enrolment, error) {
	userID := req.User.ID
	if !sdk.ValidID(userID) {
		return sdk.Enrolment{}, sdk.InvalidInput("sms: bad user ID")
	}
	phone, err := ParsePhone(req.Params["phone"])
	if err != nil {
		return sdk.Enrolment{}, err
	}
	st, now := h.Storage(), h.Now()
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Enrolment{}, err
	}
	code, id, err := newCode()
	if err != nil {
		return sdk.Enrolment{}, err
	}
	if err := m.send(ctx, h, userID, phone, code); err != nil {
		return sdk.Enrolment{}, err
	}
	expires := now.Add(m.codeTTL)
	p := pending{ID: id, Phone: phone, Hash: codeHash(key, purposeEnrol, userID, id, code), ExpiresAt: expires}
	if err := sdk.PutJSON(ctx, st, pendingKey(userID), p, sdk.AnyVersion, m.codeTTL); err != nil {
		return sdk.Enrolment{}, err
	}
	return sdk.Enrolment{
		ID:     id,
		Prompt: msgEnrolPrompt,
		Fields: []sdk.Field{codeField},
		Displays: []sdk.Display{
			{Kind: sdk.DisplayText, Value: fmt.Sprintf(msgSentToF, MaskPhone(phone))},
		},
		ExpiresAt: expires,
	}, nil
}

// ConfirmEnrolment implements sdk.Method: the code sent by Enrol makes its
// number the user's, in place of any number before (a new credential,
// labelled with the masked number; the label the user gave is not used).
// A code sent to the number before stops working.
func (m *Method) ConfirmEnrolment(ctx context.Context, h sdk.Host, req sdk.ConfirmRequest) (sdk.Credential, error) {
	userID := req.User.ID
	if !sdk.ValidID(userID) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	if err := sdk.CheckLimit(ctx, h, confirmKey(userID), m.codeTTL, TriesPerCode); err != nil {
		return sdk.Credential{}, err
	}
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Credential{}, err
	}
	var p pending
	pVersion, err := sdk.GetJSON(ctx, st, pendingKey(userID), &p)
	if err != nil {
		return sdk.Credential{}, invalid(err)
	}
	idOK := subtle.ConstantTimeCompare([]byte(p.ID), []byte(req.EnrolmentID)) == 1
	codeOK := hmac.Equal(codeHash(key, purposeEnrol, userID, p.ID, normalise(req.Response["code"])), p.Hash)
	if !idOK || !codeOK || !now.Before(p.ExpiresAt) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	// Spend the enrolment: of concurrent confirmations one wins.
	if err := st.Delete(ctx, pendingKey(userID), pVersion); err != nil {
		return sdk.Credential{}, invalid(err)
	}
	credID, err := sdk.RandomID()
	if err != nil {
		return sdk.Credential{}, err
	}
	acc := account{CredentialID: credID, Label: MaskPhone(p.Phone), CreatedAt: now, Phone: p.Phone}
	raw, err := json.Marshal(acc)
	if err != nil {
		return sdk.Credential{}, err
	}
	// The number is the call's change: a committing host stores it with
	// its method.added event (and mail), in one transaction.
	if err := sdk.PutOnCommit(ctx, st, accountKey(userID), raw, sdk.AnyVersion, 0); err != nil {
		return sdk.Credential{}, err
	}
	_ = st.Delete(ctx, codeKey(userID), sdk.AnyVersion) // it is bound to the old number anyway
	return sdk.Credential{ID: credID, Label: acc.Label, CreatedAt: now}, nil
}

// ListCredentials implements sdk.Method: none or one, labelled with the
// masked number.
func (m *Method) ListCredentials(ctx context.Context, h sdk.Host, userID string) ([]sdk.Credential, error) {
	if !sdk.ValidID(userID) {
		return []sdk.Credential{}, nil
	}
	return sdk.ListOneCredential(ctx, h.Storage(), accountKey(userID))
}

// Remove implements sdk.Method: the user gives up their number, and any
// code sent to it stops working.
func (m *Method) Remove(ctx context.Context, h sdk.Host, userID, credentialID string) error {
	if !sdk.ValidID(userID) {
		return sdk.ErrNotFound
	}
	st := h.Storage()
	if err := sdk.RemoveOneCredential(ctx, st, accountKey(userID), credentialID); err != nil {
		return err
	}
	_ = st.Delete(ctx, codeKey(userID), sdk.AnyVersion)
	return nil
}

// Admin implements sdk.Method: status and remove (see the Action
// constants).
func (m *Method) Admin(ctx context.Context, h sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	switch req.Action {
	case ActionStatus, ActionRemove:
	default:
		return nil, sdk.InvalidInput("sms has no action %q", req.Action)
	}
	if !sdk.ValidID(req.User.ID) {
		return nil, sdk.InvalidInput("sms: bad user ID")
	}
	st := h.Storage()
	for range 4 {
		var acc account
		version, err := sdk.GetJSON(ctx, st, accountKey(req.User.ID), &acc)
		if errors.Is(err, sdk.ErrNotFound) {
			if req.Action == ActionStatus {
				return map[string]string{"enrolled": "false", "summary": msgStatusNone}, nil
			}
			return map[string]string{"removed": "false"}, nil
		}
		if err != nil {
			return nil, err
		}
		masked := MaskPhone(acc.Phone)
		if req.Action == ActionStatus {
			return map[string]string{
				"enrolled": "true", "phone": masked, "enrolled_at": acc.CreatedAt.UTC().Format(time.RFC3339),
				"summary": fmt.Sprintf(msgStatusF, masked),
			}, nil
		}
		err = sdk.DeleteOnCommit(ctx, st, accountKey(req.User.ID), version) // with its event, on a committing host
		if errors.Is(err, sdk.ErrConflict) {
			continue // the user changed their number meanwhile: remove that one
		}
		if err != nil {
			return nil, err
		}
		_ = st.Delete(ctx, codeKey(req.User.ID), sdk.AnyVersion)
		_ = st.Delete(ctx, pendingKey(req.User.ID), sdk.AnyVersion)
		return map[string]string{"removed": "true", "phone": masked}, nil
	}
	return nil, fmt.Errorf("%w: sms: the number keeps changing", sdk.ErrUnavailable)
}

// send counts one message against the user's hourly budget, then hands it
// to the gateway; a message the gateway did not take gives its count back
// (sdk.SendBudget), and is ErrUnavailable with MsgNotSent for the user.
func (m *Method) send(ctx context.Context, h sdk.Host, userID, to, code string) error {
	return m.budget().Send(ctx, h, userID, func() error {
		err := m.sender.Send(ctx, gateway.Message{To: to, Body: m.text(code), SentAt: h.Now()})
		if err != nil {
			// The gateway's cause first: the host's audit keeps the start
			// of the text, and the sentence for the user is on the page.
			return fmt.Errorf("%w: %w", err, sdk.Unavailable("%s", MsgNotSent))
		}
		return nil
	})
}

// budget is the hourly budget of messages per user (per_hour).
func (m *Method) budget() sdk.SendBudget {
	return sdk.SendBudget{CountKey: sendKey, FailedKey: failedKey, Window: SendWindow, Max: m.perHour,
		FailuresPerMax: FailuresPerSend, Refusal: func(time.Time) string { return MsgTooManyMessages }}
}

// text is the message that carries code: it names the product, warns
// against sharing the code, and ends with the origin-bound line
// "@HOST #CODE" that browsers autofill on that origin only.
func (m *Method) text(code string) string {
	s := fmt.Sprintf(msgTextF, m.product, code)
	if m.host != "" {
		s += "\n\n@" + m.host + " #" + code
	}
	return s
}

// codeHash is what is stored of a code: HMAC-SHA-256 under the method's
// key of the purpose, the user, the code's ID and the code.
func codeHash(key []byte, purpose, userID, id, code string) []byte {
	return sdk.KeyedHash(key, "stepup sms "+purpose, userID, id, code)
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
