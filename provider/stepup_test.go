package provider_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/testenv"
)

// totpEnv is a provider with the real TOTP plugin, alice signed in at
// aal1 in b, with an authenticator app enrolled.
func totpEnv(t *testing.T, opts ...testenv.Option) (env *testenv.Env, b *testenv.Browser, rp *testenv.RP, secret string) {
	t.Helper()
	env = testenv.New(t, append([]testenv.Option{testenv.WithMethods("totp")}, opts...)...)
	env.AddUser(t, "alice", alicePassword)
	rp = env.NewRP(t, testenv.PublicClient, "")
	b = env.NewBrowser(t)
	tok := login(t, env, b, rp, url.Values{"acr_values": {"aal1"}}, "alice", alicePassword)
	if tok.Claims.ACR != "aal1" {
		t.Fatalf("acr = %q", tok.Claims.ACR)
	}
	secret = b.EnrolTOTP()
	env.Clock.Advance(30 * time.Second) // the confirming code is spent
	return env, b, rp, secret
}

// stepUp answers the TOTP page with code and returns the next page.
func stepUp(t *testing.T, b *testenv.Browser, p *testenv.Page, code string) *testenv.Page {
	t.Helper()
	f := p.Form(t, "/login/verify")
	if f.Values.Get("method") != "totp" {
		t.Fatalf("method input = %q", f.Values.Get("method"))
	}
	return b.Submit(p, f, map[string]string{"code": code})
}

func TestStepUpAsksOnlyForTheCode(t *testing.T) {
	env, b, rp, secret := totpEnv(t)

	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := b.Get(ar.URL)
	if p.IsLoginPage() {
		t.Fatal("step-up asked for the password again")
	}
	f := p.Form(t, "/login/verify")
	var code testenv.Input
	for _, in := range f.Inputs {
		if in.Name == "code" {
			code = in
		}
	}
	if code.Autocomplete != "one-time-code" || f.Values.Get("csrf_token") == "" {
		t.Fatalf("challenge form: %+v", f)
	}
	// The authorization endpoint served the page, and stored the request
	// with its challenge, in one write.
	stored, err := env.Store.GetAuthRequest(t.Context(), f.Values.Get("id"))
	if err != nil || !strings.Contains(string(stored.Data), `"challenges":{"totp":`) {
		t.Fatalf("request behind the page served from %s: %v %s", p.URL.Path, err, stored.Data)
	}
	p = stepUp(t, b, p, testenv.TOTPCode(t, secret, env.Clock.Now()))
	// The code's own POST answers the client: one redirect, no detour.
	if p.URL.Path != "/login/verify" {
		t.Fatalf("the callback came from %s, want the verify POST itself", p.URL.Path)
	}
	cb := testenv.MustCallback(t, p)
	tok, err := rp.Exchange(cb.Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.ACR != "aal2" || !slices.Equal(tok.Claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("claims = %+v", tok.Claims)
	}
	// The access token and a refresh carry the same.
	if at := decodeJWT(t, tok.OAuth.AccessToken); at["acr"] != "aal2" {
		t.Fatalf("access token acr = %v", at["acr"])
	}
	next, err := rp.Refresh(tok.OAuth.RefreshToken)
	if err != nil || next.Claims.ACR != "aal2" || !slices.Equal(next.Claims.AMR, tok.Claims.AMR) {
		t.Fatalf("refresh: %v %+v", err, next)
	}
	if len(listEvents(t, env, "verification.succeeded")) != 1 {
		t.Fatal("verification not audited")
	}
}

// TestStepUpOnPostgres runs the plugin's storage and rate limits through
// the PostgreSQL backend.
func TestStepUpOnPostgres(t *testing.T) {
	env, b, rp, secret := totpEnv(t, testenv.WithPostgres())
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	cb := testenv.MustCallback(t, stepUp(t, b, b.Get(ar.URL), testenv.TOTPCode(t, secret, env.Clock.Now())))
	tok, err := rp.Exchange(cb.Code(t), ar)
	if err != nil || tok.Claims.ACR != "aal2" {
		t.Fatalf("%v %+v", err, tok)
	}
}

func TestAddingAMethodEmailsTheUser(t *testing.T) {
	env, _, _, _ := totpEnv(t)
	testenv.Eventually(t, "the method-added email to alice in the outbox", func() bool {
		msgs, _ := notify.ReadOutbox(env.Outbox)
		return len(msgs) == 1 && msgs[0].To == "alice@example.com" && msgs[0].Subject == notify.MethodAddedSubject
	})
}

func TestAddingAMethodEmailsOverSMTP(t *testing.T) {
	mailServer := testenv.StartSMTP(t)
	env := testenv.New(t, testenv.WithMethods("totp"), testenv.WithConfig(func(c *config.Config) {
		c.SMTP.Addr, c.SMTP.From = mailServer.Addr, "stepup@example.com"
	}))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	b.EnrolTOTP()
	m := mailServer.WaitFor(t, "alice@example.com")
	if m.Subject != notify.MethodAddedSubject || !strings.Contains(m.Body, "Authenticator app") || m.From != "stepup@example.com" {
		t.Fatalf("mail = %+v", m)
	}
}

func TestReplayedCodeRefused(t *testing.T) {
	env, b, rp, secret := totpEnv(t)
	code := testenv.TOTPCode(t, secret, env.Clock.Now())
	p := b.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}}).URL)
	testenv.MustCallback(t, stepUp(t, b, p, code))

	// max_age=0 asks for every factor again; the same code is spent.
	p = b.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}, "max_age": {"0"}}).URL)
	p = b.SubmitPassword(p, "alice", alicePassword)
	got := stepUp(t, b, p, code)
	if got.Status != http.StatusUnauthorized || !strings.Contains(got.Text(), "not correct") {
		t.Fatalf("replayed code: %d %s", got.Status, got.Text())
	}
}

func TestMaxAgeAsksBothFactorsAgain(t *testing.T) {
	env, b, rp, secret := totpEnv(t)
	testenv.MustCallback(t, stepUp(t, b, b.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}}).URL), testenv.TOTPCode(t, secret, env.Clock.Now())))

	env.Clock.Advance(11 * time.Minute)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}, "max_age": {"600"}})
	p := b.Get(ar.URL)
	if !p.IsLoginPage() {
		t.Fatalf("max_age did not ask for the password: %s", p.Text())
	}
	p = b.SubmitPassword(p, "alice", alicePassword)
	cb := testenv.MustCallback(t, stepUp(t, b, p, testenv.TOTPCode(t, secret, env.Clock.Now())))
	tok, err := rp.Exchange(cb.Code(t), ar)
	if err != nil || tok.Claims.ACR != "aal2" {
		t.Fatalf("%v %+v", err, tok)
	}
}

func TestTOTPLockout(t *testing.T) {
	env, b, rp, secret := totpEnv(t)
	claims := `{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}`
	p := b.Get(rp.AuthURL(url.Values{"claims": {claims}}).URL)
	var last *testenv.Page
	for i := range 10 {
		last = stepUp(t, b, p, "000000")
		if i < 9 && !strings.Contains(last.Text(), "not correct") {
			t.Fatalf("failure %d: %s", i+1, last.Text())
		}
	}
	// The tenth failure locks TOTP: an essential aal2 can no longer be met.
	cb := testenv.MustCallback(t, last)
	if cb.Params.Get("error") != "unmet_authentication_requirements" {
		t.Fatalf("after the lockout: %v", cb.Params)
	}
	if len(listEvents(t, env, "lockout.started")) != 1 || len(listEvents(t, env, "verification.failed")) != 10 {
		t.Fatal("failures and lockout not audited")
	}
	// Even the right code waits for the lock to lift; a voluntary request
	// says when.
	p = b.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}}).URL)
	if _, ok := testenv.CallbackOf(t, p); !ok && !strings.Contains(p.Text(), "locked") {
		t.Fatalf("locked method page: %s", p.Text())
	}
	env.Clock.Advance(16 * time.Minute)
	p = b.Get(rp.AuthURL(url.Values{"claims": {claims}}).URL)
	if p.IsLoginPage() {
		p = b.SubmitPassword(p, "alice", alicePassword)
	}
	testenv.MustCallback(t, stepUp(t, b, p, testenv.TOTPCode(t, secret, env.Clock.Now()))).Code(t)
}

func TestPluginKilledMidSession(t *testing.T) {
	env, b, rp, secret := totpEnv(t)
	plugin, _ := env.Methods.Method("totp")
	pid := plugin.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the plugin's restart", func() bool { return plugin.PID() != pid && plugin.Healthy() })
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	cb := testenv.MustCallback(t, stepUp(t, b, b.Get(ar.URL), testenv.TOTPCode(t, secret, env.Clock.Now())))
	tok, err := rp.Exchange(cb.Code(t), ar)
	if err != nil || tok.Claims.ACR != "aal2" {
		t.Fatalf("%v %+v", err, tok)
	}
	if plugin.Restarts() != 1 {
		t.Fatalf("restarts = %d", plugin.Restarts())
	}
}
