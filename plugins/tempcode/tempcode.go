package tempcode

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Name is the method's own name.
const Name = "tempcode"

// Defaults and bounds of the settings Configure accepts.
const (
	DefaultDigits       = 8
	MinDigits           = 6
	MaxDigits           = 12
	DefaultMinTTL       = time.Hour
	DefaultMaxTTL       = 24 * time.Hour
	DefaultPerHour      = 6
	MaxPerHour          = 1000
	DefaultPriority     = 100
	DefaultVerifyLimit  = 10
	DefaultVerifyWindow = 5 * time.Minute
)

// IssueWindow is the rolling window of the per_hour limit on issuing.
const IssueWindow = time.Hour

// ChallengeTTL is how long a challenge is answerable (never past the
// code's own expiry).
const ChallengeTTL = 5 * time.Minute

// claimTTL bounds how long an issue in progress holds the user's slot, so
// that the claim of a plugin that died mid-issue frees itself. An issue
// takes one host call timeout at most.
const claimTTL = 30 * time.Second

// The admin actions, offered by the host as
// /admin/v1/users/{username}/temporary-code (Resource) and on its admin
// page (see Describe).
const (
	// ActionIssue issues a code (POST). Params: "ttl" (a Go duration
	// within [min_ttl, max_ttl]). AdminRequest.Actor, or else the param
	// "actor", is kept as issued_by. Result: "code", "expires_at" (RFC
	// 3339, UTC) and "summary".
	ActionIssue = "issue"
	// ActionStatus returns metadata only (GET): "active" ("true"/"false")
	// and "summary" and, while active, "issued_at", "expires_at" and
	// "issued_by".
	ActionStatus = "status"
	// ActionExpire ends the active code now (DELETE). Result: "expired"
	// ("true", or "false" when there was none).
	ActionExpire = "expire"
)

// Resource is the admin API's name of a user's temporary code.
const Resource = "temporary-code"

// Audit event types the host writes for the method.
const (
	EventIssued  = "tempcode.issued"
	EventRefused = "tempcode.issue_refused"
	EventExpired = "tempcode.expired"
	EventUsed    = "tempcode.used"
)

// defaultTTL is the validity the admin page selects first, when the
// settings allow it.
const defaultTTL = 4 * time.Hour

// User-facing messages.
const (
	msgSelfEnrol     = "temporary codes are issued by your help desk"
	msgActive        = "a temporary code is already active: expire the current code first"
	msgIssuing       = "a temporary code is being issued for this user at this moment: expire it first if another is needed"
	msgChanged       = "the temporary code changed while it was being issued: try again"
	prompt           = "Enter the temporary code your help desk gave you."
	credentialLabelF = "Temporary code (expires %s UTC)"
	msgStatusActive  = "A temporary code is active until %s UTC"
	msgIssuedBy      = " (issued by %s)"
	msgStatusNone    = "No temporary code is active."
	msgIssuedNote    = "It works as often as needed until it expires, and never for security keys."
	msgExpired       = "The temporary code was expired."
)

// Method is the temporary-code method. Create it with New. One Method
// serves one host namespace (a plugin process serves one method).
type Method struct {
	digits       int
	minTTL       time.Duration
	maxTTL       time.Duration
	perHour      int
	priority     int
	verifyLimit  int
	verifyWindow time.Duration

	secret *sdk.SharedKey // hashes codes and signs challenge IDs
}

// New returns the method with its defaults.
func New() sdk.Method {
	return &Method{
		secret: &sdk.SharedKey{Name: keyName},
		digits: DefaultDigits, minTTL: DefaultMinTTL, maxTTL: DefaultMaxTTL, perHour: DefaultPerHour,
		priority: DefaultPriority, verifyLimit: DefaultVerifyLimit, verifyWindow: DefaultVerifyWindow,
	}
}

// Configure implements sdk.Configurable. Keys: digits (6 to 12), min_ttl
// and max_ttl (positive durations, min_ttl <= max_ttl), per_hour (1 to
// 1000 codes issued per user in any rolling hour), priority, verify_limit
// and verify_window (at most verify_limit verifications per user in any
// verify_window). Other keys are ignored. A bad value is an
// *sdk.SettingError naming its key.
func (m *Method) Configure(s map[string]string) error {
	ints := []struct {
		key    string
		dst    *int
		lo, hi int
	}{
		{"digits", &m.digits, MinDigits, MaxDigits},
		{"per_hour", &m.perHour, 1, MaxPerHour},
		{"priority", &m.priority, 0, 1 << 20},
		{"verify_limit", &m.verifyLimit, 1, 1 << 20},
	}
	for _, c := range ints {
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
	durations := []struct {
		key string
		dst *time.Duration
	}{{"min_ttl", &m.minTTL}, {"max_ttl", &m.maxTTL}, {"verify_window", &m.verifyWindow}}
	for _, c := range durations {
		v, ok := s[c.key]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return sdk.InvalidSetting(c.key, v, `use a positive duration such as "1h" or "30m"`)
		}
		*c.dst = d
	}
	if m.minTTL > m.maxTTL {
		return &sdk.SettingError{Key: "min_ttl", Msg: fmt.Sprintf("%s is longer than max_ttl %s: lower min_ttl or raise max_ttl",
			fmtDuration(m.minTTL), fmtDuration(m.maxTTL))}
	}
	return nil
}

// DefaultSettings returns the settings a new Method runs with, as
// Configure takes them: digits, min_ttl, max_ttl and per_hour. stepup
// shows them as the defaults under methods.tempcode (plugins.Defaults).
func (m *Method) DefaultSettings() map[string]string {
	return map[string]string{
		"digits":   strconv.Itoa(DefaultDigits),
		"min_ttl":  fmtDuration(DefaultMinTTL),
		"max_ttl":  fmtDuration(DefaultMaxTTL),
		"per_hour": strconv.Itoa(DefaultPerHour),
	}
}

// declaredSettings are the keys Configure takes (sdk.Description.Settings).
var declaredSettings = []sdk.Setting{
	{Name: "digits", Type: sdk.SettingInt, Min: strconv.Itoa(MinDigits), Max: strconv.Itoa(MaxDigits), Default: strconv.Itoa(DefaultDigits)},
	{Name: "min_ttl", Type: sdk.SettingDuration, Min: "1ns", Default: DefaultMinTTL.String()},
	{Name: "max_ttl", Type: sdk.SettingDuration, Min: "1ns", Default: DefaultMaxTTL.String()},
	{Name: "per_hour", Type: sdk.SettingInt, Min: "1", Max: strconv.Itoa(MaxPerHour), Default: strconv.Itoa(DefaultPerHour)},
	{Name: "verify_limit", Type: sdk.SettingInt, Min: "1", Max: strconv.Itoa(1 << 20)},
	{Name: "verify_window", Type: sdk.SettingDuration, Min: "1ns"},
}

// Describe implements sdk.Method.
func (m *Method) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Settings:       declaredSettings,
		Name:           Name,
		DisplayName:    "Temporary code from your help desk",
		Levels:         []string{"aal2"},
		AMR:            []string{"otp"},
		NeedsEnrolment: true,
		Bypass:         true,
		Priority:       m.priority,
		AdminActions:   []string{ActionIssue, ActionStatus, ActionExpire},
		Admin:          m.adminActions(),
		UsedEvent:      EventUsed,
		// Expiring one's own code only gives something up.
		Removal:     sdk.Removal{Label: "Expire now", Event: EventExpired, NoReverify: true},
		Limits:      []sdk.Limit{{Operation: sdk.OpVerify, Max: m.verifyLimit, Window: m.verifyWindow, Key: verifyKey(sdk.UserPlaceholder)}},
		UserRecords: []string{codeKey(sdk.UserPlaceholder)},
	}, nil
}

// adminActions are the actions as the host offers them: issue for an
// active user other than oneself (the break-glass command excepted),
// with a ttl chosen from whole hours within the settings; see the
// status; expire.
func (m *Method) adminActions() []sdk.AdminAction {
	var ttls []string
	for d := m.minTTL; d <= m.maxTTL; d += time.Hour {
		ttls = append(ttls, fmtDuration(d))
	}
	def := ttls[0]
	if defaultTTL >= m.minTTL && defaultTTL <= m.maxTTL && (defaultTTL-m.minTTL)%time.Hour == 0 {
		def = fmtDuration(defaultTTL)
	}
	return []sdk.AdminAction{
		{
			Name: ActionStatus, Resource: Resource, Verb: sdk.VerbGet, Label: "Temporary code",
			Results: []sdk.AdminResult{
				{Name: "active", Type: sdk.ResultBool},
				{Name: "issued_at", Label: "Issued", Type: sdk.ResultTime},
				{Name: "expires_at", Label: "Valid until", Type: sdk.ResultTime},
				{Name: "issued_by", Label: "Issued by"},
				{Name: "summary", Type: sdk.ResultSummary},
			},
		},
		{
			Name: ActionIssue, Resource: Resource, Verb: sdk.VerbPost, Label: "Generate code", OfferedIf: "!active",
			Params: []sdk.AdminParam{{Name: "ttl", Label: "Valid for", Type: sdk.ParamDuration, Default: def, Choices: ttls}},
			Results: []sdk.AdminResult{
				{Name: "code", Label: "Temporary code", Secret: true},
				{Name: "expires_at", Label: "Valid until", Type: sdk.ResultTime},
				{Name: "summary", Type: sdk.ResultSummary},
			},
			Event: EventIssued, RefusedEvent: EventRefused, ActiveUserOnly: true, NotForSelf: true, BreakGlass: true,
		},
		{
			Name: ActionExpire, Resource: Resource, Verb: sdk.VerbDelete, Label: "Expire now", OfferedIf: "active",
			Results: []sdk.AdminResult{{Name: "expired", Type: sdk.ResultBool}},
			Event:   EventExpired, EventIf: "expired", Done: msgExpired,
		},
	}
}

// activeCode is the record under codeKey: either a claim that an issue in
// progress holds while it counts the hourly budget (Claim, nothing else
// set), or the user's code as a keyed hash. Never the code itself.
type activeCode struct {
	Claim     bool      `json:"claim,omitempty"`
	ID        string    `json:"id,omitempty"`
	Hash      []byte    `json:"hash,omitempty"` // codeHash(key, user ID, code)
	Digits    int       `json:"digits,omitempty"`
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	IssuedBy  string    `json:"issued_by,omitempty"`
}

func (c activeCode) live(now time.Time) bool {
	return !c.Claim && len(c.Hash) == sha256.Size && now.Before(c.ExpiresAt)
}

func (c activeCode) label() string {
	return fmt.Sprintf(credentialLabelF, c.ExpiresAt.UTC().Format("15:04"))
}

func codeKey(userID string) string   { return "code/" + userID }
func issueKey(userID string) string  { return "issue/" + userID }
func verifyKey(userID string) string { return "verify/" + userID }

// keyName holds the key that hashes codes and signs challenge IDs.
const keyName = "hmac-key"

// Admin implements sdk.Method: issue, status and expire (see the Action
// constants).
func (m *Method) Admin(ctx context.Context, h sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	switch req.Action {
	case ActionIssue, ActionStatus, ActionExpire:
	default:
		return nil, sdk.InvalidInput("tempcode has no action %q", req.Action)
	}
	if !sdk.ValidID(req.User.ID) {
		return nil, sdk.InvalidInput("tempcode: bad user ID")
	}
	switch req.Action {
	case ActionIssue:
		actor := req.Actor
		if actor == "" {
			actor = req.Params["actor"]
		}
		return m.issue(ctx, h, req.User.ID, req.Params["ttl"], actor)
	case ActionStatus:
		var c activeCode
		if _, err := sdk.GetJSON(ctx, h.Storage(), codeKey(req.User.ID), &c); err != nil && !errors.Is(err, sdk.ErrNotFound) {
			return nil, err
		}
		if !c.live(h.Now()) {
			return map[string]string{"active": "false", "summary": msgStatusNone}, nil
		}
		summary := fmt.Sprintf(msgStatusActive, c.ExpiresAt.UTC().Format("2006-01-02 15:04"))
		if c.IssuedBy != "" {
			summary += fmt.Sprintf(msgIssuedBy, c.IssuedBy)
		}
		return map[string]string{
			"active":     "true",
			"issued_at":  c.IssuedAt.UTC().Format(time.RFC3339),
			"expires_at": c.ExpiresAt.UTC().Format(time.RFC3339),
			"issued_by":  c.IssuedBy,
			"summary":    summary + ".",
		}, nil
	default:
		ok, err := m.expire(ctx, h, req.User.ID, func(activeCode) bool { return true })
		if err != nil {
			return nil, err
		}
		return map[string]string{"expired": strconv.FormatBool(ok)}, nil
	}
}

// issue claims the user's slot, counts the issue against the hourly budget
// and stores the code's hash over the claim: see the package doc for why
// in this order.
func (m *Method) issue(ctx context.Context, h sdk.Host, userID, ttlParam, actor string) (map[string]string, error) {
	ttl, err := m.ttl(ttlParam)
	if err != nil {
		return nil, err
	}
	actor = strings.TrimSpace(actor)
	if len(actor) > 256 || !utf8.ValidString(actor) {
		return nil, sdk.InvalidInput("actor must be at most 256 bytes of UTF-8")
	}
	st, now := h.Storage(), h.Now()
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return nil, err
	}
	claimed, err := claim(ctx, st, userID, now)
	if err != nil {
		return nil, err
	}
	stored := false
	defer func() {
		if !stored {
			// Frees the slot at once; otherwise the claim expires by itself.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTTL)
			_ = st.Delete(dctx, codeKey(userID), claimed)
			cancel()
		}
	}()
	r, err := h.RateLimit().Count(ctx, issueKey(userID), IssueWindow, m.perHour)
	if err != nil {
		return nil, err
	}
	if !r.Allowed {
		return nil, sdk.RateLimited(r.RetryAfter)
	}
	code, err := newCode(m.digits)
	if err != nil {
		return nil, err
	}
	id, err := sdk.RandomID()
	if err != nil {
		return nil, err
	}
	c := activeCode{
		ID: id, Hash: codeHash(key, userID, code), Digits: m.digits,
		IssuedAt: now, ExpiresAt: now.Add(ttl), IssuedBy: actor,
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	// The code is the action's change: a committing host stores it with
	// its tempcode.issued event, in one transaction.
	if err := sdk.PutOnCommit(ctx, st, codeKey(userID), raw, claimed, ttl); err != nil {
		if errors.Is(err, sdk.ErrConflict) {
			return nil, sdk.Conflict(msgChanged)
		}
		return nil, err
	}
	stored = true
	return map[string]string{"code": code, "expires_at": c.ExpiresAt.UTC().Format(time.RFC3339), "summary": msgIssuedNote}, nil
}

// claim takes the user's slot for an issue in progress and returns the
// claim's version: of concurrent claims exactly one succeeds. A live code
// or another claim is a conflict that counts nothing.
func claim(ctx context.Context, st sdk.Storage, userID string, now time.Time) (int64, error) {
	raw, err := json.Marshal(activeCode{Claim: true})
	if err != nil {
		return 0, err
	}
	for range 4 {
		var cur activeCode
		version, err := sdk.GetJSON(ctx, st, codeKey(userID), &cur)
		switch {
		case errors.Is(err, sdk.ErrNotFound):
			version = sdk.MustNotExist
		case err != nil:
			return 0, err
		case cur.Claim:
			return 0, sdk.Conflict(msgIssuing)
		case cur.live(now):
			return 0, sdk.Conflict(msgActive)
		}
		// Absent, or an expired code the storage has not dropped yet.
		v, err := st.Put(ctx, codeKey(userID), raw, version, claimTTL)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, sdk.ErrConflict) {
			return 0, err
		}
		// Another issue or an expiry moved first: look again.
	}
	return 0, sdk.Conflict(msgIssuing)
}

// expire deletes the user's live code when match accepts it, and reports
// whether it did. A claim is left alone: the issue holding it has not
// produced a code yet and completes after this expiry.
func (m *Method) expire(ctx context.Context, h sdk.Host, userID string, match func(activeCode) bool) (bool, error) {
	st, now := h.Storage(), h.Now()
	for range 4 {
		var cur activeCode
		version, err := sdk.GetJSON(ctx, st, codeKey(userID), &cur)
		if errors.Is(err, sdk.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !cur.live(now) || !match(cur) {
			return false, nil
		}
		err = sdk.DeleteOnCommit(ctx, st, codeKey(userID), version) // with its event, on a committing host
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sdk.ErrConflict) {
			return false, err
		}
	}
	return false, fmt.Errorf("%w: tempcode: the code keeps changing", sdk.ErrUnavailable)
}

// ttl parses and bounds the "ttl" parameter of an issue.
func (m *Method) ttl(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, sdk.InvalidInput("ttl must be a duration such as 4h, between %s and %s", fmtDuration(m.minTTL), fmtDuration(m.maxTTL))
	}
	if d < m.minTTL || d > m.maxTTL {
		return 0, sdk.InvalidInput("ttl must be between %s and %s", fmtDuration(m.minTTL), fmtDuration(m.maxTTL))
	}
	return d, nil
}

// Begin implements sdk.Method. A challenge is not stored: its ID carries
// its expiry and is signed for the user and the code (sdk.NewChallengeID).
func (m *Method) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	if !sdk.ValidID(req.User.ID) {
		return sdk.Challenge{}, sdk.InvalidInput("tempcode: bad user ID")
	}
	st, now := h.Storage(), h.Now()
	var c activeCode
	if _, err := sdk.GetJSON(ctx, st, codeKey(req.User.ID), &c); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return sdk.Challenge{}, err
	}
	if !c.live(now) {
		return sdk.Challenge{}, sdk.ErrNotEnrolled
	}
	key, err := m.secret.Get(ctx, st)
	if err != nil {
		return sdk.Challenge{}, err
	}
	expires := now.Add(ChallengeTTL)
	if c.ExpiresAt.Before(expires) {
		expires = c.ExpiresAt
	}
	expires = expires.Truncate(time.Second) // as the ID carries it
	id, err := sdk.NewChallengeID(key, Name, expires, req.User.ID, c.ID)
	if err != nil {
		return sdk.Challenge{}, err
	}
	digits := c.Digits
	if digits == 0 {
		digits = m.digits
	}
	return sdk.Challenge{
		ID:     id,
		Prompt: prompt,
		Fields: []sdk.Field{{
			Name: "code", Label: "Temporary code", Type: "text", Autocomplete: "one-time-code",
			InputMode: "numeric", Pattern: fmt.Sprintf("[0-9]{%d}", digits), MaxLength: digits,
		}},
		ExpiresAt: expires,
	}, nil
}

// Verify implements sdk.Method. It writes nothing: the code stays usable
// until it expires. Every way to fail but a rate limit or an outage is the
// bare sdk.ErrInvalidResponse, after the same work. One round trip to the
// host, the rate count: the code comes with the call (UserRecords).
func (m *Method) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if !sdk.ValidID(req.UserID) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	limitErr := sdk.CheckLimit(ctx, h, verifyKey(req.UserID), m.verifyWindow, m.verifyLimit)
	var c activeCode
	_, codeErr := sdk.GetJSON(ctx, st, codeKey(req.UserID), &c)
	key, keyErr := m.secret.Get(ctx, st)
	switch {
	case limitErr != nil:
		return sdk.Result{}, limitErr
	case keyErr != nil:
		return sdk.Result{}, keyErr
	case codeErr != nil && !errors.Is(codeErr, sdk.ErrNotFound):
		return sdk.Result{}, codeErr
	}
	want := c.Hash
	if len(want) != sha256.Size {
		want = make([]byte, sha256.Size) // same work for an unknown user
	}
	codeOK := hmac.Equal(codeHash(key, req.UserID, normalise(req.Response["code"])), want)
	chOK := sdk.CheckChallengeID(key, Name, req.ChallengeID, now, req.UserID, c.ID)
	if !codeOK || !chOK || !c.live(now) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	return sdk.Result{AMR: []string{"otp"}, CredentialID: c.ID}, nil
}

// Enrol implements sdk.Method: a user cannot give themselves a code.
func (m *Method) Enrol(context.Context, sdk.Host, sdk.EnrolRequest) (sdk.Enrolment, error) {
	return sdk.Enrolment{}, sdk.InvalidInput(msgSelfEnrol)
}

// ConfirmEnrolment implements sdk.Method: there is nothing to confirm.
func (m *Method) ConfirmEnrolment(context.Context, sdk.Host, sdk.ConfirmRequest) (sdk.Credential, error) {
	return sdk.Credential{}, sdk.InvalidInput(msgSelfEnrol)
}

// ListCredentials implements sdk.Method: the live code, if any, labelled
// with its expiry.
func (m *Method) ListCredentials(ctx context.Context, h sdk.Host, userID string) ([]sdk.Credential, error) {
	if !sdk.ValidID(userID) {
		return []sdk.Credential{}, nil
	}
	var c activeCode
	if _, err := sdk.GetJSON(ctx, h.Storage(), codeKey(userID), &c); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return nil, err
	}
	if !c.live(h.Now()) {
		return []sdk.Credential{}, nil
	}
	return []sdk.Credential{{ID: c.ID, Label: c.label(), CreatedAt: c.IssuedAt}}, nil
}

// Remove implements sdk.Method: the user (or an administrator
// disconnecting the method) expires the live code now.
func (m *Method) Remove(ctx context.Context, h sdk.Host, userID, credentialID string) error {
	if !sdk.ValidID(userID) || credentialID == "" {
		return sdk.ErrNotFound
	}
	ok, err := m.expire(ctx, h, userID, func(c activeCode) bool {
		return subtle.ConstantTimeCompare([]byte(c.ID), []byte(credentialID)) == 1
	})
	if err != nil {
		return err
	}
	if !ok {
		return sdk.ErrNotFound
	}
	return nil
}

// codeHash is what is stored of a code: HMAC-SHA-256 under the method's
// key of the user ID and the code (a NUL between them; user IDs hold none).
func codeHash(key []byte, userID, code string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("stepup tempcode code\x00"))
	mac.Write([]byte(userID))
	mac.Write([]byte{0})
	mac.Write([]byte(code))
	return mac.Sum(nil)
}

// newCode returns digits uniformly random decimal digits.
func newCode(digits int) (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", digits, n.Int64()), nil
}

// normalise drops the spaces and dashes a person types to group digits,
// and bounds the work on a silly long answer.
func normalise(code string) string {
	if len(code) > 64 {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
}

// fmtDuration writes 1h, 24h, 1h30m, 45m rather than 1h0m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
