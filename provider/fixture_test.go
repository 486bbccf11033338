package provider_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// The test binary doubles as the plugin of a method the provider has never
// heard of, "fixture": when a host starts it as a plugin (the go-plugin
// handshake is in its environment), it serves fixtureMethod instead of
// running the tests. Whatever the provider offers for it, it offers from
// the method's declarations alone.
func TestMain(m *testing.M) {
	if os.Getenv(sdk.Handshake.MagicCookieKey) == sdk.Handshake.MagicCookieValue {
		sdk.Serve(fixtureMethod{})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// withFixture configures the test binary as the external plugin
// "fixture", pinned by its checksum.
func withFixture(t *testing.T) testenv.Option {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sum := hosttest.FileSHA256(t, exe)
	return testenv.WithConfig(func(c *config.Config) {
		c.Methods[fixtureName] = config.MethodConfig{Path: exe, SHA256: sum, Priority: 20}
	})
}

const (
	fixtureName = "fixture"
	fixtureCode = "123456"
	// fixtureCodeNamingAnother is accepted, but its result names another
	// user than the challenge's, as only a first-factor verification may.
	fixtureCodeNamingAnother = "654321"
	// fixtureLegacyPhone makes Enrol answer as a method of an earlier sdk
	// would, with Display and ImagePNG.
	fixtureLegacyPhone = "+15550199"
	msgFixturePhone    = "Enter the number in international format, such as +15550100."
)

// fixtureMethod checks a phone: Enrol takes the number (its EnrolFields)
// and shows codes to keep; the code is always fixtureCode.
type fixtureMethod struct{}

// fixtureLevels are the levels the fixture declares: its setting
// "levels" (comma-separated), aal2 by default. One plugin process serves
// one method, so Configure may keep it here.
var fixtureLevels = []string{"aal2"}

// Configure takes "levels", so that a test can have a method of aal3 (a
// security key's level) without a security key.
func (fixtureMethod) Configure(settings map[string]string) error {
	if v := settings["levels"]; v != "" {
		fixtureLevels = strings.Split(v, ",")
	}
	return nil
}

func (fixtureMethod) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name: fixtureName, DisplayName: "Phone check", Levels: fixtureLevels, AMR: []string{"otp"},
		NeedsEnrolment: true, Priority: 20, Settings: []sdk.Setting{{Name: "levels", Type: sdk.SettingText, Default: "aal2"}},
		EnrolFields:  []sdk.Field{{Name: "phone", Label: "Mobile number", Type: "tel", Autocomplete: "tel"}},
		UsedEvent:    "fixture.used",
		AdminActions: []string{"status", "lock", "unlock", "broken", "patch"},
		Admin: []sdk.AdminAction{
			{Name: "status", Resource: fixtureResource, Verb: sdk.VerbGet, Label: "Phone lock",
				Results: []sdk.AdminResult{{Name: "locked", Type: sdk.ResultBool}, {Name: "until", Label: "Locked until", Type: sdk.ResultTime},
					{Name: "summary", Type: sdk.ResultSummary}}},
			{Name: "lock", Resource: fixtureResource, Verb: sdk.VerbPost, Label: "Lock the phone", OfferedIf: "!locked",
				Params: []sdk.AdminParam{{Name: "why", Label: "Reason", Default: "lost phone"},
					{Name: "hours", Label: "For", Type: sdk.ParamDuration, Default: "2h", Choices: []string{"1h", "2h"}}},
				Results: []sdk.AdminResult{{Name: "unlock_code", Label: "Unlock code", Secret: true},
					{Name: "until", Label: "Locked until", Type: sdk.ResultTime}, {Name: "summary", Type: sdk.ResultSummary}},
				Event: "fixture.locked", RefusedEvent: "fixture.lock_refused", NotForSelf: true, ActiveUserOnly: true, BreakGlass: true},
			{Name: "unlock", Resource: fixtureResource, Verb: sdk.VerbDelete, Label: "Lift the lock", OfferedIf: "locked",
				Params:  []sdk.AdminParam{{Name: "why", Label: "Reason", Default: "found"}},
				Results: []sdk.AdminResult{{Name: "unlocked", Type: sdk.ResultBool}},
				Event:   "fixture.unlocked", EventIf: "unlocked", Done: "The phone lock was lifted."},
			// Ill formed: the host offers neither.
			{Name: "broken", Resource: "methods", Verb: sdk.VerbGet},
			{Name: "patch", Resource: fixtureResource, Verb: "PATCH"},
		},
	}, nil
}

// fixtureResource is what the fixture's admin actions are about.
const fixtureResource = "phone-lock"

// Reasons that make the lock action refuse, each as a method may.
const (
	msgFixtureReason = "reason: say why the phone is locked"
	fixtureRetryIn   = 90 * time.Second
)

func fixtureCodeField() sdk.Field {
	return sdk.Field{Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code", InputMode: "numeric"}
}

func (fixtureMethod) Enrol(ctx context.Context, h sdk.Host, req sdk.EnrolRequest) (sdk.Enrolment, error) {
	phone := req.Params["phone"]
	if !strings.HasPrefix(phone, "+") {
		return sdk.Enrolment{}, sdk.InvalidInput(msgFixturePhone)
	}
	if _, err := h.Storage().Put(ctx, "pending/"+req.User.ID, []byte(phone), sdk.AnyVersion, time.Hour); err != nil {
		return sdk.Enrolment{}, err
	}
	e := sdk.Enrolment{ID: "e-" + req.User.ID, Prompt: "Enter the code we sent.", Fields: []sdk.Field{fixtureCodeField()}}
	if phone == fixtureLegacyPhone {
		e.Display = map[string]string{"otpauth_uri": "otpauth://totp/fixture:legacy?secret=LEGACYKEY", "secret": "LEGACYKEY"}
		e.ImagePNG = fixturePNG()
		return e, nil
	}
	e.Displays = []sdk.Display{
		{Kind: sdk.DisplayText, Value: "We sent a code to " + phone + "."},
		{Kind: sdk.DisplayCodes, Label: "Keep these codes somewhere safe:", Values: []string{"7KQ4-M2XD", "9RTA-WP3C"}},
		{Kind: sdk.DisplayLink, Label: "A link no page shows", Value: "javascript:alert(1)"},
		{Kind: sdk.DisplayImage, Label: "Not a picture", PNG: []byte("GIF89a")},
		{Kind: sdk.DisplayImage, Label: "A square", PNG: fixturePNG()},
	}
	return e, nil
}

func fixturePNG() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 2)))
	return b.Bytes()
}

func (fixtureMethod) ConfirmEnrolment(ctx context.Context, h sdk.Host, req sdk.ConfirmRequest) (sdk.Credential, error) {
	phone, _, err := h.Storage().Get(ctx, "pending/"+req.User.ID)
	if errors.Is(err, sdk.ErrNotFound) || req.EnrolmentID != "e-"+req.User.ID || req.Response["code"] != fixtureCode {
		return sdk.Credential{}, sdk.ErrInvalidResponse
	}
	if err != nil {
		return sdk.Credential{}, err
	}
	if _, err := h.Storage().Put(ctx, "cred/"+req.User.ID, phone, sdk.AnyVersion, 0); err != nil {
		return sdk.Credential{}, err
	}
	return sdk.Credential{ID: "c1", Label: string(phone), CreatedAt: h.Now()}, nil
}

func (fixtureMethod) ListCredentials(ctx context.Context, h sdk.Host, userID string) ([]sdk.Credential, error) {
	phone, _, err := h.Storage().Get(ctx, "cred/"+userID)
	if errors.Is(err, sdk.ErrNotFound) {
		return []sdk.Credential{}, nil
	}
	if err != nil {
		return nil, err
	}
	return []sdk.Credential{{ID: "c1", Label: string(phone)}}, nil
}

func (fixtureMethod) Remove(ctx context.Context, h sdk.Host, userID, credentialID string) error {
	if credentialID != "c1" {
		return sdk.ErrNotFound
	}
	return h.Storage().Delete(ctx, "cred/"+userID, sdk.AnyVersion)
}

func (m fixtureMethod) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	creds, err := m.ListCredentials(ctx, h, req.User.ID)
	if err != nil {
		return sdk.Challenge{}, err
	}
	if len(creds) == 0 {
		return sdk.Challenge{}, sdk.ErrNotEnrolled
	}
	return sdk.Challenge{ID: "ch-" + req.User.ID, Prompt: "Enter the code we sent to " + creds[0].Label + ".",
		Fields: []sdk.Field{fixtureCodeField()}, ExpiresAt: h.Now().Add(5 * time.Minute)}, nil
}

func (fixtureMethod) Verify(_ context.Context, _ sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if req.ChallengeID == "ch-"+req.UserID && req.Response["code"] == fixtureCodeNamingAnother {
		return sdk.Result{AMR: []string{"otp"}, CredentialID: "c1", UserID: "u-mallory"}, nil
	}
	if req.ChallengeID != "ch-"+req.UserID || req.Response["code"] != fixtureCode {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	return sdk.Result{AMR: []string{"otp"}, CredentialID: "c1"}, nil
}

// Admin locks a user's phone ("lock/USER" holds when the lock ends), or
// refuses by the reason given.
func (fixtureMethod) Admin(ctx context.Context, h sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	st, key := h.Storage(), "lock/"+req.User.ID
	until, _, err := st.Get(ctx, key)
	if err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return nil, err
	}
	switch req.Action {
	case "status":
		if until == nil {
			return map[string]string{"locked": "false", "summary": "The phone is not locked."}, nil
		}
		return map[string]string{"locked": "true", "until": string(until), "summary": "The phone is locked by " + req.Actor + "."}, nil
	case "lock":
		switch req.Params["why"] {
		case "", "bad":
			return nil, sdk.InvalidInput(msgFixtureReason)
		case "conflict":
			return nil, sdk.ErrConflict
		case "busy":
			return nil, sdk.RateLimited(h.Now().Add(fixtureRetryIn))
		case "missing":
			return nil, sdk.ErrNotFound
		case "crash":
			return nil, errors.New("the fixture failed")
		}
		d, err := time.ParseDuration(req.Params["hours"])
		if err != nil {
			return nil, sdk.InvalidInput("hours: a duration such as 2h")
		}
		end := h.Now().Add(d).UTC().Format(time.RFC3339)
		if _, err := st.Put(ctx, key, []byte(end), sdk.AnyVersion, d); err != nil {
			return nil, err
		}
		return map[string]string{"unlock_code": "UNLOCK-" + req.User.ID, "until": end, "summary": "Read the code out to the user.",
			"undeclared": "never shown"}, nil
	case "unlock":
		if err := st.Delete(ctx, key, sdk.AnyVersion); err != nil {
			return nil, err
		}
		return map[string]string{"unlocked": strconv.FormatBool(until != nil)}, nil
	}
	return nil, sdk.InvalidInput("fixture has no action %q", req.Action)
}
