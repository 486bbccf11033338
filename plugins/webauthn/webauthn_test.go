package webauthn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/conformance"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// pluginPath is the stepup-webauthn binary TestMain builds.
var pluginPath string

func TestMain(m *testing.M) {
	os.Exit(hosttest.RunWithPlugin(m, "github.com/stepup-mfa/stepup/plugins/webauthn/cmd/stepup-webauthn", &pluginPath))
}

// origin is where DefaultIssuer's pages are.
const origin = "http://localhost:8080"

// harness answers like a browser with one software key per user.
type harness struct {
	mu     sync.Mutex
	keys   map[string]*softKey
	config map[string]string
}

func newHarness() *harness { return &harness{keys: map[string]*softKey{}} }

func (h *harness) Spec() host.Spec {
	return host.Spec{Name: Name, Path: pluginPath, Config: h.config}
}

func (h *harness) key(t testing.TB, userID string) *softKey {
	h.mu.Lock()
	defer h.mu.Unlock()
	k, ok := h.keys[userID]
	if !ok {
		k = newSoftKey(t, origin)
		h.keys[userID] = k
	}
	return k
}

func creation(t testing.TB, e sdk.Enrolment) string {
	t.Helper()
	for _, d := range e.Displays {
		if d.Kind == sdk.DisplayWebAuthnCreation {
			return d.Value
		}
	}
	t.Fatalf("enrolment without %s display: %+v", sdk.DisplayWebAuthnCreation, e.Displays)
	return ""
}

func (h *harness) EnrolmentResponse(t testing.TB, _ *conformance.Env, u sdk.User, e sdk.Enrolment, valid bool) map[string]string {
	k := h.key(t, u.ID)
	answer := k.create(t, creation(t, e))
	if !valid {
		// Another page's origin: well formed, and refused.
		k.origin = "http://evil.example"
		answer = k.create(t, creation(t, e))
		k.origin = origin
	}
	return map[string]string{"credential": answer}
}

func (h *harness) ChallengeResponse(t testing.TB, _ *conformance.Env, u sdk.User, ch sdk.Challenge, valid bool) map[string]string {
	k := h.key(t, u.ID)
	h.mu.Lock()
	defer h.mu.Unlock()
	var signer *ecdsa.PrivateKey
	if !valid {
		signer = otherKey
	}
	return map[string]string{"credential": k.get(t, ch.Public[sdk.PublicWebAuthnRequest], signer)}
}

var otherKey = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

func TestConformance(t *testing.T) {
	conformance.RunMethodTests(t, newHarness())
}

// fixture is a launched plugin with one enrolled user and their key.
type fixture struct {
	env  *conformance.Env
	h    *harness
	user sdk.User
	key  *softKey
}

func setup(t testing.TB, config map[string]string, prepare func(*softKey)) *fixture {
	t.Helper()
	h := newHarness()
	h.config = config
	env := conformance.Launch(t, h)
	f := &fixture{env: env, h: h, user: sdk.User{ID: "u-" + strings.ReplaceAll(t.Name(), "/", "-"), Username: "alice"}}
	f.key = h.key(t, f.user.ID)
	if prepare != nil {
		prepare(f.key)
	}
	f.enrol(t, f.key)
	return f
}

func (f *fixture) enrol(t testing.TB, k *softKey) sdk.Credential {
	t.Helper()
	ctx := context.Background()
	e, err := f.env.Plugin.Enrol(ctx, sdk.EnrolRequest{User: f.user})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.env.Plugin.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: f.user, EnrolmentID: e.ID, Label: "My key",
		Response: map[string]string{"credential": k.create(t, creation(t, e))}})
	if err != nil {
		t.Fatalf("ConfirmEnrolment: %v", err)
	}
	return c
}

func (f *fixture) begin(t testing.TB) sdk.Challenge {
	t.Helper()
	ch, err := f.env.Plugin.Begin(context.Background(), sdk.BeginRequest{User: f.user})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func (f *fixture) verify(ch sdk.Challenge, answer string) (sdk.Result, error) {
	return f.env.Plugin.Verify(context.Background(), sdk.VerifyRequest{UserID: f.user.ID, ChallengeID: ch.ID,
		Response: map[string]string{"credential": answer}})
}

// TestLevelsFromCeremonyFlags: a device-bound key reaches aal3 with hwk,
// a synced passkey aal2 only with swk; user is there only with UV.
func TestLevelsFromCeremonyFlags(t *testing.T) {
	for _, tc := range []struct {
		name       string
		be, bs, uv bool
		levels     []string
		amr        []string
		maxLevel   string
	}{
		{"device-bound with UV", false, false, true, []string{"aal2", "aal3"}, []string{"hwk", "user"}, "aal3"},
		{"device-bound without UV", false, false, false, []string{"aal2", "aal3"}, []string{"hwk"}, "aal3"},
		{"synced passkey", true, true, true, []string{"aal2"}, []string{"swk", "user"}, "aal2"},
		{"backup-eligible, not backed up", true, false, true, []string{"aal2"}, []string{"swk", "user"}, "aal2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, nil, func(k *softKey) { k.be, k.bs, k.uv = tc.be, tc.bs, tc.uv })
			res, err := f.verify(f.begin(t), f.key.get(t, f.begin(t).Public[sdk.PublicWebAuthnRequest], nil))
			if err == nil {
				t.Fatalf("an answer to another ceremony was accepted: %+v", res)
			}
			ch := f.begin(t)
			res, err = f.verify(ch, f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Levels, tc.levels) || !slices.Equal(res.AMR, tc.amr) {
				t.Errorf("levels %v amr %v; want %v %v", res.Levels, res.AMR, tc.levels, tc.amr)
			}
			creds, err := f.env.Plugin.ListCredentials(context.Background(), f.user.ID)
			if err != nil || len(creds) != 1 {
				t.Fatalf("ListCredentials = %+v, %v", creds, err)
			}
			if c := creds[0]; c.MaxLevel != tc.maxLevel || c.Label != "My key" || !c.LastUsedAt.Equal(f.env.Clock.Now()) || c.Note == "" {
				t.Errorf("credential %+v; want max level %s, used now, with a note", c, tc.maxLevel)
			}
		})
	}
}

// TestReplayedAssertionRefused: the same answer twice, and the same
// ceremony answered twice, are refused the second time.
func TestReplayedAssertionRefused(t *testing.T) {
	f := setup(t, nil, nil)
	ch := f.begin(t)
	answer := f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil)
	if _, err := f.verify(ch, answer); err != nil {
		t.Fatal(err)
	}
	if _, err := f.verify(ch, answer); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("replayed assertion: %v; want ErrInvalidResponse", err)
	}
	if _, err := f.verify(ch, f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil)); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("a fresh answer to a spent ceremony: %v; want ErrInvalidResponse", err)
	}
}

// TestExpiredChallengeRefused: by the host's clock, not the wall clock.
func TestExpiredChallengeRefused(t *testing.T) {
	f := setup(t, nil, nil)
	ch := f.begin(t)
	f.env.Clock.Advance(ChallengeTTL)
	if _, err := f.verify(ch, f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil)); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("expired ceremony: %v; want ErrInvalidResponse", err)
	}
}

// TestUnknownCredentialAndWrongSignatureLookAlike: the error says
// nothing about which check failed.
func TestUnknownCredentialAndWrongSignatureLookAlike(t *testing.T) {
	f := setup(t, nil, nil)
	ch := f.begin(t)
	stranger := newSoftKey(t, origin)
	stranger.user = f.key.user
	_, unknownErr := f.verify(ch, stranger.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil))
	ch = f.begin(t)
	_, wrongErr := f.verify(ch, f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], otherKey))
	if !errors.Is(unknownErr, sdk.ErrInvalidResponse) || !errors.Is(wrongErr, sdk.ErrInvalidResponse) || unknownErr.Error() != wrongErr.Error() {
		t.Errorf("unknown credential: %v; wrong signature: %v; want the same ErrInvalidResponse", unknownErr, wrongErr)
	}
}

// TestClonedKeyRefused: a device-bound key whose counter goes back is
// refused, saying why for the audit log; a synced passkey that reports 0
// is not.
func TestClonedKeyRefused(t *testing.T) {
	f := setup(t, nil, func(k *softKey) { k.counter = 10 })
	ch := f.begin(t)
	if _, err := f.verify(ch, f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil)); err != nil {
		t.Fatal(err)
	}
	f.key.counter = 3 // the clone's counter
	ch = f.begin(t)
	_, err := f.verify(ch, f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil))
	if !errors.Is(err, sdk.ErrInvalidResponse) || !strings.Contains(err.Error(), "sign counter") {
		t.Errorf("cloned key: %v; want ErrInvalidResponse naming the sign counter", err)
	}

	synced := setup(t, nil, func(k *softKey) { k.be, k.bs = true, true })
	for range 3 {
		synced.key.counter = ^uint32(0) // get adds one: 0 every time
		ch := synced.begin(t)
		if _, err := synced.verify(ch, synced.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil)); err != nil {
			t.Fatalf("synced passkey with counter 0: %v", err)
		}
	}
}

// TestBeginOffersWhatReachesTheLevel: for aal3, a synced passkey is not
// offered when a device-bound key is there.
func TestBeginOffersWhatReachesTheLevel(t *testing.T) {
	f := setup(t, nil, func(k *softKey) { k.be, k.bs = true, true })
	hw := newSoftKey(t, origin)
	f.enrol(t, hw)
	ch, err := f.env.Plugin.Begin(context.Background(), sdk.BeginRequest{User: f.user, Level: "aal3"})
	if err != nil {
		t.Fatal(err)
	}
	opts := ch.Public[sdk.PublicWebAuthnRequest]
	if !strings.Contains(opts, b64.EncodeToString(hw.id)) || strings.Contains(opts, b64.EncodeToString(f.key.id)) {
		t.Errorf("aal3 options %s: want the device-bound key only", opts)
	}
	if _, err := f.verify(ch, f.key.get(t, opts, nil)); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("the synced passkey answered an aal3 ceremony: %v", err)
	}
}

// TestPasswordless: a first-factor ceremony names the user the passkey
// belongs to, needs user verification, and is single use.
func TestPasswordless(t *testing.T) {
	f := setup(t, nil, func(k *softKey) { k.be, k.bs = true, true })
	ctx := context.Background()
	ch, err := f.env.Plugin.Begin(ctx, sdk.BeginRequest{})
	if err != nil {
		t.Fatal(err)
	}
	answer := f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil)
	req := sdk.VerifyRequest{ChallengeID: ch.ID, Response: map[string]string{"credential": answer}}
	res, err := f.env.Plugin.Verify(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != f.user.ID || !slices.Equal(res.AMR, []string{"swk", "user"}) || !slices.Equal(res.Levels, []string{"aal2"}) {
		t.Errorf("passwordless result %+v", res)
	}
	if _, err := f.env.Plugin.Verify(ctx, req); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("replayed passwordless answer: %v", err)
	}
	f.key.uv = false
	ch, _ = f.env.Plugin.Begin(ctx, sdk.BeginRequest{})
	_, err = f.env.Plugin.Verify(ctx, sdk.VerifyRequest{ChallengeID: ch.ID,
		Response: map[string]string{"credential": f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil)}})
	if !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("passwordless without user verification: %v; want refused", err)
	}
}

// TestPolicy: the AAGUID allow-list refuses other models at registration,
// and attestation_required_for_aal3 keeps a key without attestation at
// aal2.
func TestPolicy(t *testing.T) {
	h := newHarness()
	h.config = map[string]string{"aaguids": "cb69481e-8ff7-4039-93ec-0a2729a154a8"}
	env := conformance.Launch(t, h)
	u := sdk.User{ID: "policy", Username: "p"}
	ctx := context.Background()
	e, err := env.Plugin.Enrol(ctx, sdk.EnrolRequest{User: u})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.Plugin.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: u, EnrolmentID: e.ID,
		Response: map[string]string{"credential": h.key(t, u.ID).create(t, creation(t, e))}})
	if !errors.Is(err, sdk.ErrInvalidInput) || !strings.Contains(sdk.UserMessage(err), "not allowed") {
		t.Errorf("a model off the allow-list: %v; want a clear refusal", err)
	}

	f := setup(t, map[string]string{"attestation_required_for_aal3": "true"}, nil)
	ch := f.begin(t)
	res, err := f.verify(ch, f.key.get(t, ch.Public[sdk.PublicWebAuthnRequest], nil))
	if err != nil || !slices.Equal(res.Levels, []string{"aal2"}) {
		t.Errorf("a key without attestation under attestation_required_for_aal3: %+v, %v; want aal2 only", res, err)
	}
}

// TestBrowserRefusals: a cancelled, timed-out or wrong-origin ceremony is
// an input error with a sentence, not a failed verification.
func TestBrowserRefusals(t *testing.T) {
	f := setup(t, nil, nil)
	for name, want := range map[string]string{"NotAllowedError": "cancelled or timed out", "SecurityError": "address",
		"Unsupported": "cannot use security keys", "Weird<script>": "unknown error"} {
		ch := f.begin(t)
		_, err := f.env.Plugin.Verify(context.Background(), sdk.VerifyRequest{UserID: f.user.ID, ChallengeID: ch.ID,
			Response: map[string]string{"error": name}})
		if !errors.Is(err, sdk.ErrInvalidInput) || !strings.Contains(sdk.UserMessage(err), want) {
			t.Errorf("%s: %v; want an input error saying %q", name, err, want)
		}
	}
}

func TestConfigure(t *testing.T) {
	for _, tc := range []struct {
		settings map[string]string
		rpID     string
		origin   string
		bad      string
	}{
		{map[string]string{sdk.SettingIssuer: "https://login.example.com/"}, "login.example.com", "https://login.example.com", ""},
		{map[string]string{sdk.SettingIssuer: "http://127.0.0.1:9000"}, "localhost", "http://localhost:9000", ""},
		{map[string]string{sdk.SettingIssuer: "https://login.example.com", "rp_id": "example.com"}, "example.com", "https://login.example.com", ""},
		{map[string]string{"rp_id": "10.0.0.1"}, "", "", "rp_id"},
		{map[string]string{"origins": "ftp://x"}, "", "", "origins"},
		{map[string]string{"aaguids": "nope"}, "", "", "aaguids"},
	} {
		m := New().(*Method)
		err := m.Configure(tc.settings)
		if tc.bad != "" {
			var se *sdk.SettingError
			if !errors.As(err, &se) || se.Key != tc.bad {
				t.Errorf("%v: %v; want a SettingError for %s", tc.settings, err, tc.bad)
			}
			continue
		}
		if err != nil || m.rpID != tc.rpID || !slices.Equal(m.origins, []string{tc.origin}) {
			t.Errorf("%v: rp %q origins %v, %v; want %q %q", tc.settings, m.rpID, m.origins, err, tc.rpID, tc.origin)
		}
	}
}

// BenchmarkVerify measures a WebAuthn step-up verification as the
// provider sees it: host -> plugin Verify (assertion check with
// go-webauthn), the rate-limit count ahead and the compare-and-swap that
// spends the ceremony, made by the host as it accepts; the record comes
// with the call. Begin and the browser's signature are outside the timer.
func BenchmarkVerify(b *testing.B) {
	f := setup(b, nil, nil)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ch := f.begin(b)
		answer := f.key.get(b, ch.Public[sdk.PublicWebAuthnRequest], nil)
		b.StartTimer()
		t0 := time.Now()
		_, err := f.verify(ch, answer)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
