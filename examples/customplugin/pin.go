// Package pin is an example of a verification method written outside
// stepup, the way an integrator would: a PIN of 6 to 8 digits that the user
// chooses on the account page and enters when an application asks for
// aal2. It imports nothing of stepup but plugins/sdk; its main
// (cmd/stepup-pin) is one call to sdk.Serve, and stepup runs it as an
// external plugin pinned by its SHA-256:
//
//	methods:
//	  pin: { path: /opt/stepup/plugins/stepup-pin, sha256: "<sha256sum>", priority: 50 }
//
// A PIN is far below the 112 bits under which NIST SP 800-63B forbids
// storing a secret recoverably, so the method keeps only argon2id(salt,
// PIN) with a random salt per enrolment (the host also encrypts every value
// at rest). The argon2id parameters are settings (memory_kib, iterations,
// parallelism) and are stored with each hash, so raising them later does
// not lock anyone out. Verification recomputes the hash and compares in
// constant time, doing the same work for an unknown user.
//
// A PIN is a memorized secret: the same answer is right for every
// challenge, so a challenge is not spent by a correct answer (the
// conformance kit is told so with Properties.MultiUse). Guessing is bounded
// by the method's own verify limit (verify_limit per verify_window, across
// replicas through the host's rate limiter) and by stepup's lockout after
// consecutive failures.
package pin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Name is the method's own name, and the name its amr value shares
// (RFC 8176 "pin").
const Name = "pin"

// Lengths of a PIN.
const (
	MinDigits = 6
	MaxDigits = 8
)

// Defaults of the settings Configure accepts, and lifetimes.
const (
	DefaultPriority     = 50
	DefaultVerifyLimit  = 5
	DefaultVerifyWindow = 15 * time.Minute
	ChallengeTTL        = 5 * time.Minute
	EnrolmentTTL        = 10 * time.Minute
)

// Params are the argon2id parameters of one hash (RFC 9106).
type Params struct {
	MemoryKiB   uint32 `json:"m"`
	Iterations  uint32 `json:"t"`
	Parallelism uint8  `json:"p"`
}

// DefaultParams follow OWASP's argon2id recommendation (19 MiB, 2 passes,
// 1 lane); tests configure far cheaper ones.
var DefaultParams = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

// maxMemoryKiB bounds memory_kib (1 GiB): a typo must not exhaust the host.
const maxMemoryKiB = 1 << 20

const (
	hashLen = 32
	saltLen = 16
)

// Method is the PIN method. Create it with New.
type Method struct {
	priority     int
	verifyLimit  int
	verifyWindow time.Duration
	params       Params

	secret *sdk.SharedKey // signs challenge IDs
}

// New returns the method with its defaults.
func New() *Method {
	return &Method{priority: DefaultPriority, verifyLimit: DefaultVerifyLimit,
		verifyWindow: DefaultVerifyWindow, params: DefaultParams, secret: &sdk.SharedKey{Name: macKeyName}}
}

// Configure implements sdk.Configurable. Keys (all optional): priority;
// verify_limit and verify_window (at most verify_limit verifications per
// user in any verify_window, right or wrong); memory_kib, iterations and
// parallelism (argon2id, for new PINs). Other keys are ignored.
func (m *Method) Configure(s map[string]string) error {
	ints := []struct {
		key     string
		lo, hi  int
		set     func(int)
		explain string
	}{
		{"priority", 0, 1000, func(n int) { m.priority = n }, "a whole number from 0 to 1000"},
		{"verify_limit", 1, 1000, func(n int) { m.verifyLimit = n }, "a whole number from 1 to 1000"},
		{"memory_kib", 8, maxMemoryKiB, func(n int) { m.params.MemoryKiB = uint32(n) }, fmt.Sprintf("a whole number from 8 to %d", maxMemoryKiB)},
		{"iterations", 1, 100, func(n int) { m.params.Iterations = uint32(n) }, "a whole number from 1 to 100"},
		{"parallelism", 1, 255, func(n int) { m.params.Parallelism = uint8(n) }, "a whole number from 1 to 255"},
	}
	for _, c := range ints {
		v, ok := s[c.key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < c.lo || n > c.hi {
			return sdk.InvalidInput("pin: %s is %q: use %s", c.key, v, c.explain)
		}
		c.set(n)
	}
	if v, ok := s["verify_window"]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return sdk.InvalidInput("pin: verify_window is %q: use a positive duration such as \"15m\"", v)
		}
		m.verifyWindow = d
	}
	if m.params.MemoryKiB < 8*uint32(m.params.Parallelism) {
		return sdk.InvalidInput("pin: memory_kib %d is less than 8 per lane: use at least %d for parallelism %d",
			m.params.MemoryKiB, 8*uint32(m.params.Parallelism), m.params.Parallelism)
	}
	return nil
}

// declaredSettings are the keys Configure takes (sdk.Description.Settings).
var declaredSettings = []sdk.Setting{
	{Name: "verify_limit", Type: sdk.SettingInt, Min: "1", Max: "1000"},
	{Name: "verify_window", Type: sdk.SettingDuration, Min: "1ns"},
	{Name: "memory_kib", Type: sdk.SettingInt, Min: "8", Max: strconv.Itoa(maxMemoryKiB)},
	{Name: "iterations", Type: sdk.SettingInt, Min: "1", Max: "100"},
	{Name: "parallelism", Type: sdk.SettingInt, Min: "1", Max: "255"},
}

// Describe implements sdk.Method.
func (m *Method) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Settings:       declaredSettings,
		Name:           Name,
		DisplayName:    "PIN",
		Levels:         []string{"aal2"},
		AMR:            []string{"pin"},
		NeedsEnrolment: true,
		Priority:       m.priority,
		// Key: the host counts each verification before the call, so
		// CheckLimit below answers without a round trip.
		Limits: []sdk.Limit{{Operation: sdk.OpVerify, Max: m.verifyLimit, Window: m.verifyWindow, Key: "verify/" + sdk.UserPlaceholder}},
		// Begin, Verify and the account page read the account: the host
		// sends it with each call instead of answering a call back.
		UserRecords: []string{accountKey(sdk.UserPlaceholder)},
	}, nil
}

// account is a user's confirmed PIN: its hash, never the PIN.
type account struct {
	CredentialID string    `json:"credential_id"`
	Label        string    `json:"label"`
	CreatedAt    time.Time `json:"created_at"`
	Salt         []byte    `json:"salt"`
	Hash         []byte    `json:"hash"`
	Params       Params    `json:"params"`
}

// pending is an enrolment waiting for the user to choose the PIN.
type pending struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}

func accountKey(userID string) string { return "account/" + userID }
func pendingKey(userID string) string { return "pending/" + userID }

const macKeyName = "challenge-mac-key"

// pinField is one PIN input. autocomplete is off: a password manager that
// fills in the second factor would make it part of the first.
func pinField(name, label string) sdk.Field {
	return sdk.Field{Name: name, Label: label, Type: "password", Autocomplete: "off",
		InputMode: "numeric", Pattern: fmt.Sprintf("[0-9]{%d,%d}", MinDigits, MaxDigits), MaxLength: MaxDigits}
}

// Begin implements sdk.Method. A challenge is not stored: its ID carries
// its expiry and is signed for its user (sdk.NewChallengeID).
func (m *Method) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Challenge{}, sdk.InvalidInput("pin: bad user ID")
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
		Prompt:    "Enter your PIN.",
		Fields:    []sdk.Field{pinField("pin", "PIN")},
		ExpiresAt: expires,
	}, nil
}

// Verify implements sdk.Method. Every way to fail but a rate limit or an
// outage is the bare sdk.ErrInvalidResponse, after the same work.
func (m *Method) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if !sdk.ValidID(req.UserID) {
		m.dummyHash()
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	if err := sdk.CheckLimit(ctx, h, "verify/"+req.UserID, m.verifyWindow, m.verifyLimit); err != nil {
		return sdk.Result{}, err
	}
	st := h.Storage()
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Result{}, err
	}
	var acc account
	found := true
	if _, err := sdk.GetJSON(ctx, st, accountKey(req.UserID), &acc); err != nil {
		if !errors.Is(err, sdk.ErrNotFound) {
			return sdk.Result{}, err
		}
		found = false
		acc = account{Salt: make([]byte, saltLen), Params: m.params}
	}
	// Every check runs whatever the others found, so the time taken does
	// not tell which one failed.
	chOK := sdk.CheckChallengeID(key, Name, req.ChallengeID, h.Now(), req.UserID)
	pin := normalise(req.Response["pin"])
	formOK := wellFormed(pin)
	got := hashPIN(pin, acc.Salt, acc.Params)
	match := subtle.ConstantTimeCompare(got, acc.Hash) == 1
	if !found || !chOK || !formOK || !match {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	return sdk.Result{AMR: []string{"pin"}, CredentialID: acc.CredentialID}, nil
}

// Enrol implements sdk.Method: the user then chooses the PIN on the
// enrolment page (ConfirmEnrolment). Nothing is displayed: the secret is
// the user's.
func (m *Method) Enrol(ctx context.Context, h sdk.Host, req sdk.EnrolRequest) (sdk.Enrolment, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Enrolment{}, sdk.InvalidInput("pin: bad user ID")
	}
	st := h.Storage()
	if _, _, err := st.Get(ctx, accountKey(req.User.ID)); err == nil {
		return sdk.Enrolment{}, sdk.ErrAlreadyEnrolled
	} else if !errors.Is(err, sdk.ErrNotFound) {
		return sdk.Enrolment{}, err
	}
	id, err := sdk.RandomID()
	if err != nil {
		return sdk.Enrolment{}, err
	}
	expires := h.Now().Add(EnrolmentTTL)
	if err := sdk.PutJSON(ctx, st, pendingKey(req.User.ID), pending{ID: id, ExpiresAt: expires}, sdk.AnyVersion, EnrolmentTTL); err != nil {
		return sdk.Enrolment{}, err
	}
	return sdk.Enrolment{
		ID: id,
		Prompt: fmt.Sprintf("Choose a PIN of %d to %d digits that you use nowhere else, and enter it twice. "+
			"Avoid repeated digits and runs such as 123456.", MinDigits, MaxDigits),
		Fields:    []sdk.Field{pinField("pin", "New PIN"), pinField("pin_confirm", "New PIN again")},
		ExpiresAt: expires,
	}, nil
}

// ConfirmEnrolment implements sdk.Method: it checks the chosen PIN and
// stores its salted hash. ErrInvalidResponse for an unknown or expired
// enrolment; an InputError, whose message the account page shows, for a
// PIN that is malformed, too easy to guess or not repeated exactly.
func (m *Method) ConfirmEnrolment(ctx context.Context, h sdk.Host, req sdk.ConfirmRequest) (sdk.Credential, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	var p pending
	pVersion, err := sdk.GetJSON(ctx, st, pendingKey(req.User.ID), &p)
	if err != nil {
		if errors.Is(err, sdk.ErrNotFound) {
			return sdk.Credential{}, sdk.ErrInvalidResponse
		}
		return sdk.Credential{}, err
	}
	if subtle.ConstantTimeCompare([]byte(p.ID), []byte(req.EnrolmentID)) != 1 || !now.Before(p.ExpiresAt) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	pin, again := normalise(req.Response["pin"]), normalise(req.Response["pin_confirm"])
	switch {
	case !wellFormed(pin):
		return sdk.Credential{}, sdk.InvalidInput("A PIN is %d to %d digits.", MinDigits, MaxDigits)
	case guessable(pin):
		return sdk.Credential{}, sdk.InvalidInput("That PIN is too easy to guess: avoid repeated digits and runs such as 123456.")
	case subtle.ConstantTimeCompare([]byte(pin), []byte(again)) != 1:
		return sdk.Credential{}, sdk.InvalidInput("The two PINs differ: enter the same PIN twice.")
	}
	label, err := sdk.CredentialLabel(req.Label, "PIN")
	if err != nil {
		return sdk.Credential{}, err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return sdk.Credential{}, err
	}
	credID, err := sdk.RandomID()
	if err != nil {
		return sdk.Credential{}, err
	}
	acc := account{CredentialID: credID, Label: label, CreatedAt: now, Salt: salt,
		Hash: hashPIN(pin, salt, m.params), Params: m.params}
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

// Admin implements sdk.Method: a PIN has no administrative actions (an
// administrator disconnects it with Remove; a user who forgot it removes
// it and chooses a new one).
func (m *Method) Admin(_ context.Context, _ sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	return nil, sdk.InvalidInput("pin has no action %q", req.Action)
}

func hashPIN(pin string, salt []byte, p Params) []byte {
	return argon2.IDKey([]byte(pin), salt, p.Iterations, p.MemoryKiB, p.Parallelism, hashLen)
}

// dummyHash does the work of one verification.
func (m *Method) dummyHash() { hashPIN("000000", make([]byte, saltLen), m.params) }

// wellFormed reports whether pin is MinDigits to MaxDigits ASCII digits.
func wellFormed(pin string) bool {
	return len(pin) >= MinDigits && len(pin) <= MaxDigits && strings.Trim(pin, "0123456789") == ""
}

// guessable reports whether a well-formed pin is one digit repeated or a
// run up or down (012345, 98765432), the first PINs anyone tries.
func guessable(pin string) bool {
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		same = same && d == 0
		up = up && (d == 1 || d == -9)
		down = down && (d == -1 || d == 9)
	}
	return same || up || down
}

// normalise drops the spaces and dashes people type into numbers.
func normalise(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}
