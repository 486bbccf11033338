package webauthn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Name is the method's own name.
const Name = "webauthn"

// Defaults of the settings Configure accepts, and the lifetimes of
// ceremonies.
const (
	DefaultIssuer       = "http://localhost:8080"
	DefaultPriority     = 80
	DefaultVerifyLimit  = 10
	DefaultVerifyWindow = 5 * time.Minute
	ChallengeTTL        = 5 * time.Minute
	EnrolmentTTL        = 10 * time.Minute
	// maxCeremonies bounds the pending sign-in ceremonies kept per user:
	// a new one pushes out the oldest.
	maxCeremonies = 4
)

// The levels and amr values of SPEC §4.
const (
	aal2 = "aal2"
	aal3 = "aal3"
	// amrHardware is a device-bound key, amrSoftware a synced passkey,
	// amrUser a verified user (PIN or biometric).
	amrHardware = "hwk"
	amrSoftware = "swk"
	amrUser     = "user"
)

// Method is the security-key and passkey method. Create it with New.
type Method struct {
	issuer             string
	productName        string
	rpID               string
	origins            []string
	aaguids            []uuid.UUID // allow-list; empty: any
	attestationForAAL3 bool
	priority           int
	verifyLimit        int
	verifyWindow       time.Duration

	wa *webauthn.WebAuthn
}

// New returns the method with its defaults (an issuer of
// DefaultIssuer until Configure says otherwise).
func New() sdk.Method {
	m := &Method{issuer: DefaultIssuer, productName: "stepup", priority: DefaultPriority,
		verifyLimit: DefaultVerifyLimit, verifyWindow: DefaultVerifyWindow}
	if err := m.Configure(map[string]string{}); err != nil {
		panic("webauthn: the defaults do not configure: " + err.Error())
	}
	return m
}

// declaredSettings are the keys Configure takes (sdk.Description.Settings).
var declaredSettings = []sdk.Setting{
	{Name: "rp_id", Type: sdk.SettingText},
	{Name: "origins", Type: sdk.SettingText},
	{Name: "aaguids", Type: sdk.SettingText},
	{Name: "attestation_required_for_aal3", Type: sdk.SettingBool, Default: "false"},
	{Name: "verify_limit", Type: sdk.SettingInt, Min: "1", Default: strconv.Itoa(DefaultVerifyLimit)},
	{Name: "verify_window", Type: sdk.SettingDuration, Min: "1ns", Default: DefaultVerifyWindow.String()},
}

// Configure implements sdk.Configurable. Keys: rp_id (the WebAuthn
// relying party ID; default: the issuer's host name), origins (the page
// origins a ceremony may come from, comma-separated; default: the
// issuer's origin), aaguids (the authenticator models, by AAGUID, that may
// be registered, comma-separated; default: any),
// attestation_required_for_aal3 (only a credential registered with a
// verified attestation statement reaches aal3), verify_limit and
// verify_window. An issuer whose host is an IP address, which no browser
// accepts as a relying party ID, is taken as localhost on the same port,
// so that a development setup works when browsed at localhost.
func (m *Method) Configure(s map[string]string) error {
	if v := strings.TrimSpace(s[sdk.SettingIssuer]); v != "" {
		m.issuer = v
	}
	if v := strings.TrimSpace(s[sdk.SettingProductName]); v != "" {
		m.productName = v
	}
	iss, err := url.Parse(m.issuer)
	if err != nil || iss.Host == "" {
		return sdk.InvalidSetting("issuer", m.issuer, "use the issuer's URL, such as https://login.example.com")
	}
	host := iss.Hostname()
	if protocol.ValidateRPID(host) != nil {
		host = "localhost"
		if p := iss.Port(); p != "" {
			iss.Host = "localhost:" + p
		} else {
			iss.Host = "localhost"
		}
	}
	m.rpID, m.origins = host, []string{iss.Scheme + "://" + iss.Host}
	if v, ok := s["rp_id"]; ok && strings.TrimSpace(v) != "" {
		v = strings.TrimSpace(v)
		if err := protocol.ValidateRPID(v); err != nil {
			return sdk.InvalidSetting("rp_id", v, "use a domain name (no scheme, port or IP address), the issuer's host or a parent of it")
		}
		m.rpID = v
	}
	if v, ok := s["origins"]; ok && strings.TrimSpace(v) != "" {
		m.origins = nil
		for o := range strings.SplitSeq(v, ",") {
			o = strings.TrimSpace(o)
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				return sdk.InvalidSetting("origins", v, "use origins such as https://login.example.com, separated by commas")
			}
			m.origins = append(m.origins, u.Scheme+"://"+u.Host)
		}
	}
	m.aaguids = nil
	if v, ok := s["aaguids"]; ok && strings.TrimSpace(v) != "" {
		for a := range strings.SplitSeq(v, ",") {
			id, err := uuid.Parse(strings.TrimSpace(a))
			if err != nil {
				return sdk.InvalidSetting("aaguids", v, "use AAGUIDs such as cb69481e-8ff7-4039-93ec-0a2729a154a8, separated by commas")
			}
			m.aaguids = append(m.aaguids, id)
		}
	}
	if v, ok := s["attestation_required_for_aal3"]; ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return sdk.InvalidSetting("attestation_required_for_aal3", v, "use true or false")
		}
		m.attestationForAAL3 = b
	}
	if v, ok := s["priority"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return sdk.InvalidSetting("priority", v, "use a whole number of at least 0")
		}
		m.priority = n
	}
	if v, ok := s["verify_limit"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return sdk.InvalidSetting("verify_limit", v, "use a whole number of at least 1")
		}
		m.verifyLimit = n
	}
	if v, ok := s["verify_window"]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return sdk.InvalidSetting("verify_window", v, `use a positive duration such as "5m"`)
		}
		m.verifyWindow = d
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: m.rpID, RPDisplayName: m.productName, RPOrigins: m.origins})
	if err != nil {
		return sdk.InvalidSetting("rp_id", m.rpID, "use the issuer's host name or a parent domain, and origins under it: "+err.Error())
	}
	m.wa = wa
	return nil
}

// DefaultSettings implements plugins.Defaults: the policy keys, empty
// where the default derives from the issuer.
func (m *Method) DefaultSettings() map[string]string {
	return map[string]string{"attestation_required_for_aal3": "false"}
}

// Describe implements sdk.Method.
func (m *Method) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Settings:       declaredSettings,
		Name:           Name,
		DisplayName:    "Security key or passkey",
		Levels:         []string{aal2, aal3},
		AMR:            []string{amrHardware, amrSoftware, amrUser},
		NeedsEnrolment: true,
		Priority:       m.priority,
		FirstFactor:    true,
		Limits: []sdk.Limit{
			{Operation: sdk.OpVerify, Max: m.verifyLimit, Window: m.verifyWindow, Key: verifyKey(sdk.UserPlaceholder), FailuresOnly: true},
			{Operation: sdk.OpConfirm, Max: m.verifyLimit, Window: m.verifyWindow},
		},
		UserRecords: []string{userKey(sdk.UserPlaceholder)},
	}, nil
}

// userRecord is one user's credentials and pending sign-in ceremonies.
type userRecord struct {
	Credentials []credential `json:"credentials"`
	Ceremonies  []ceremony   `json:"ceremonies,omitempty"`
}

// credential is one registered security key or passkey.
type credential struct {
	ID         string              `json:"id"` // stepup's, not the authenticator's
	Label      string              `json:"label"`
	CreatedAt  time.Time           `json:"created_at"`
	LastUsedAt time.Time           `json:"last_used_at,omitzero"`
	Key        webauthn.Credential `json:"key"`
}

// ceremony is a pending WebAuthn ceremony: what go-webauthn needs to check
// its answer, and when it expires by the host's clock (the library's own
// expiry reads the wall clock, so it is left unset).
type ceremony struct {
	ID        string               `json:"id"`
	ExpiresAt time.Time            `json:"expires_at"`
	Session   webauthn.SessionData `json:"session"`
}

func userKey(userID string) string   { return "user/" + userID }
func enrolKey(userID string) string  { return "enrol/" + userID }
func signInKey(id string) string     { return "signin/" + id }
func verifyKey(userID string) string { return "verify/" + userID }

// Form fields: the script fills them with the ceremony's answer, or with
// the name of the browser's error.
var (
	credentialField = sdk.Field{Name: "credential", Label: "Security key answer", Type: sdk.FieldHidden}
	errorField      = sdk.Field{Name: "error", Label: "Browser error", Type: sdk.FieldHidden}
	fields          = []sdk.Field{credentialField, errorField}
)

// waUser is a user as go-webauthn sees one: the user handle is stepup's
// user ID.
type waUser struct {
	id, name string
	creds    []credential
}

func (u waUser) WebAuthnID() []byte          { return []byte(u.id) }
func (u waUser) WebAuthnName() string        { return u.name }
func (u waUser) WebAuthnDisplayName() string { return u.name }
func (u waUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.creds))
	for i, c := range u.creds {
		out[i] = c.Key
	}
	return out
}

// validUserHandle: a WebAuthn user handle is at most 64 bytes.
func validUserHandle(id string) bool { return sdk.ValidID(id) && len(id) <= 64 }

func (m *Method) load(ctx context.Context, st sdk.Storage, userID string) (userRecord, int64, error) {
	var rec userRecord
	v, err := sdk.GetJSON(ctx, st, userKey(userID), &rec)
	if errors.Is(err, sdk.ErrNotFound) {
		return userRecord{}, sdk.MustNotExist, nil
	}
	return rec, v, err
}

// update applies change to the user's record, compare-and-swap, trying
// again with the record as it is when another call changed it meanwhile.
func (m *Method) update(ctx context.Context, st sdk.Storage, userID string, change func(*userRecord) error) error {
	for range 8 {
		rec, v, err := m.load(ctx, st, userID)
		if err != nil {
			return err
		}
		if err := change(&rec); err != nil {
			return err
		}
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if _, err = st.Put(ctx, userKey(userID), raw, v, 0); !errors.Is(err, sdk.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("webauthn: user record: %w", sdk.ErrConflict)
}

// live returns the ceremonies that have not expired at now.
func live(cs []ceremony, now time.Time) []ceremony {
	return slices.DeleteFunc(slices.Clone(cs), func(c ceremony) bool { return !now.Before(c.ExpiresAt) })
}

// Begin implements sdk.Method. With a user, it asks for one of the user's
// credentials (those that reach req.Level, when some do) with user
// verification preferred; without, it is a first-factor ceremony for any
// discoverable passkey, user verification required.
func (m *Method) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	if req.User.ID == "" {
		return m.beginFirstFactor(ctx, h)
	}
	if !validUserHandle(req.User.ID) {
		return sdk.Challenge{}, sdk.InvalidInput("webauthn: bad user ID")
	}
	st, now := h.Storage(), h.Now()
	rec, _, err := m.load(ctx, st, req.User.ID)
	if err != nil {
		return sdk.Challenge{}, err
	}
	if len(rec.Credentials) == 0 {
		return sdk.Challenge{}, sdk.ErrNotEnrolled
	}
	offered := rec.Credentials
	if req.Level != "" {
		if some := slices.DeleteFunc(slices.Clone(rec.Credentials), func(c credential) bool {
			return !slices.Contains(m.levelsOf(c.Key, c.Key.Flags.BackupEligible), req.Level)
		}); len(some) > 0 {
			offered = some
		}
	}
	assertion, sess, err := m.wa.BeginLogin(waUser{id: req.User.ID, name: req.User.Username, creds: offered},
		webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return sdk.Challenge{}, fmt.Errorf("webauthn: begin login: %w", err)
	}
	c, err := newCeremony(*sess, now)
	if err != nil {
		return sdk.Challenge{}, err
	}
	err = m.update(ctx, st, req.User.ID, func(r *userRecord) error {
		r.Ceremonies = append(live(r.Ceremonies, now), c)
		if n := len(r.Ceremonies); n > maxCeremonies {
			r.Ceremonies = r.Ceremonies[n-maxCeremonies:]
		}
		return nil
	})
	if err != nil {
		return sdk.Challenge{}, err
	}
	return challenge(c, assertion, "Use your security key or passkey: press Verify, then follow your browser.")
}

func newCeremony(sess webauthn.SessionData, now time.Time) (ceremony, error) {
	id, err := sdk.RandomID()
	if err != nil {
		return ceremony{}, err
	}
	return ceremony{ID: id, ExpiresAt: now.Add(ChallengeTTL), Session: sess}, nil
}

func challenge(c ceremony, assertion *protocol.CredentialAssertion, prompt string) (sdk.Challenge, error) {
	raw, err := json.Marshal(assertion)
	if err != nil {
		return sdk.Challenge{}, err
	}
	return sdk.Challenge{ID: c.ID, Prompt: prompt, Fields: fields, ExpiresAt: c.ExpiresAt,
		Public: map[string]string{sdk.PublicWebAuthnRequest: string(raw)}}, nil
}

func (m *Method) beginFirstFactor(ctx context.Context, h sdk.Host) (sdk.Challenge, error) {
	assertion, sess, err := m.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return sdk.Challenge{}, fmt.Errorf("webauthn: begin discoverable login: %w", err)
	}
	c, err := newCeremony(*sess, h.Now())
	if err != nil {
		return sdk.Challenge{}, err
	}
	// Kept with the sign-in page's request by a committing host (its ID is
	// random: nothing to collide with), as a code sent is.
	if err := sdk.PutJSONOnCommit(ctx, h.Storage(), signInKey(c.ID), c, sdk.MustNotExist, ChallengeTTL); err != nil {
		return sdk.Challenge{}, err
	}
	return challenge(c, assertion, "Sign in with a passkey: no password needed.")
}

// Verify implements sdk.Method. Every way to fail but a browser's refusal,
// a rate limit or an outage is sdk.ErrInvalidResponse, an unknown
// credential and a wrong signature alike; a device-bound key whose sign
// counter went backwards (a cloned key) is refused with a message the
// host audits. No round trip to the host: the record comes with the call,
// the host counts the attempt ahead, and it writes the spent ceremony and
// the new counter as it accepts.
func (m *Method) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if err := browserRefusal(req.Response); err != nil {
		return sdk.Result{}, err
	}
	if req.UserID == "" {
		return m.verifyFirstFactor(ctx, h, req)
	}
	if !validUserHandle(req.UserID) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	now, st := h.Now(), h.Storage()
	limitErr := sdk.CheckLimit(ctx, h, verifyKey(req.UserID), m.verifyWindow, m.verifyLimit)
	var rec userRecord
	version, recErr := sdk.GetJSON(ctx, st, userKey(req.UserID), &rec)
	switch {
	case limitErr != nil:
		return sdk.Result{}, limitErr
	case errors.Is(recErr, sdk.ErrNotFound):
		return sdk.Result{}, sdk.ErrInvalidResponse
	case recErr != nil:
		return sdk.Result{}, recErr
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(req.Response[credentialField.Name]))
	if err != nil {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	for range 4 {
		i := slices.IndexFunc(rec.Ceremonies, func(c ceremony) bool { return c.ID == req.ChallengeID })
		if i < 0 || !now.Before(rec.Ceremonies[i].ExpiresAt) {
			return sdk.Result{}, sdk.ErrInvalidResponse
		}
		user := waUser{id: req.UserID, creds: rec.Credentials}
		j, res, err := m.check(user, rec.Ceremonies[i].Session, parsed)
		if err != nil {
			return sdk.Result{}, err
		}
		rec.Credentials[j].Key, rec.Credentials[j].LastUsedAt = res.key, now
		rec.Ceremonies = live(slices.Delete(rec.Ceremonies, i, i+1), now)
		raw, err := json.Marshal(rec)
		if err != nil {
			return sdk.Result{}, err
		}
		err = sdk.PutOnAccept(ctx, h, userKey(req.UserID), raw, version, 0)
		if errors.Is(err, sdk.ErrConflict) {
			rec = userRecord{}
			if version, err = sdk.GetJSON(ctx, st, userKey(req.UserID), &rec); err != nil {
				return sdk.Result{}, invalid(err)
			}
			continue
		}
		if err != nil {
			return sdk.Result{}, err
		}
		return sdk.Result{AMR: res.amr, Levels: res.levels, CredentialID: rec.Credentials[j].ID}, nil
	}
	return sdk.Result{}, sdk.ErrInvalidResponse
}

// checked is what an accepted assertion gives.
type checked struct {
	key    webauthn.Credential // with its new counter and flags
	levels []string
	amr    []string
}

// check validates an assertion against the user's credentials and the
// ceremony, and returns the index of the credential that answered.
func (m *Method) check(user waUser, sess webauthn.SessionData, parsed *protocol.ParsedCredentialAssertionData) (int, checked, error) {
	key, err := m.wa.ValidateLogin(user, sess, parsed)
	if err != nil {
		return 0, checked{}, sdk.ErrInvalidResponse
	}
	return m.accept(user, key, parsed)
}

func (m *Method) accept(user waUser, key *webauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) (int, checked, error) {
	j := slices.IndexFunc(user.creds, func(c credential) bool { return bytes.Equal(c.Key.ID, key.ID) })
	if j < 0 {
		return 0, checked{}, sdk.ErrInvalidResponse
	}
	flags := parsed.Response.AuthenticatorData.Flags
	be := flags.HasBackupEligible()
	if key.Authenticator.CloneWarning && !be {
		return 0, checked{}, fmt.Errorf("%w: webauthn: the sign counter of credential %s went backwards (%d, stored %d): a cloned security key?",
			sdk.ErrInvalidResponse, user.creds[j].ID, parsed.Response.AuthenticatorData.Counter, user.creds[j].Key.Authenticator.SignCount)
	}
	if !m.allowedModel(key.Authenticator.AAGUID) {
		return 0, checked{}, fmt.Errorf("%w: webauthn: credential %s: its authenticator model is no longer allowed (aaguids)", sdk.ErrInvalidResponse, user.creds[j].ID)
	}
	key.Authenticator.CloneWarning = false
	amr := []string{amrHardware}
	if be {
		amr = []string{amrSoftware}
	}
	if flags.HasUserVerified() {
		amr = append(amr, amrUser)
	}
	return j, checked{key: *key, levels: m.levelsOf(*key, be), amr: amr}, nil
}

// levelsOf says what a ceremony of key reaches, be being the ceremony's
// backup-eligible flag: a synced passkey never reaches aal3, nor, with
// attestation_required_for_aal3, a key registered without a verified
// attestation statement.
func (m *Method) levelsOf(key webauthn.Credential, be bool) []string {
	if be || (m.attestationForAAL3 && !attested(key)) {
		return []string{aal2}
	}
	return []string{aal2, aal3}
}

// attested: the key was registered with an attestation statement that
// go-webauthn verified and that is not the authenticator vouching for
// itself.
func attested(key webauthn.Credential) bool {
	f, t := key.AttestationFormat, key.AttestationType
	return f != "" && f != "none" && t != "" && t != "none" && t != "self"
}

func (m *Method) allowedModel(aaguid []byte) bool {
	if len(m.aaguids) == 0 {
		return true
	}
	id, err := uuid.FromBytes(aaguid)
	return err == nil && id != uuid.Nil && slices.Contains(m.aaguids, id)
}

func (m *Method) verifyFirstFactor(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if !sdk.ValidID(req.ChallengeID) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	st, now := h.Storage(), h.Now()
	var c ceremony
	cVersion, err := sdk.GetJSON(ctx, st, signInKey(req.ChallengeID), &c)
	if err != nil {
		return sdk.Result{}, invalid(err)
	}
	if !now.Before(c.ExpiresAt) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(req.Response[credentialField.Name]))
	if err != nil {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	userID := string(parsed.Response.UserHandle)
	if !validUserHandle(userID) {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	rec, _, err := m.load(ctx, st, userID)
	if err != nil {
		return sdk.Result{}, err
	}
	user := waUser{id: userID, creds: rec.Credentials}
	_, key, err := m.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return user, nil }, c.Session, parsed)
	if err != nil {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	j, res, err := m.accept(user, key, parsed)
	if err != nil {
		return sdk.Result{}, err
	}
	// Spend the ceremony first: of two answers to it, one gets this far.
	if err := st.Delete(ctx, signInKey(req.ChallengeID), cVersion); err != nil {
		return sdk.Result{}, invalid(err)
	}
	credID := rec.Credentials[j].ID
	err = m.update(ctx, st, userID, func(r *userRecord) error {
		k := slices.IndexFunc(r.Credentials, func(c credential) bool { return c.ID == credID })
		if k < 0 {
			return sdk.ErrInvalidResponse // removed meanwhile
		}
		r.Credentials[k].Key, r.Credentials[k].LastUsedAt = res.key, now
		return nil
	})
	if err != nil {
		return sdk.Result{}, err
	}
	return sdk.Result{AMR: res.amr, Levels: res.levels, CredentialID: credID, UserID: userID}, nil
}

// invalid maps "no such record" and a lost race to the one error every
// failed verification gets; an outage stays an outage.
func invalid(err error) error {
	if errors.Is(err, sdk.ErrNotFound) || errors.Is(err, sdk.ErrConflict) {
		return sdk.ErrInvalidResponse
	}
	return err
}

var errorName = regexp.MustCompile(`^[A-Za-z]{1,40}$`)

// browserRefusal turns the browser's refusal, which the script posts in
// the error field instead of an answer, into a sentence for the user: it
// is not a wrong response, so it feeds no lockout.
func browserRefusal(resp map[string]string) error {
	name := strings.TrimSpace(resp[errorField.Name])
	if name == "" || resp[credentialField.Name] != "" {
		return nil
	}
	switch name {
	case "NotAllowedError", "AbortError":
		return sdk.InvalidInput("The security key or passkey did not answer: the request was cancelled or timed out. Try again, or use another method.")
	case "SecurityError":
		return sdk.InvalidInput("Your browser refused: this page's address is not the one your security keys are registered for. Open the sign-in page at its usual address and try again.")
	case "InvalidStateError":
		return sdk.InvalidInput("This security key is already registered to your account. Use another key, or keep using this one.")
	case "NotSupportedError":
		return sdk.InvalidInput("This browser or security key cannot do what was asked. Try another key or another browser.")
	case "Unsupported":
		return sdk.InvalidInput("This browser cannot use security keys or passkeys. Use another browser, or another method.")
	}
	if !errorName.MatchString(name) {
		name = "unknown error"
	}
	return sdk.InvalidInput("The browser could not use the security key (%s). Try again, or use another method.", name)
}

// pendingEnrolment is a registration waiting for the browser's answer.
type pendingEnrolment struct {
	ID        string               `json:"id"`
	ExpiresAt time.Time            `json:"expires_at"`
	Session   webauthn.SessionData `json:"session"`
}

// Enrol implements sdk.Method: a registration that prefers user
// verification and a discoverable (resident) credential, and excludes the
// user's registered ones. It asks for a direct attestation when aal3
// requires one.
func (m *Method) Enrol(ctx context.Context, h sdk.Host, req sdk.EnrolRequest) (sdk.Enrolment, error) {
	if !validUserHandle(req.User.ID) {
		return sdk.Enrolment{}, sdk.InvalidInput("webauthn: bad user ID")
	}
	st, now := h.Storage(), h.Now()
	rec, _, err := m.load(ctx, st, req.User.ID)
	if err != nil {
		return sdk.Enrolment{}, err
	}
	name := req.User.Username
	if name == "" {
		name = req.User.ID
	}
	user := waUser{id: req.User.ID, name: name, creds: rec.Credentials}
	conveyance := protocol.PreferNoAttestation
	if m.attestationForAAL3 {
		conveyance = protocol.PreferDirectAttestation
	}
	creation, sess, err := m.wa.BeginRegistration(user,
		webauthn.WithExclusions(webauthn.Credentials(user.WebAuthnCredentials()).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred}),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithConveyancePreference(conveyance))
	if err != nil {
		return sdk.Enrolment{}, fmt.Errorf("webauthn: begin registration: %w", err)
	}
	raw, err := json.Marshal(creation)
	if err != nil {
		return sdk.Enrolment{}, err
	}
	id, err := sdk.RandomID()
	if err != nil {
		return sdk.Enrolment{}, err
	}
	p := pendingEnrolment{ID: id, ExpiresAt: now.Add(EnrolmentTTL), Session: *sess}
	if err := sdk.PutJSON(ctx, st, enrolKey(req.User.ID), p, sdk.AnyVersion, EnrolmentTTL); err != nil {
		return sdk.Enrolment{}, err
	}
	return sdk.Enrolment{
		ID:     id,
		Prompt: "Give the key a name if you like, press Confirm, then follow your browser: insert and touch your security key, or use your device's passkey.",
		Fields: fields,
		Displays: []sdk.Display{{Kind: sdk.DisplayWebAuthnCreation, Value: string(raw),
			Label: "Adding a security key needs JavaScript, which this page uses only for that."}},
		ExpiresAt: p.ExpiresAt,
	}, nil
}

// ConfirmEnrolment implements sdk.Method: it checks the browser's answer
// to the registration and stores the credential with its flags (backup
// eligibility and state), AAGUID, transports and sign counter.
func (m *Method) ConfirmEnrolment(ctx context.Context, h sdk.Host, req sdk.ConfirmRequest) (sdk.Credential, error) {
	if !validUserHandle(req.User.ID) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	if err := browserRefusal(req.Response); err != nil {
		return sdk.Credential{}, err
	}
	if err := sdk.CheckLimit(ctx, h, "confirm/"+req.User.ID, m.verifyWindow, m.verifyLimit); err != nil {
		return sdk.Credential{}, err
	}
	st, now := h.Storage(), h.Now()
	var p pendingEnrolment
	pVersion, err := sdk.GetJSON(ctx, st, enrolKey(req.User.ID), &p)
	if err != nil {
		return sdk.Credential{}, invalid(err)
	}
	if p.ID != req.EnrolmentID || !now.Before(p.ExpiresAt) {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(req.Response[credentialField.Name]))
	if err != nil {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	rec, _, err := m.load(ctx, st, req.User.ID)
	if err != nil {
		return sdk.Credential{}, err
	}
	key, err := m.wa.CreateCredential(waUser{id: req.User.ID, creds: rec.Credentials}, p.Session, parsed)
	if err != nil {
		return sdk.Credential{}, fmt.Errorf("%w: webauthn: registration: %v", sdk.ErrInvalidResponse, err)
	}
	if !m.allowedModel(key.Authenticator.AAGUID) {
		id, _ := uuid.FromBytes(key.Authenticator.AAGUID)
		return sdk.Credential{}, sdk.InvalidInput("This security key's model (AAGUID %s) is not allowed here. Use a key your organisation approved.", id)
	}
	if slices.ContainsFunc(rec.Credentials, func(c credential) bool { return bytes.Equal(c.Key.ID, key.ID) }) {
		return sdk.Credential{}, sdk.InvalidInput("This security key is already registered to your account. Use another key, or keep using this one.")
	}
	if err := st.Delete(ctx, enrolKey(req.User.ID), pVersion); err != nil {
		return sdk.Credential{}, invalid(err)
	}
	fallback := "Security key"
	if key.Flags.BackupEligible {
		fallback = "Passkey"
	}
	label, err := sdk.CredentialLabel(req.Label, fallback)
	if err != nil {
		return sdk.Credential{}, err
	}
	credID, err := sdk.RandomID()
	if err != nil {
		return sdk.Credential{}, err
	}
	c := credential{ID: credID, Label: label, CreatedAt: now, Key: *key}
	err = m.update(ctx, st, req.User.ID, func(r *userRecord) error {
		if slices.ContainsFunc(r.Credentials, func(o credential) bool { return bytes.Equal(o.Key.ID, key.ID) }) {
			return sdk.InvalidInput("This security key is already registered to your account.")
		}
		r.Credentials = append(r.Credentials, c)
		return nil
	})
	if err != nil {
		return sdk.Credential{}, err
	}
	return m.public(c), nil
}

// public is a credential as the host lists it.
func (m *Method) public(c credential) sdk.Credential {
	note := "Security key, bound to its device"
	if c.Key.Flags.BackupEligible {
		note = "Synced passkey"
		if !c.Key.Flags.BackupState {
			note = "Passkey that can be synced (not backed up yet)"
		}
	}
	return sdk.Credential{ID: c.ID, Label: c.Label, CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt, Note: note,
		MaxLevel: topLevel(m.levelsOf(c.Key, c.Key.Flags.BackupEligible))}
}

// ListCredentials implements sdk.Method.
func (m *Method) ListCredentials(ctx context.Context, h sdk.Host, userID string) ([]sdk.Credential, error) {
	if !validUserHandle(userID) {
		return []sdk.Credential{}, nil
	}
	rec, _, err := m.load(ctx, h.Storage(), userID)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.Credential, 0, len(rec.Credentials))
	for _, c := range rec.Credentials {
		out = append(out, m.public(c))
	}
	return out, nil
}

// Remove implements sdk.Method.
func (m *Method) Remove(ctx context.Context, h sdk.Host, userID, credentialID string) error {
	if !validUserHandle(userID) {
		return sdk.ErrNotFound
	}
	return m.update(ctx, h.Storage(), userID, func(r *userRecord) error {
		i := slices.IndexFunc(r.Credentials, func(c credential) bool { return c.ID == credentialID })
		if i < 0 {
			return sdk.ErrNotFound
		}
		r.Credentials = slices.Delete(r.Credentials, i, i+1)
		return nil
	})
}

// Rename implements sdk.Renamer.
func (m *Method) Rename(ctx context.Context, h sdk.Host, userID, credentialID, label string) error {
	if !validUserHandle(userID) {
		return sdk.ErrNotFound
	}
	label, err := sdk.CredentialLabel(label, "")
	if err != nil {
		return err
	}
	if label == "" {
		return sdk.InvalidInput("Give the key a name.")
	}
	return m.update(ctx, h.Storage(), userID, func(r *userRecord) error {
		i := slices.IndexFunc(r.Credentials, func(c credential) bool { return c.ID == credentialID })
		if i < 0 {
			return sdk.ErrNotFound
		}
		r.Credentials[i].Label = label
		return nil
	})
}

// Admin implements sdk.Method: no administrative actions of its own
// (disconnecting is Remove).
func (m *Method) Admin(_ context.Context, _ sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	return nil, sdk.InvalidInput("webauthn has no action %q", req.Action)
}

// topLevel is the last, highest, of levels as levelsOf orders them.
func topLevel(levels []string) string { return levels[len(levels)-1] }
