package recovery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Name is the method's own name.
const Name = "recovery"

// Defaults and bounds of the settings Configure accepts.
const (
	DefaultCount        = 10
	MinCount            = 5
	MaxCount            = 20
	DefaultPriority     = 10 // the lowest of the built-ins: SPEC §5
	MaxPriority         = 1000
	DefaultVerifyLimit  = 10
	DefaultVerifyWindow = 5 * time.Minute
)

// ChallengeTTL is how long a challenge is answerable.
const ChallengeTTL = 5 * time.Minute

// EnrolmentTTL is how long a new set waits for "I have saved them" before
// it is dropped (and the user starts again).
const EnrolmentTTL = 15 * time.Minute

// How a code is written: Groups groups of GroupLen characters of Alphabet,
// joined by dashes ("7KQ4-M2XD-9RTA-WP3C"). Each character carries 5 bits,
// so a code carries CodeBits.
const (
	Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford's base32: no I, L, O, U
	GroupLen = 4
	Groups   = 4
	CodeLen  = GroupLen * Groups
	CodeBits = 5 * CodeLen // 80: NIST SP 800-63B-4 asks at least 64
)

// EventUsed is the audit event type the host writes on each accepted code.
const EventUsed = "recovery.used"

// WarnAt is the number of codes left at and below which the user is told to
// generate a new set.
const WarnAt = 2

// User-facing text.
const (
	displayName   = "Recovery codes"
	prompt        = "Enter one of your recovery codes. Each code works once."
	enrolPrompt   = "Save these codes where you can find them without your phone, then confirm that you have saved them."
	codesLabel    = "Save these recovery codes: each works once."
	msgShownOnce  = "They will not be shown again. Keep them somewhere safe, such as a password manager or a printed copy."
	msgReplaces   = " Confirming replaces your current recovery codes: those stop working at once."
	savedLabel    = "I have saved them"
	msgNotSaved   = "Tick \u201cI have saved them\u201d once the codes are saved somewhere safe."
	labelFmt      = "%d of %d codes left"
	warningFmt    = "Only %d of %d codes left: generate a new set"
	noticeFmt     = "A recovery code was used to verify your identity. %d of your %d codes are left."
	noticeWarnFmt = "A recovery code was used to verify your identity. Only %d of your %d codes are left: generate a new set on your account page."
	noticeLast    = "Your last recovery code was used to verify your identity. Generate a new set on your account page now."
	msgNoActions  = "recovery codes have no administrative action %q"
)

// Method is the recovery-codes method. Create it with New. One Method
// serves one host namespace (a plugin process serves one method).
type Method struct {
	count        int
	priority     int
	verifyLimit  int
	verifyWindow time.Duration

	secret *sdk.SharedKey // hashes codes and signs challenge IDs
}

// New returns the method with its defaults.
func New() sdk.Method {
	return &Method{
		count: DefaultCount, priority: DefaultPriority,
		verifyLimit: DefaultVerifyLimit, verifyWindow: DefaultVerifyWindow,
		secret: &sdk.SharedKey{Name: keyName},
	}
}

// Configure implements sdk.Configurable. Keys: count (codes in a new set,
// MinCount to MaxCount), priority, verify_limit and verify_window (at most
// verify_limit failed verifications per user in any verify_window). Other
// keys are ignored. A bad value is an *sdk.SettingError naming its key.
func (m *Method) Configure(s map[string]string) error {
	for _, c := range []struct {
		key    string
		dst    *int
		lo, hi int
	}{
		{"count", &m.count, MinCount, MaxCount},
		{"priority", &m.priority, 0, MaxPriority},
		{"verify_limit", &m.verifyLimit, 1, 1 << 20},
	} {
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
	if v, ok := s["verify_window"]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return sdk.InvalidSetting("verify_window", v, `use a positive duration such as "5m"`)
		}
		m.verifyWindow = d
	}
	return nil
}

// DefaultSettings returns the settings a new Method runs with, as
// Configure takes them: count. stepup shows them as the defaults under
// methods.recovery (plugins.Defaults).
func (m *Method) DefaultSettings() map[string]string {
	return map[string]string{"count": strconv.Itoa(DefaultCount)}
}

// declaredSettings are the keys Configure takes (sdk.Description.Settings).
var declaredSettings = []sdk.Setting{
	{Name: "count", Type: sdk.SettingInt, Min: strconv.Itoa(MinCount), Max: strconv.Itoa(MaxCount), Default: strconv.Itoa(DefaultCount)},
	{Name: "verify_limit", Type: sdk.SettingInt, Min: "1", Max: strconv.Itoa(1 << 20), Default: strconv.Itoa(DefaultVerifyLimit)},
	{Name: "verify_window", Type: sdk.SettingDuration, Min: "1ns", Default: DefaultVerifyWindow.String()},
}

// Describe implements sdk.Method.
func (m *Method) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Settings:         declaredSettings,
		Name:             Name,
		DisplayName:      displayName,
		Levels:           []string{"aal2"},
		AMR:              []string{"otp"},
		NeedsEnrolment:   true,
		Priority:         m.priority,
		UsedEvent:        EventUsed,
		NamesCredentials: true,
		Limits: []sdk.Limit{
			// Successes need no limit: each spends a code.
			{Operation: sdk.OpVerify, Max: m.verifyLimit, Window: m.verifyWindow, Key: verifyKey(sdk.UserPlaceholder), FailuresOnly: true},
		},
		UserRecords: []string{setKey(sdk.UserPlaceholder)},
	}, nil
}

// codeSet is the record under setKey: the user's active set, as keyed
// hashes. Never a code.
type codeSet struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	// Hashes are the set's codes as codeHash, hashLen bytes each, in
	// ascending order: a check is one binary search, and the record
	// decodes with no value per code.
	Hashes []byte `json:"hashes"`
	// Spent has bit i (of byte i/8) set once the code at position i was
	// spent.
	Spent      []byte    `json:"spent"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// LastChallenge is the last answered challenge: a challenge is
	// answered once.
	LastChallenge string `json:"last_challenge,omitempty"`
}

// total is the number of codes in the set; 0 for a record of another
// shape.
func (s codeSet) total() int {
	n := len(s.Hashes) / hashLen
	if len(s.Hashes)%hashLen != 0 || len(s.Spent) != (n+7)/8 {
		return 0
	}
	return n
}

func (s codeSet) hashAt(i int) []byte { return s.Hashes[i*hashLen : (i+1)*hashLen] }

func (s codeSet) spent(i int) bool { return s.Spent[i/8]&(1<<(i%8)) != 0 }

// left is how many of the set's codes are unspent.
func (s codeSet) left() int {
	n := s.total()
	if n == 0 {
		return 0
	}
	spent := 0
	for _, b := range s.Spent {
		spent += bits.OnesCount8(b)
	}
	return n - spent
}

// find looks hash up: its position, and whether the set holds it,
// compared in constant time. The binary search orders keyed hashes, which
// tell nothing without the key.
func (s codeSet) find(hash []byte) (int, bool) {
	n := s.total()
	i := sort.Search(n, func(i int) bool { return bytes.Compare(s.hashAt(i), hash) >= 0 })
	want := dummyHash
	if i < n {
		want = s.hashAt(i)
	}
	return i, hmac.Equal(want, hash) && i < n
}

// usable: the set has a code left to spend.
func (s codeSet) usable() bool { return s.ID != "" && s.left() > 0 }

func (s codeSet) credential() sdk.Credential {
	c := sdk.Credential{ID: s.ID, Label: fmt.Sprintf(labelFmt, s.left(), s.total()), CreatedAt: s.CreatedAt}
	if s.left() <= WarnAt {
		c.Warning = fmt.Sprintf(warningFmt, s.left(), s.total())
	}
	return c
}

// pendingSet is a new set waiting for "I have saved them".
type pendingSet struct {
	ID        string    `json:"id"`
	Hashes    []byte    `json:"hashes"` // as codeSet.Hashes
	ExpiresAt time.Time `json:"expires_at"`
}

func setKey(userID string) string     { return "set/" + userID }
func pendingKey(userID string) string { return "pending/" + userID }

// verifyKey counts a user's verifications (rate limit; the host gives a
// successful one back).
func verifyKey(userID string) string { return "verify/" + userID }

// keyName holds the key that hashes codes and signs challenge IDs.
const keyName = "hmac-key"

var (
	codeField  = sdk.Field{Name: "code", Label: "Recovery code", Type: "text", Autocomplete: "one-time-code", MaxLength: maxInput}
	savedField = sdk.Field{Name: "saved", Label: savedLabel, Type: "checkbox"}
)

// Begin implements sdk.Method: ErrNotEnrolled without a set, and after its
// last code was spent. A challenge is not stored: its ID carries its
// expiry and is signed for the user and the set (sdk.NewChallengeID).
func (m *Method) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Challenge{}, sdk.InvalidInput("recovery: bad user ID")
	}
	st := h.Storage()
	var set codeSet
	if _, err := sdk.GetJSON(ctx, st, setKey(req.User.ID), &set); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return sdk.Challenge{}, err
	}
	if !set.usable() {
		return sdk.Challenge{}, sdk.ErrNotEnrolled
	}
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Challenge{}, err
	}
	expires := h.Now().Add(ChallengeTTL).Truncate(time.Second) // as the ID carries it
	id, err := sdk.NewChallengeID(key, Name, expires, req.User.ID, set.ID)
	if err != nil {
		return sdk.Challenge{}, err
	}
	return sdk.Challenge{ID: id, Prompt: prompt, Fields: []sdk.Field{codeField}, ExpiresAt: expires}, nil
}

// Verify implements sdk.Method. A check is one keyed hash and one lookup
// in the user's set, whatever its size; every way to fail but a rate limit
// or an outage is the bare sdk.ErrInvalidResponse, after the same work.
// No round trip to the host: the set comes with the call (UserRecords),
// the host counts the attempt ahead (Limit.Key), and it writes the spent
// code as it accepts (PutOnAccept), so of concurrent verifications with
// one code exactly one wins.
func (m *Method) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if !sdk.ValidID(req.UserID) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	limitErr := sdk.CheckLimit(ctx, h, verifyKey(req.UserID), m.verifyWindow, m.verifyLimit)
	var set codeSet
	version, setErr := sdk.GetJSON(ctx, st, setKey(req.UserID), &set)
	key, keyErr := m.secret.Get(ctx, st)
	switch {
	case limitErr != nil:
		return sdk.Result{}, limitErr
	case keyErr != nil:
		return sdk.Result{}, keyErr
	case setErr != nil && !errors.Is(setErr, sdk.ErrNotFound):
		return sdk.Result{}, setErr
	}
	code, wellFormed := Normalise(req.Response["code"])
	hash := codeHash(key, req.UserID, code)
	for range 4 {
		// Check everything before deciding, so that the work done does not
		// tell which check failed.
		chOK := sdk.CheckChallengeID(key, Name, req.ChallengeID, now, req.UserID, set.ID)
		fresh := subtle.ConstantTimeCompare([]byte(set.LastChallenge), []byte(req.ChallengeID)) != 1
		i, found := set.find(hash)
		if !wellFormed || !chOK || !fresh || !found || set.spent(i) {
			return sdk.Result{}, sdk.ErrInvalidResponse
		}
		set.Spent[i/8] |= 1 << (i % 8)
		set.LastUsedAt, set.LastChallenge = now, req.ChallengeID
		raw, err := json.Marshal(set)
		if err != nil {
			return sdk.Result{}, err
		}
		err = sdk.PutOnAccept(ctx, h, setKey(req.UserID), raw, version, 0)
		if errors.Is(err, sdk.ErrConflict) {
			// Another verification (or replica) won the race, or a new set
			// replaced this one: look again.
			set = codeSet{}
			version, err = sdk.GetJSON(ctx, st, setKey(req.UserID), &set)
			if errors.Is(err, sdk.ErrNotFound) {
				return sdk.Result{}, sdk.ErrInvalidResponse
			}
			if err != nil {
				return sdk.Result{}, err
			}
			continue
		}
		if err != nil {
			return sdk.Result{}, err
		}
		return result(set), nil
	}
	return sdk.Result{}, sdk.ErrInvalidResponse
}

// result is what an accepted code returns: the notice the host mails the
// user (how many are left), and, after the last code, that the user should
// generate a new set before going on.
func result(set codeSet) sdk.Result {
	return sdk.Result{AMR: []string{"otp"}, CredentialID: set.ID,
		Notice: usedNotice(set.left(), set.total()), Renew: set.left() == 0}
}

// Enrol implements sdk.Method: a new set of count codes, shown once, that
// becomes the user's set when ConfirmEnrolment hears that it was saved. A
// user who holds a set may generate a new one (the host asks for a fresh
// second factor first); the old one keeps working until then.
func (m *Method) Enrol(ctx context.Context, h sdk.Host, req sdk.EnrolRequest) (sdk.Enrolment, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Enrolment{}, sdk.InvalidInput("recovery: bad user ID")
	}
	st := h.Storage()
	var cur codeSet
	if _, err := sdk.GetJSON(ctx, st, setKey(req.User.ID), &cur); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return sdk.Enrolment{}, err
	}
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Enrolment{}, err
	}
	codes, hashes, err := newSet(key, req.User.ID, m.count)
	if err != nil {
		return sdk.Enrolment{}, err
	}
	id, err := sdk.RandomID()
	if err != nil {
		return sdk.Enrolment{}, err
	}
	expires := h.Now().Add(EnrolmentTTL)
	// A new Enrol replaces a pending set not yet confirmed.
	if err := sdk.PutJSON(ctx, st, pendingKey(req.User.ID), pendingSet{ID: id, Hashes: hashes, ExpiresAt: expires}, sdk.AnyVersion, EnrolmentTTL); err != nil {
		return sdk.Enrolment{}, err
	}
	note := msgShownOnce
	if cur.usable() {
		note += msgReplaces
	}
	return sdk.Enrolment{
		ID:     id,
		Prompt: enrolPrompt,
		Fields: []sdk.Field{savedField},
		Displays: []sdk.Display{
			{Kind: sdk.DisplayCodes, Label: codesLabel, Values: codes},
			{Kind: sdk.DisplayText, Value: note},
		},
		ExpiresAt: expires,
	}, nil
}

// ConfirmEnrolment implements sdk.Method: with "saved" ticked, the pending
// set becomes the user's set, and the old one, if any, is void at once
// (its record is replaced). The label the user gave is not used: the
// credential's label says how many codes are left. An unticked box is an
// sdk.InputError (the page asks again); an unknown, expired or already
// confirmed enrolment is ErrInvalidResponse.
func (m *Method) ConfirmEnrolment(ctx context.Context, h sdk.Host, req sdk.ConfirmRequest) (sdk.Credential, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	var p pendingSet
	pVersion, err := sdk.GetJSON(ctx, st, pendingKey(req.User.ID), &p)
	if errors.Is(err, sdk.ErrNotFound) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	if err != nil {
		return sdk.Credential{}, err
	}
	if subtle.ConstantTimeCompare([]byte(p.ID), []byte(req.EnrolmentID)) != 1 || !now.Before(p.ExpiresAt) || len(p.Hashes) == 0 || len(p.Hashes)%hashLen != 0 {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	if !ticked(req.Response[savedField.Name]) {
		return sdk.Credential{}, sdk.InvalidInput(msgNotSaved)
	}
	// Taking the pending set first makes a confirmation happen once, even
	// when the form is sent twice at the same moment.
	if err := st.Delete(ctx, pendingKey(req.User.ID), pVersion); err != nil {
		if errors.Is(err, sdk.ErrConflict) {
			return sdk.Credential{}, sdk.ErrInvalidResponse
		}
		return sdk.Credential{}, err
	}
	id, err := sdk.RandomID()
	if err != nil {
		return sdk.Credential{}, err
	}
	set := codeSet{ID: id, CreatedAt: now, Hashes: p.Hashes, Spent: make([]byte, (len(p.Hashes)/hashLen+7)/8)}
	raw, err := json.Marshal(set)
	if err != nil {
		return sdk.Credential{}, err
	}
	if err := replace(ctx, st, setKey(req.User.ID), raw); err != nil {
		return sdk.Credential{}, err
	}
	return set.credential(), nil
}

// replace stores raw under key over whatever version is there, by
// compare-and-swap: a code spent meanwhile by a verification of the old
// set makes it look again, never undoes the new set.
func replace(ctx context.Context, st sdk.Storage, key string, raw []byte) error {
	for range 8 {
		_, version, err := st.Get(ctx, key)
		switch {
		case errors.Is(err, sdk.ErrNotFound):
			version = sdk.MustNotExist
		case err != nil:
			return err
		}
		// The new set is the confirmation's change: a committing host
		// stores it with its event, in one transaction.
		err = sdk.PutOnCommit(ctx, st, key, raw, version, 0)
		if !errors.Is(err, sdk.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("%w: recovery: the set keeps changing", sdk.ErrUnavailable)
}

// ListCredentials implements sdk.Method: the user's set while it has a
// code left, labelled with how many; none otherwise.
func (m *Method) ListCredentials(ctx context.Context, h sdk.Host, userID string) ([]sdk.Credential, error) {
	if !sdk.ValidID(userID) {
		return []sdk.Credential{}, nil
	}
	var set codeSet
	if _, err := sdk.GetJSON(ctx, h.Storage(), setKey(userID), &set); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return nil, err
	}
	if !set.usable() {
		return []sdk.Credential{}, nil
	}
	return []sdk.Credential{set.credential()}, nil
}

// Remove implements sdk.Method: it deletes the user's set (spent or not).
func (m *Method) Remove(ctx context.Context, h sdk.Host, userID, credentialID string) error {
	if !sdk.ValidID(userID) || credentialID == "" {
		return sdk.ErrNotFound
	}
	st := h.Storage()
	for range 8 {
		var set codeSet
		version, err := sdk.GetJSON(ctx, st, setKey(userID), &set)
		if err != nil {
			return err // ErrNotFound included
		}
		if subtle.ConstantTimeCompare([]byte(set.ID), []byte(credentialID)) != 1 {
			return sdk.ErrNotFound
		}
		err = sdk.DeleteOnCommit(ctx, st, setKey(userID), version) // with its event, on a committing host
		if !errors.Is(err, sdk.ErrConflict) {
			return err
		}
		// A code was spent meanwhile: look again.
	}
	return fmt.Errorf("%w: recovery: the set keeps changing", sdk.ErrUnavailable)
}

// Admin implements sdk.Method: recovery codes have no administrative
// actions (disconnecting is Remove).
func (m *Method) Admin(_ context.Context, _ sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	return nil, sdk.InvalidInput(msgNoActions, req.Action)
}

// newSet returns n new codes as shown to the user and their hashes as
// codeSet.Hashes keeps them: sorted, each once.
func newSet(key []byte, userID string, n int) ([]string, []byte, error) {
	for {
		codes := make([]string, n)
		hashes := make([][]byte, n)
		for i := range codes {
			c, err := NewCode()
			if err != nil {
				return nil, nil, err
			}
			plain, _ := Normalise(c)
			codes[i], hashes[i] = c, codeHash(key, userID, plain)
		}
		slices.SortFunc(hashes, bytes.Compare)
		if len(slices.CompactFunc(slices.Clone(hashes), bytes.Equal)) == n { // else a clash: never seen, never kept
			return codes, bytes.Join(hashes, nil), nil
		}
	}
}

// NewCode returns a code of CodeBits random bits from crypto/rand, written
// as Groups groups of GroupLen characters of Alphabet joined by dashes.
func NewCode() (string, error) {
	raw := make([]byte, CodeBits/8)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	var b strings.Builder
	var acc uint64
	bits := 0
	n := 0
	for _, x := range raw {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%GroupLen == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(Alphabet[(acc>>bits)&31])
			n++
		}
	}
	return b.String(), nil
}

// maxInput bounds the answer Normalise reads: a code with room for the
// spaces and dashes a person types.
const maxInput = 64

// Normalise returns the code a person typed as CodeLen characters of
// Alphabet: case, spaces and dashes do not matter, and the letters
// Crockford's base32 leaves out read as the digits they resemble (O as 0,
// I and L as 1). ok is false for anything else.
func Normalise(s string) (code string, ok bool) {
	if len(s) > maxInput {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '-' || r == '\u2010' || r == '\u2011' || r == '\u2012' || r == '\u2013' || r == '\u2014':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > unicode.MaxASCII || !strings.ContainsRune(Alphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLen {
		return "", false
	}
	return b.String(), true
}

// hashLen is the length of a stored code.
const hashLen = sha256.Size

// codeHash is what is stored of a code: HMAC-SHA-256 under the method's
// key of the user ID and the normalised code (a NUL between them; user IDs
// hold none).
func codeHash(key []byte, userID, code string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("stepup recovery code\x00"))
	mac.Write([]byte(userID))
	mac.Write([]byte{0})
	mac.Write([]byte(code))
	return mac.Sum(nil)
}

// dummyHash is compared when no code has the index, for the same work.
var dummyHash = make([]byte, hashLen)

// ticked reports whether a checkbox was ticked: a browser sends "on".
func ticked(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes", "1":
		return true
	}
	return false
}

// usedNotice is the sentence the user should be mailed after a code was
// accepted (SPEC §6): how many are left, a warning from WarnAt down, and
// after the last one, that a new set is needed; the host mails it
// (sdk.Result.Notice).
func usedNotice(left, total int) string {
	switch {
	case left <= 0:
		return noticeLast
	case left <= WarnAt:
		return fmt.Sprintf(noticeWarnFmt, left, total)
	}
	return fmt.Sprintf(noticeFmt, left, total)
}
