package totp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Name is the method's own name.
const Name = "totp"

// Protocol constants of RFC 6238 as stepup uses them.
const (
	Period = 30 * time.Second
	Digits = 6
	Skew   = 1 // steps accepted before and after the current one
)

// Defaults of the settings Configure accepts.
const (
	DefaultIssuer       = "stepup"
	DefaultPriority     = 60
	DefaultVerifyLimit  = 10
	DefaultVerifyWindow = 5 * time.Minute
	ChallengeTTL        = 5 * time.Minute
	EnrolmentTTL        = 10 * time.Minute
)

// Method is the TOTP method. Create it with New. One Method serves one
// host namespace (a plugin process serves one method).
type Method struct {
	issuer       string
	priority     int
	verifyLimit  int
	verifyWindow time.Duration

	secret *sdk.SharedKey // signs challenge IDs
}

// New returns the method with its defaults.
func New() sdk.Method {
	return &Method{issuer: DefaultIssuer, priority: DefaultPriority, verifyLimit: DefaultVerifyLimit, verifyWindow: DefaultVerifyWindow,
		secret: &sdk.SharedKey{Name: macKeyName}}
}

// Configure implements sdk.Configurable. Keys: issuer (the name the
// authenticator app shows), priority, verify_limit and verify_window (at
// most verify_limit failed verifications, and as many enrolment
// confirmations, per user in any verify_window). Other keys are ignored.
// A bad value is an *sdk.SettingError naming its key.
func (m *Method) Configure(s map[string]string) error {
	if v, ok := s["issuer"]; ok && v != "" {
		m.issuer = v
	}
	for _, c := range []struct {
		key string
		dst *int
		lo  int
	}{{"priority", &m.priority, 0}, {"verify_limit", &m.verifyLimit, 1}} {
		if v, ok := s[c.key]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < c.lo {
				return sdk.InvalidSetting(c.key, v, fmt.Sprintf("use a whole number of at least %d", c.lo))
			}
			*c.dst = n
		}
	}
	if v, ok := s["verify_window"]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return sdk.InvalidSetting("verify_window", v, `use a positive duration such as "5m"`)
		}
		m.verifyWindow = d
	}
	return nil
}

// declaredSettings are the keys Configure takes (sdk.Description.Settings).
var declaredSettings = []sdk.Setting{
	{Name: "issuer", Type: sdk.SettingText},
	{Name: "verify_limit", Type: sdk.SettingInt, Min: "1", Default: strconv.Itoa(DefaultVerifyLimit)},
	{Name: "verify_window", Type: sdk.SettingDuration, Min: "1ns", Default: DefaultVerifyWindow.String()},
}

// Describe implements sdk.Method.
func (m *Method) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Settings:       declaredSettings,
		Name:           Name,
		DisplayName:    "Authenticator app",
		Levels:         []string{"aal2"},
		AMR:            []string{"otp"},
		NeedsEnrolment: true,
		Renamable:      true,
		Priority:       m.priority,
		Limits: []sdk.Limit{
			// Successes need no limit: each spends a time step. The lockout
			// bounds consecutive failures; this bounds them in a window,
			// and concurrent ones.
			{Operation: sdk.OpVerify, Max: m.verifyLimit, Window: m.verifyWindow, Key: verifyKey(sdk.UserPlaceholder), FailuresOnly: true},
			{Operation: sdk.OpConfirm, Max: m.verifyLimit, Window: m.verifyWindow},
		},
		UserRecords: []string{accountKey(sdk.UserPlaceholder)},
	}, nil
}

// account is a user's confirmed authenticator.
type account struct {
	Secret        string    `json:"secret"` // base32, as shown at enrolment
	CredentialID  string    `json:"credential_id"`
	Label         string    `json:"label"`
	CreatedAt     time.Time `json:"created_at"`
	LastStep      int64     `json:"last_step"`      // the last accepted time step
	LastChallenge string    `json:"last_challenge"` // the last answered challenge
}

// pending is an enrolment waiting for its first code.
type pending struct {
	ID        string    `json:"id"`
	Secret    string    `json:"secret"`
	ExpiresAt time.Time `json:"expires_at"`
}

func accountKey(userID string) string { return "account/" + userID }
func pendingKey(userID string) string { return "pending/" + userID }

// verifyKey counts a user's verifications (rate limit; the host gives a
// successful one back).
func verifyKey(userID string) string { return "verify/" + userID }

// macKeyName holds the key that signs challenge IDs.
const macKeyName = "challenge-mac-key"

var codeField = sdk.Field{
	Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code",
	InputMode: "numeric", Pattern: "[0-9]{6}", MaxLength: Digits,
}

// Begin implements sdk.Method. A challenge is not stored: its ID carries
// its expiry and is signed for its user (sdk.NewChallengeID).
func (m *Method) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Challenge{}, sdk.InvalidInput("totp: bad user ID")
	}
	st := h.Storage()
	if _, _, err := st.Get(ctx, accountKey(req.User.ID)); err != nil {
		if errors.Is(err, sdk.ErrNotFound) {
			return sdk.Challenge{}, sdk.ErrNotEnrolled
		}
		return sdk.Challenge{}, err
	}
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Challenge{}, err
	}
	expires := h.Now().Add(ChallengeTTL).Truncate(time.Second) // as the ID carries it
	id, err := sdk.NewChallengeID(key, Name, expires, req.User.ID)
	if err != nil {
		return sdk.Challenge{}, err
	}
	return sdk.Challenge{
		ID:        id,
		Prompt:    "Enter the 6-digit code from your authenticator app.",
		Fields:    []sdk.Field{codeField},
		ExpiresAt: expires,
	}, nil
}

// Verify implements sdk.Method. Every way to fail but a rate limit or an
// outage is the bare sdk.ErrInvalidResponse. No round trip to the host:
// the account comes with the call (UserRecords), the host counts the
// attempt ahead (Limit.Key), and it writes the spent step as it accepts
// (PutOnAccept).
func (m *Method) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if !sdk.ValidID(req.UserID) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	limitErr := sdk.CheckLimit(ctx, h, verifyKey(req.UserID), m.verifyWindow, m.verifyLimit)
	var acc account
	version, accErr := sdk.GetJSON(ctx, st, accountKey(req.UserID), &acc)
	key, keyErr := m.secret.Get(ctx, st)
	switch {
	case limitErr != nil:
		return sdk.Result{}, limitErr
	case keyErr != nil:
		return sdk.Result{}, keyErr
	case accErr != nil:
		return sdk.Result{}, invalid(accErr)
	}
	code := normalise(req.Response["code"])
	for range 4 {
		// Check everything before deciding, so that the work done does not
		// tell which check failed.
		chOK := sdk.CheckChallengeID(key, Name, req.ChallengeID, now, req.UserID)
		fresh := subtle.ConstantTimeCompare([]byte(acc.LastChallenge), []byte(req.ChallengeID)) != 1
		step, ok := acceptStep(acc.Secret, code, now, acc.LastStep)
		if !chOK || !fresh || !ok {
			return sdk.Result{}, sdk.ErrInvalidResponse
		}
		acc.LastStep, acc.LastChallenge = step, req.ChallengeID
		raw, err := json.Marshal(acc)
		if err != nil {
			return sdk.Result{}, err
		}
		err = sdk.PutOnAccept(ctx, h, accountKey(req.UserID), raw, version, 0)
		if errors.Is(err, sdk.ErrConflict) {
			// Another verification (or replica) won the race; look again.
			acc = account{}
			if version, err = sdk.GetJSON(ctx, st, accountKey(req.UserID), &acc); err != nil {
				return sdk.Result{}, invalid(err)
			}
			continue
		}
		if err != nil {
			return sdk.Result{}, err
		}
		return sdk.Result{AMR: []string{"otp"}, CredentialID: acc.CredentialID}, nil
	}
	return sdk.Result{}, sdk.ErrInvalidResponse
}

// Enrol implements sdk.Method. Params: "label" is ignored here (it is
// given to ConfirmEnrolment).
func (m *Method) Enrol(ctx context.Context, h sdk.Host, req sdk.EnrolRequest) (sdk.Enrolment, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Enrolment{}, sdk.InvalidInput("totp: bad user ID")
	}
	st := h.Storage()
	if _, _, err := st.Get(ctx, accountKey(req.User.ID)); err == nil {
		return sdk.Enrolment{}, sdk.ErrAlreadyEnrolled
	} else if !errors.Is(err, sdk.ErrNotFound) {
		return sdk.Enrolment{}, err
	}
	account := req.User.Username
	if account == "" {
		account = req.User.ID
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: m.issuer, AccountName: account, Period: uint(Period / time.Second),
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader,
	})
	if err != nil {
		return sdk.Enrolment{}, fmt.Errorf("totp: generate key: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return sdk.Enrolment{}, fmt.Errorf("totp: QR code: %w", err)
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return sdk.Enrolment{}, fmt.Errorf("totp: QR code: %w", err)
	}
	id, err := sdk.RandomID()
	if err != nil {
		return sdk.Enrolment{}, err
	}
	expires := h.Now().Add(EnrolmentTTL)
	if err := sdk.PutJSON(ctx, st, pendingKey(req.User.ID), pending{ID: id, Secret: key.Secret(), ExpiresAt: expires}, sdk.AnyVersion, EnrolmentTTL); err != nil {
		return sdk.Enrolment{}, err
	}
	return sdk.Enrolment{
		ID:     id,
		Prompt: "Scan the QR code with your authenticator app, or enter the key by hand, then enter the 6-digit code it shows.",
		Fields: []sdk.Field{codeField},
		Displays: []sdk.Display{
			{Kind: sdk.DisplayImage, Label: "QR code to scan with your authenticator app", PNG: qr.Bytes()},
			{Kind: sdk.DisplayLink, Label: "Open in an authenticator app on this device", Value: key.URL()},
			{Kind: sdk.DisplaySecret, Label: "Or enter this key by hand:", Value: key.Secret()},
		},
		ExpiresAt: expires,
	}, nil
}

// ConfirmEnrolment implements sdk.Method. The confirming code's step
// becomes the last used one.
func (m *Method) ConfirmEnrolment(ctx context.Context, h sdk.Host, req sdk.ConfirmRequest) (sdk.Credential, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	now := h.Now()
	if err := sdk.CheckLimit(ctx, h, "confirm/"+req.User.ID, m.verifyWindow, m.verifyLimit); err != nil {
		return sdk.Credential{}, err
	}
	st := h.Storage()
	var p pending
	pVersion, err := sdk.GetJSON(ctx, st, pendingKey(req.User.ID), &p)
	if err != nil {
		return sdk.Credential{}, invalid(err)
	}
	if subtle.ConstantTimeCompare([]byte(p.ID), []byte(req.EnrolmentID)) != 1 || !now.Before(p.ExpiresAt) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	step, ok := acceptStep(p.Secret, normalise(req.Response["code"]), now, -1)
	if !ok {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	credID, err := sdk.RandomID()
	if err != nil {
		return sdk.Credential{}, err
	}
	label, err := sdk.CredentialLabel(req.Label, "Authenticator app")
	if err != nil {
		return sdk.Credential{}, err
	}
	acc := account{Secret: p.Secret, CredentialID: credID, Label: label, CreatedAt: now, LastStep: step}
	if err := sdk.SaveOneCredential(ctx, st, accountKey(req.User.ID), acc, pendingKey(req.User.ID), pVersion); err != nil {
		return sdk.Credential{}, err
	}
	return sdk.Credential{ID: credID, Label: label, CreatedAt: now}, nil
}

// ListCredentials implements sdk.Method: none or one.
func (m *Method) ListCredentials(ctx context.Context, h sdk.Host, userID string) ([]sdk.Credential, error) {
	if !sdk.ValidID(userID) {
		return []sdk.Credential{}, nil
	}
	return sdk.ListOneCredential(ctx, h.Storage(), accountKey(userID))
}

// Remove implements sdk.Method.
func (m *Method) Remove(ctx context.Context, h sdk.Host, userID, credentialID string) error {
	if !sdk.ValidID(userID) {
		return sdk.ErrNotFound
	}
	return sdk.RemoveOneCredential(ctx, h.Storage(), accountKey(userID), credentialID)
}

// Rename implements sdk.Renamer: the user's name for their app.
func (m *Method) Rename(ctx context.Context, h sdk.Host, userID, credentialID, label string) error {
	if !sdk.ValidID(userID) {
		return sdk.ErrNotFound
	}
	return sdk.RenameOneCredential(ctx, h.Storage(), accountKey(userID), credentialID, label)
}

// Admin implements sdk.Method: TOTP has no administrative actions
// (disconnecting is Remove).
func (m *Method) Admin(_ context.Context, _ sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	return nil, sdk.InvalidInput("totp has no action %q", req.Action)
}

// acceptStep returns the time step of code within the skew window around
// now, if there is one after lastStep. The loop always runs every step, so
// the work does not depend on which one matches.
func acceptStep(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	if len(code) != Digits || strings.Trim(code, "0123456789") != "" {
		dummyWork()
		return 0, false
	}
	cur := step(now)
	found, ok := int64(0), false
	for s := cur - Skew; s <= cur+Skew; s++ {
		want, err := CodeAt(secret, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastStep && !ok {
			found, ok = s, true
		}
	}
	return found, ok
}

// step is the RFC 6238 time step of t (floor division, also before 1970).
func step(t time.Time) int64 {
	p, u := int64(Period/time.Second), t.Unix()
	if u < 0 {
		return (u - p + 1) / p
	}
	return u / p
}

// CodeAt returns the six-digit code of a base32 secret at a time step.
func CodeAt(secret string, step int64) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// dummySecret keeps the work for a malformed code close to a real check.
const dummySecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func dummyWork() {
	for s := int64(0); s < 2*Skew+1; s++ {
		_, _ = CodeAt(dummySecret, s)
	}
}

// invalid maps "no such record" to the one error every failed
// verification gets; an outage stays an outage.
func invalid(err error) error {
	if errors.Is(err, sdk.ErrNotFound) {
		dummyWork()
		return sdk.ErrInvalidResponse
	}
	return err
}

func normalise(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
}
