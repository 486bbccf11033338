package provider_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sms/gateway"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/testenv"
)

// emailEnv runs the email, SMS and TOTP methods with the administrator
// helpdesk and alice, settings set over the email method's defaults, and
// returns a client-credentials token of the admin bot.
func emailEnv(t *testing.T, settings map[string]any) (*testenv.Env, string) {
	t.Helper()
	env := testenv.New(t, testenv.WithMethods("email", "sms", "totp"), testenv.WithConfig(func(c *config.Config) {
		mc := c.Methods["email"]
		for k, v := range settings {
			mc.Settings[k] = v
		}
		c.Methods["email"] = mc
	}))
	env.AddUser(t, "helpdesk", adminPassword, "manage_mfa")
	env.AddUser(t, "alice", alicePassword)
	cc := clientcredentials.Config{ClientID: testenv.AdminBot, ClientSecret: testenv.AdminBotSecret, TokenURL: env.URL + "/oauth/token"}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return env, tok.AccessToken
}

var emailCodePattern = regexp.MustCompile(`verification code is:\n\n    (\d{6})\n`)

// emailedCode returns the code of the last message with a code mailed to
// to, from the outbox.
func emailedCode(t *testing.T, env *testenv.Env, to string) string {
	t.Helper()
	msgs, err := notify.ReadOutbox(env.Outbox)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.To == to && m.Subject == "Your verification code" {
			c := emailCodePattern.FindStringSubmatch(m.Text)
			if c == nil || !strings.Contains(m.Text, "Don't share it with anyone") || !strings.Contains(m.Text, "valid for 10 minutes") {
				t.Fatalf("the message does not have the expected form:\n%s", m.Text)
			}
			return c[1]
		}
	}
	t.Fatalf("no code mailed to %s", to)
	return ""
}

// challenge asks rp for acr as the signed-in b and returns the page.
func challenge(t *testing.T, b *testenv.Browser, rp *testenv.RP, acr string) (*testenv.Page, testenv.AuthRequest) {
	ar := rp.AuthURL(url.Values{"acr_values": {acr}})
	return b.Get(ar.URL), ar
}

// TestEmailCodes: email codes are offered only once an administrator
// allowed them, through PATCH of the user or the admin page; the code
// comes by mail, steps the session up to aal2 once, and the user can
// neither add nor remove the method.
func TestEmailCodes(t *testing.T) {
	env, tok := emailEnv(t, nil)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	login(t, env, b, rp, nil, "alice", alicePassword)

	// Not allowed yet: nothing reaches aal2, and the user cannot add it.
	p, ar := challenge(t, b, rp, "aal2")
	got, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil || got.Claims.ACR != "aal1" {
		t.Fatalf("aal2 with email codes not allowed: %v %+v", err, got)
	}
	acct := b.Get(env.URL + "/account")
	if !strings.Contains(acct.Text(), "Code by email") || strings.Contains(acct.Body, "method=email") {
		t.Fatalf("account page offers email codes to add:\n%s", acct.Body)
	}
	if p := b.Get(env.URL + "/account/enrol?method=email"); p.Status != http.StatusNotFound {
		t.Fatalf("enrolling email codes oneself: %d %s", p.Status, p.Text())
	}

	// The admin API's PATCH names what it takes.
	for _, tc := range []struct {
		body   any
		detail string
	}{
		{map[string]any{"nope": true}, `member \"nope\": send a JSON object with any of these boolean members: active, email_codes`},
		{map[string]any{"email_codes": "yes"}, `member \"email_codes\"`},
		{map[string]any{}, "nothing to change"},
	} {
		if got := callAPI(t, env, tok, "PATCH", "/admin/v1/users/alice", tc.body); got.Status != 400 || !strings.Contains(got.Raw, tc.detail) {
			t.Errorf("PATCH %v: %d %s, want 400 saying %q", tc.body, got.Status, got.Raw, tc.detail)
		}
	}
	if len(listEvents(t, env, "email.enabled")) != 0 {
		t.Fatal("a refused PATCH changed something")
	}
	patched := callAPI(t, env, tok, "PATCH", "/admin/v1/users/alice", map[string]bool{"email_codes": true})
	if patched.Status != 200 || patched.Body["username"] != "alice" || patched.Body["active"] != true {
		t.Fatalf("PATCH email_codes: %d %s", patched.Status, patched.Raw)
	}
	if got := callAPI(t, env, tok, "GET", "/admin/v1/users/alice/email-codes", nil); got.Body["enabled"] != true || got.Body["enabled_by"] != "client:"+testenv.AdminBot {
		t.Fatalf("status after PATCH: %s", got.Raw)
	}
	if ev := listEvents(t, env, "email.enabled"); len(ev) != 1 || ev[0].UserID != "u-alice" || ev[0].Actor != "client:"+testenv.AdminBot {
		t.Fatalf("enable events %+v", ev)
	}
	callAPI(t, env, tok, "PATCH", "/admin/v1/users/alice", map[string]bool{"email_codes": true}) // nothing changes: no event
	if ev := listEvents(t, env, "email.enabled"); len(ev) != 1 {
		t.Fatalf("enabling twice wrote %d events", len(ev))
	}

	// Step up with the emailed code.
	p, ar = challenge(t, b, rp, "aal2")
	f := p.Form(t, "/login/verify")
	if f.Values.Get("method") != "email" || !strings.Contains(p.Text(), "Enter the 6-digit code we emailed to a•••@example.com.") ||
		!strings.Contains(p.Body, `autocomplete="one-time-code"`) {
		t.Fatalf("challenge page:\n%s", p.Body)
	}
	code := emailedCode(t, env, "alice@example.com")
	wrong := b.Submit(p, f, map[string]string{"code": otherCode(code)})
	if _, done := testenv.CallbackOf(t, wrong); done {
		t.Fatal("a wrong code was accepted")
	}
	got, err = rp.Exchange(testenv.MustCallback(t, b.Submit(wrong, wrong.Form(t, "/login/verify"), map[string]string{"code": code})).Code(t), ar)
	if err != nil || got.Claims.ACR != "aal2" || !slices.Equal(got.Claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("step-up with the emailed code: %v %+v", err, got)
	}
	if ev := listEvents(t, env, "email.used"); len(ev) != 1 || ev[0].UserID != "u-alice" {
		t.Fatalf("use events %+v", ev)
	}
	if strings.Contains(env.Logs.String(), code) {
		t.Error("the code reached the log")
	}

	// The account page lists it, with neither Add nor Remove, and refuses
	// a removal asked for anyway.
	acct = b.Get(env.URL + "/account")
	if !strings.Contains(acct.Text(), "Email codes, added") || strings.Contains(acct.Body, "method=email") ||
		strings.Contains(acct.Body, `aria-label="Remove: Email codes"`) {
		t.Fatalf("account page:\n%s", acct.Body)
	}
	csrf := b.Get(env.URL+"/account/enrol?method=totp").Form(t, "/account/enrol").Values.Get("csrf_token")
	if p := b.Post(env.URL+"/account/remove", url.Values{"method": {"email"}, "credential": {"email"}, "csrf_token": {csrf}}); p.Status != http.StatusNotFound {
		t.Fatalf("removing email codes oneself: %d %s", p.Status, p.Text())
	}
	if creds := callAPI(t, env, tok, "GET", "/admin/v1/users/alice/methods", nil); !strings.Contains(creds.Raw, `"id":"email:email"`) {
		t.Fatalf("methods: %s", creds.Raw)
	}

	// Turned off: not offered any more, and the user is told.
	if got := callAPI(t, env, tok, "PATCH", "/admin/v1/users/alice", map[string]bool{"email_codes": false}); got.Status != 200 {
		t.Fatalf("PATCH email_codes false: %d %s", got.Status, got.Raw)
	}
	if ev := listEvents(t, env, "email.disabled"); len(ev) != 1 {
		t.Fatalf("disable events %+v", ev)
	}
	testenv.Eventually(t, "the removal mailed to alice", func() bool {
		msgs, _ := notify.ReadOutbox(env.Outbox)
		return slices.ContainsFunc(msgs, func(m notify.Message) bool {
			return m.To == "alice@example.com" && m.Subject == "A verification method was removed from your account"
		})
	})
	b2 := env.NewBrowser(t)
	login(t, env, b2, rp, nil, "alice", alicePassword)
	p, ar = challenge(t, b2, rp, "aal2")
	if got, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar); err != nil || got.Claims.ACR != "aal1" {
		t.Fatalf("aal2 once email codes are off again: %v %+v", err, got)
	}
}

// TestEmailCodesOnTheAdminPage: the help desk allows and stops email
// codes for a user with the buttons the method declares.
func TestEmailCodesOnTheAdminPage(t *testing.T) {
	env, _ := emailEnv(t, nil)
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "helpdesk", adminPassword)
	secret := b.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)
	p := b.Get(env.URL + "/admin?user=alice")
	if p.IsLoginPage() || !strings.Contains(p.Body, "Find a user") {
		p = b.Submit(p, p.Form(t, "/login/verify"), map[string]string{"code": testenv.TOTPCode(t, secret, env.Clock.Now())})
	}
	if !strings.Contains(p.Body, "<h3>Email codes</h3>") || !strings.Contains(p.Text(), "Email codes are off for this user.") ||
		!strings.Contains(p.Body, "Allow email codes") || strings.Contains(p.Body, "Stop email codes") {
		t.Fatalf("admin page:\n%s", p.Body)
	}
	p = b.Submit(p, p.Form(t, "/admin/email"), nil)
	if !strings.Contains(p.Text(), "Email codes are on for this user.") {
		t.Fatalf("after allowing: %d %s", p.Status, p.Text())
	}
	p = b.Get(env.URL + "/admin?user=alice")
	if !strings.Contains(p.Text(), "(since ") || !strings.Contains(p.Text(), "by helpdesk).") || !strings.Contains(p.Body, "Stop email codes") {
		t.Fatalf("admin page once allowed:\n%s", p.Body)
	}
	if ev := listEvents(t, env, "email.enabled"); len(ev) != 1 || ev[0].Actor != "helpdesk" {
		t.Fatalf("enable events %+v", ev)
	}
	// Another administrator must allow them for oneself.
	self := b.Get(env.URL + "/admin?user=helpdesk")
	if got := b.Submit(self, self.Form(t, "/admin/email"), nil); got.Status != http.StatusForbidden {
		t.Fatalf("allowing oneself: %d %s", got.Status, got.Text())
	}
	if ev := listEvents(t, env, "email.enable_refused"); len(ev) != 1 || ev[0].UserID != "u-helpdesk" {
		t.Fatalf("refusal events %+v", ev)
	}

	aliceB := env.NewBrowser(t)
	rp := env.NewRP(t, testenv.PublicClient, "")
	login(t, env, aliceB, rp, nil, "alice", alicePassword)
	cp, ar := challenge(t, aliceB, rp, "aal2")
	got, err := rp.Exchange(testenv.MustCallback(t, aliceB.Submit(cp, cp.Form(t, "/login/verify"),
		map[string]string{"code": emailedCode(t, env, "alice@example.com")})).Code(t), ar)
	if err != nil || got.Claims.ACR != "aal2" {
		t.Fatalf("step-up once allowed on the page: %v %+v", err, got)
	}

	p = b.Submit(p, p.Form(t, "/admin/email"), nil)
	if !strings.Contains(p.Text(), "Email codes are off for this user.") {
		t.Fatalf("after stopping: %d %s", p.Status, p.Text())
	}
	if ev := listEvents(t, env, "email.disabled"); len(ev) != 1 || ev[0].Actor != "helpdesk" {
		t.Fatalf("disable events %+v", ev)
	}
}

// enrolSMSDirect gives the user a confirmed number through the SMS plugin, the
// code read from the outbox.
func enrolSMSDirect(t *testing.T, env *testenv.Env, userID, phone string) {
	t.Helper()
	p, ok := env.Methods.Method("sms")
	if !ok {
		t.Fatal("no sms method")
	}
	ctx := context.Background()
	en, err := p.Enrol(ctx, sdk.EnrolRequest{User: sdk.User{ID: userID}, Params: map[string]string{"phone": phone}})
	if err != nil {
		t.Fatal(err)
	}
	_, msgs, err := gateway.ReadOutbox(env.Outbox)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("no text message: %v", err)
	}
	code := regexp.MustCompile(`\d{6}`).FindString(msgs[len(msgs)-1].Body)
	if _, err := p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: sdk.User{ID: userID}, EnrolmentID: en.ID, Response: map[string]string{"code": code}}); err != nil {
		t.Fatal(err)
	}
}

// offers returns the method a challenge page asks for and the others it
// links to ("use another method").
func offers(t *testing.T, p *testenv.Page) (string, []string) {
	t.Helper()
	var others []string
	for _, m := range regexp.MustCompile(`href="/login\?id=[^"&]+&amp;method=([a-z0-9_-]+)"`).FindAllStringSubmatch(p.Body, -1) {
		others = append(others, m[1])
	}
	return p.Form(t, "/login/verify").Values.Get("method"), others
}

// requestID is the auth request a challenge page is for.
func requestID(t *testing.T, p *testenv.Page) string {
	t.Helper()
	return url.QueryEscape(p.Form(t, "/login/verify").Values.Get("id"))
}

// otherCode is a well-formed code that is not code.
func otherCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// TestEmailCodesNotBesideAPhone: with for_everyone, a user who has set up
// text messages is not offered email codes (ExceptWith), until an
// administrator allows them for that user (Explicit).
func TestEmailCodesNotBesideAPhone(t *testing.T) {
	env, tok := emailEnv(t, map[string]any{"for_everyone": true})
	rp := env.NewRP(t, testenv.PublicClient, "")

	env.AddUser(t, "bob", alicePassword)
	b := env.NewBrowser(t)
	login(t, env, b, rp, nil, "bob", alicePassword)
	p, _ := challenge(t, b, rp, "aal2")
	if method, _ := offers(t, p); method != "email" {
		t.Fatalf("for everyone, a user without a phone is offered %q", method)
	}

	enrolSMSDirect(t, env, "u-alice", "+447700900123")
	b = env.NewBrowser(t)
	login(t, env, b, rp, nil, "alice", alicePassword)
	p, _ = challenge(t, b, rp, "aal2")
	if method, others := offers(t, p); method != "sms" || slices.Contains(others, "email") {
		t.Fatalf("a user with a phone is offered %q, and %v", method, others)
	}
	if method, _ := offers(t, b.Get(env.URL+"/login?id="+requestID(t, p)+"&method=email")); method != "sms" {
		t.Fatalf("asking for email codes beside a phone gives %q", method)
	}
	// The account page says why, rather than list email codes as offered.
	const aside = "Not offered while you have Text message (SMS) set up"
	if acct := b.Get(env.URL + "/account"); !strings.Contains(acct.Text(), aside) {
		t.Fatalf("account page beside a phone:\n%s", acct.Text())
	}

	callAPI(t, env, tok, "PATCH", "/admin/v1/users/alice", map[string]bool{"email_codes": true})
	b = env.NewBrowser(t)
	login(t, env, b, rp, nil, "alice", alicePassword)
	p, ar := challenge(t, b, rp, "aal2")
	if method, others := offers(t, p); method != "sms" || !slices.Contains(others, "email") {
		t.Fatalf("allowed in particular: offered %q, and %v", method, others)
	}
	p = b.Get(env.URL + "/login?id=" + requestID(t, p) + "&method=email")
	if method, _ := offers(t, p); method != "email" {
		t.Fatalf("use another method: %q", method)
	}
	if acct := b.Get(env.URL + "/account"); strings.Contains(acct.Text(), aside) {
		t.Fatalf("account page once allowed in particular still sets email codes aside:\n%s", acct.Text())
	}
	got, err := rp.Exchange(testenv.MustCallback(t, b.Submit(p, p.Form(t, "/login/verify"),
		map[string]string{"code": emailedCode(t, env, "alice@example.com")})).Code(t), ar)
	if err != nil || got.Claims.ACR != "aal2" {
		t.Fatalf("step-up by email beside a phone: %v %+v", err, got)
	}
}

// TestEmailCodesAtAAL1: a deployment that follows NIST SP 800-63B-4
// sets max_level aal1: an email code never makes a session aal2.
func TestEmailCodesAtAAL1(t *testing.T) {
	env, _ := emailEnv(t, map[string]any{"for_everyone": true, "max_level": "aal1"})
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	login(t, env, b, rp, nil, "alice", alicePassword)
	p, ar := challenge(t, b, rp, "aal2")
	got, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil || got.Claims.ACR != "aal1" {
		t.Fatalf("aal2 with email codes at max_level aal1: %v %+v", err, got)
	}
	claims := `{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}`
	if cb := testenv.MustCallback(t, b.Get(rp.AuthURL(url.Values{"claims": {claims}}).URL)); cb.Params.Get("error") != "unmet_authentication_requirements" {
		t.Fatalf("essential aal2 with email codes at aal1: %v", cb.Params)
	}
	if msgs, _ := notify.ReadOutbox(env.Outbox); slices.ContainsFunc(msgs, func(m notify.Message) bool { return m.Subject == "Your verification code" }) {
		t.Error("a code was mailed that could not count")
	}
}
