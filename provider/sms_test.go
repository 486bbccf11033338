package provider_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/stepup-mfa/stepup/plugins/sms/gateway"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/web"
	"github.com/stepup-mfa/stepup/testenv"
)

// What the SMS method says, as SPEC §6 and the method word it.
const (
	msgTooManyMessages = "Unable to send you a verification code at this time. You may have attempted too many verifications in the last hour. Try again later."
	msgSMSNotSent      = "We could not send you a text message just now. Try again in a few minutes, or use another method."
	msgRestricted      = "is a restricted authenticator"
	methodRemovedSubj  = "A verification method was removed from your account"
)

// alicePhone is alice's mobile number as she types it, in E.164, and as
// every page and log must show it.
const (
	alicePhoneTyped = "+44 7700 900123"
	alicePhone      = "+447700900123"
	alicePhoneMask  = "+•• ••• ••• ••23"
)

// fullNumber reports whether s holds alice's number in any usual form.
func fullNumber(s string) bool {
	return strings.Contains(s, "7700900123") || strings.Contains(s, "7700 900123") || strings.Contains(s, "447700")
}

// textMessage is an outbox file of the SMS gateway.
type textMessage struct {
	To     string `json:"to"`
	Body   string `json:"body"`
	SentAt string `json:"sent_at"`
}

// sentTexts reads the text messages in the Env's outbox, oldest first.
func sentTexts(t *testing.T, env *testenv.Env) []textMessage {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(env.Outbox, "*"+gateway.OutboxSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var out []textMessage
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var m textMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, m)
	}
	return out
}

// codeLineRE is the origin-bound last line of a message from the Env,
// whose issuer's host is 127.0.0.1.
var codeLineRE = regexp.MustCompile(`\n@127\.0\.0\.1 #([0-9]{6})$`)

// textCode returns the code of a message body, failing unless it ends
// with the origin-bound line.
func textCode(t *testing.T, body string) string {
	t.Helper()
	m := codeLineRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the message does not end with @127.0.0.1 #CODE: %q", body)
	}
	return m[1]
}

// lastText returns the code of the newest message in the outbox, and
// checks that there are n.
func lastText(t *testing.T, env *testenv.Env, n int) string {
	t.Helper()
	texts := sentTexts(t, env)
	if len(texts) != n {
		t.Fatalf("%d text messages, want %d: %+v", len(texts), n, texts)
	}
	return textCode(t, texts[n-1].Body)
}

// enrolSMS adds alice's number on the account page of b (re-verifying
// with the TOTP secret when asked); code reads the code sent.
func enrolSMS(t *testing.T, env *testenv.Env, b *testenv.Browser, secret string, code func() string) *testenv.Page {
	t.Helper()
	p := reverify(t, env, b, b.Get(env.URL+"/account/enrol?method=sms"), secret)
	p = b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"phone": alicePhoneTyped})
	if p.Status != http.StatusOK {
		t.Fatalf("entering the number: %d %s", p.Status, p.Text())
	}
	done := b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"code": code()})
	if !strings.Contains(done.Text(), "The method was added") || !strings.Contains(done.Text(), alicePhoneMask) {
		t.Fatalf("number not added: %d %s", done.Status, done.Text())
	}
	return done
}

// smsPage starts an aal2 flow in a new browser and returns the SMS
// challenge page, reached by "use another method" when SMS is not first.
func smsPage(t *testing.T, env *testenv.Env, rp *testenv.RP) (*testenv.Browser, testenv.AuthRequest, *testenv.Page) {
	t.Helper()
	b, ar, p := stepUpPage(t, env, rp)
	if f, ok := formTo(p, "/login/verify"); !ok || f.Values.Get("method") != "sms" {
		p = useMethod(t, env, b, p, "sms")
	}
	return b, ar, p
}

// formTo returns p's form posting to action, if it has one.
func formTo(p *testenv.Page, action string) (testenv.Form, bool) {
	for _, f := range p.Forms() {
		if strings.Contains(f.Action, action) {
			return f, true
		}
	}
	return testenv.Form{}, false
}

func withSMSSettings(fn func(*config.MethodConfig)) testenv.Option {
	return testenv.WithConfig(func(c *config.Config) {
		mc := c.Methods["sms"]
		if mc.Settings == nil {
			mc.Settings = map[string]any{}
		}
		fn(&mc)
		c.Methods["sms"] = mc
	})
}

// TestSMSEnrolment: the page asks for the number (tel) and says SMS is
// restricted, with a stronger method; a malformed number gets a clear
// sentence and the form again; a good one gets a code that names the
// product and the origin, and the code adds the number, shown masked and
// never in full.
func TestSMSEnrolment(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("sms", "totp"))
	env.AddUser(t, "alice", alicePassword)
	b := accountBrowser(t, env, "alice", alicePassword)
	p := b.Get(env.URL + "/account/enrol?method=sms")
	f := p.Form(t, "/account/enrol")
	if in := inputNamed(t, f, "phone"); p.Status != http.StatusOK || in.Type != "tel" || in.Autocomplete != "tel" || f.Values.Get("enrolment") != "" {
		t.Fatalf("enrolment page: %d %+v\n%s", p.Status, in, p.Body)
	}
	if !strings.Contains(p.Body, `id="restricted"`) || !strings.Contains(p.Text(), msgRestricted+" (NIST SP 800-63B)") ||
		!strings.Contains(p.Text(), web.MsgStrongerMethod+" Authenticator app") || !strings.Contains(p.Body, `href="/account/enrol?method=totp"`) {
		t.Fatalf("no restricted notice with a stronger method:\n%s", p.Body)
	}
	for typed, says := range map[string]string{"12": "international format", "abc": "only digits after the +"} {
		bad := b.Submit(p, f, map[string]string{"phone": typed})
		in := inputNamed(t, bad.Form(t, "/account/enrol"), "phone")
		if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Text(), says) || !strings.Contains(bad.Text(), "for example +44 7700 900123") ||
			in.Type != "tel" || in.Value != typed || !strings.Contains(bad.Body, `aria-invalid="true"`) {
			t.Fatalf("number %q: %d %s", typed, bad.Status, bad.Text())
		}
	}
	if n := len(sentTexts(t, env)); n != 0 {
		t.Fatalf("%d messages sent to malformed numbers", n)
	}

	p = b.Submit(p, f, map[string]string{"phone": alicePhoneTyped})
	if p.Status != http.StatusOK || !strings.Contains(p.Text(), "We sent a code to "+alicePhoneMask) || !strings.Contains(p.Text(), msgRestricted) {
		t.Fatalf("after the number: %d %s", p.Status, p.Text())
	}
	confirm := p.Form(t, "/account/enrol")
	if in := inputNamed(t, confirm, "code"); in.Autocomplete != "one-time-code" || confirm.Values.Get("enrolment") == "" {
		t.Fatalf("confirmation form %+v", confirm)
	}
	texts := sentTexts(t, env)
	if len(texts) != 1 {
		t.Fatalf("%d messages, want 1", len(texts))
	}
	msg := texts[0]
	code := textCode(t, msg.Body)
	if msg.To != alicePhone || !strings.Contains(msg.Body, "stepup") || !strings.Contains(msg.Body, "Don't share it") ||
		!strings.Contains(msg.Body, code+".") || msg.SentAt == "" {
		t.Fatalf("message %+v", msg)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if again := b.Submit(p, confirm, map[string]string{"code": wrong}); again.Status != http.StatusUnauthorized || !strings.Contains(again.Text(), web.MsgWrongResponse) {
		t.Fatalf("a wrong code: %d %s", again.Status, again.Text())
	}
	done := b.Submit(p, confirm, map[string]string{"code": code})
	if !strings.Contains(done.Text(), "The method was added") || !strings.Contains(done.Text(), alicePhoneMask) {
		t.Fatalf("after confirming: %d %s", done.Status, done.Text())
	}
	waitMail(t, env, "alice@example.com", notify.MethodAddedSubject, alicePhoneMask)
	for what, s := range map[string]string{"enrolment page": p.Body, "account page": b.Get(env.URL + "/account").Body, "logs": env.Logs.String(),
		"audit": fmt.Sprint(listEvents(t, env, ""))} {
		if fullNumber(s) {
			t.Errorf("the %s shows the full number", what)
		}
	}
	msgs, _ := notify.ReadOutbox(env.Outbox)
	for _, m := range msgs {
		if fullNumber(m.Text) {
			t.Errorf("a mail shows the full number: %s", m.Text)
		}
	}

	// A new number, after re-verifying with the old one, is a new
	// enrolment, which replaces the old one and mails the user.
	p = b.Get(env.URL + "/account/enrol?method=sms")
	p = b.Submit(p, checkChallenge(t, p, "sms"), map[string]string{"code": lastText(t, env, 2)})
	p = b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"phone": "+44 7700 900456"})
	if to := sentTexts(t, env)[2].To; to != "+447700900456" {
		t.Fatalf("the code for the new number went to %s", to)
	}
	done = b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"code": lastText(t, env, 3)})
	if !strings.Contains(done.Text(), "••56") || strings.Contains(done.Text(), alicePhoneMask) {
		t.Fatalf("after changing the number: %d %s", done.Status, done.Text())
	}
	waitMail(t, env, "alice@example.com", notify.MethodAddedSubject, "+•• ••• ••• ••56")
}

// TestSMSStepUp: the challenge page sends a code, once per request, and
// the code steps the flow up with amr sms.
func TestSMSStepUp(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("sms"))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	enrolSMS(t, env, accountBrowser(t, env, "alice", alicePassword), "", func() string { return lastText(t, env, 1) })

	b, ar, p := stepUpPage(t, env, rp)
	f := checkChallenge(t, p, "sms")
	if in := inputNamed(t, f, "code"); in.Type != "text" || !strings.Contains(p.Body, `inputmode="numeric"`) ||
		!strings.Contains(p.Text(), "Enter the 6-digit code we sent by text message to "+alicePhoneMask+".") {
		t.Fatalf("SMS page:\n%s", p.Body)
	}
	code := lastText(t, env, 2)
	b.Get(p.URL.String()) // the same request shows the same challenge: no new message
	lastText(t, env, 2)
	tok := exchange(t, rp, ar, b.Submit(p, f, map[string]string{"code": code}), "aal2")
	if !slices.Equal(tok.Claims.AMR, []string{"pwd", "sms", "mfa"}) {
		t.Fatalf("amr = %v, want pwd sms mfa", tok.Claims.AMR)
	}
	if ev := listEvents(t, env, "sms.used"); len(ev) != 1 || ev[0].UserID != "u-alice" {
		t.Fatalf("sms.used events %+v", ev)
	}
	// Each message sent is audited: the enrolment's and the challenge's.
	if ev := listEvents(t, env, "sms.sent"); len(ev) != 2 || ev[0].UserID != "u-alice" || ev[0].Details["method"] != "sms" {
		t.Fatalf("sms.sent events %+v, want the enrolment's and the challenge's", ev)
	}
	if fullNumber(env.Logs.String()) {
		t.Fatal("the logs show the full number")
	}
}

// TestSMSFiveTriesPerCode: five wrong codes use up the tries, so the
// right code is refused after them, and a new code brings no new tries
// (SPEC §6); once the tries leave the code's 10 minutes, a new code
// works.
func TestSMSFiveTriesPerCode(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("sms"))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	enrolSMS(t, env, accountBrowser(t, env, "alice", alicePassword), "", func() string { return lastText(t, env, 1) })

	b, _, p := stepUpPage(t, env, rp)
	f := checkChallenge(t, p, "sms")
	code := lastText(t, env, 2)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		if got := b.Submit(p, f, map[string]string{"code": wrong}); got.Status != http.StatusUnauthorized || !strings.Contains(got.Text(), web.MsgWrongResponse) {
			t.Fatalf("wrong code %d: %d %s", i+1, got.Status, got.Text())
		}
	}
	got := b.Submit(p, f, map[string]string{"code": code})
	if _, done := testenv.CallbackOf(t, got); done || got.Status != http.StatusTooManyRequests || !strings.Contains(got.Text(), "Too many attempts") {
		t.Fatalf("the right code after 5 wrong ones: %d %s", got.Status, got.Text())
	}
	if n := len(listEvents(t, env, "verification.failed")); n != 5 {
		t.Fatalf("%d failures audited, want 5", n)
	}
	if ev := listEvents(t, env, "verification.rate_limited"); len(ev) != 1 || ev[0].Details["method"] != "sms" {
		t.Fatalf("refusal audited as %+v", ev)
	}

	// A new code, in a new sign-in: still no tries left.
	b, _, p = stepUpPage(t, env, rp)
	code = lastText(t, env, 3)
	if got := b.Submit(p, checkChallenge(t, p, "sms"), map[string]string{"code": code}); got.Status != http.StatusTooManyRequests {
		t.Fatalf("a new code after 5 wrong ones: %d %s", got.Status, got.Text())
	}

	env.Clock.Advance(10*time.Minute + time.Second)
	b, ar, p := stepUpPage(t, env, rp)
	code = lastText(t, env, 4)
	exchange(t, rp, ar, b.Submit(p, checkChallenge(t, p, "sms"), map[string]string{"code": code}), "aal2")
}

// checkNotSent checks a challenge page on which the SMS challenge could
// not begin: the method's sentence with the status, no code form, the
// authenticator app offered instead.
func checkNotSent(t *testing.T, p *testenv.Page, status int, sentence string) {
	t.Helper()
	if _, ok := formTo(p, "/login/verify"); ok || p.Status != status ||
		!strings.Contains(p.Body, `<p class="error" role="alert">`+strings.ReplaceAll(sentence, "'", "&#39;")+`</p>`) {
		t.Fatalf("want %d saying %q without a form: %d\n%s", status, sentence, p.Status, p.Body)
	}
	if _, ok := methodLink(p, "totp"); !ok {
		t.Fatalf("the page does not offer the authenticator app:\n%s", p.Body)
	}
}

// TestSMSHourlyLimit: five messages an hour, the enrolment's included; the
// sixth attempt, on the challenge page or a new enrolment, gets the seed's
// sentence with the other methods, and is audited; an hour later it works.
func TestSMSHourlyLimit(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("sms", "totp"))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	acct := accountBrowser(t, env, "alice", alicePassword)
	secret := acct.EnrolTOTP()
	enrolSMS(t, env, acct, secret, func() string { return lastText(t, env, 1) })
	for i := 2; i <= 5; i++ {
		_, _, p := smsPage(t, env, rp)
		checkChallenge(t, p, "sms", "totp")
		lastText(t, env, i)
	}
	_, _, p := smsPage(t, env, rp)
	checkNotSent(t, p, http.StatusTooManyRequests, msgTooManyMessages)
	ev := listEvents(t, env, "verification.rate_limited")
	if len(ev) != 1 || ev[0].Details["method"] != "sms" || ev[0].Details["step"] != "begin" || ev[0].UserID != "u-alice" {
		t.Fatalf("the refusal audited as %+v", ev)
	}
	// A new number counts against the same hour.
	enrol := acct.Get(env.URL + "/account/enrol?method=sms")
	refused := acct.Submit(enrol, enrol.Form(t, "/account/enrol"), map[string]string{"phone": "+44 7700 900456"})
	if refused.Status != http.StatusTooManyRequests || !strings.Contains(refused.Text(), msgTooManyMessages) {
		t.Fatalf("a new number in the same hour: %d %s", refused.Status, refused.Text())
	}
	lastText(t, env, 5)

	env.Clock.Advance(time.Hour)
	_, _, p = smsPage(t, env, rp)
	checkChallenge(t, p, "sms", "totp")
	lastText(t, env, 6)
}

// TestSMSGatewayFailure: a webhook gateway that answers 502, or does not
// answer within its timeout, leaves the user with the method's sentence
// and their other methods, is audited, and costs nothing of the hourly
// count: once it recovers, five messages still go out in the hour.
func TestSMSGatewayFailure(t *testing.T) {
	const secret = "webhook-secret-for-tests"
	const (
		up = iota
		failing
		hanging // until the gateway's timeout ends the call
	)
	var (
		mu       sync.Mutex
		state    = failing
		received []gateway.WebhookMessage
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(gateway.SignatureHeader) != gateway.Sign([]byte(secret), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		now := state
		mu.Unlock()
		switch now {
		case failing:
			http.Error(w, "down", http.StatusBadGateway)
			return
		case hanging:
			<-r.Context().Done()
			return
		}
		var m gateway.WebhookMessage
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		received = append(received, m)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	set := func(v int) { mu.Lock(); state = v; mu.Unlock() }
	// lastHooked returns the code of the newest message the webhook took,
	// and checks that it took n.
	lastHooked := func(n int) string {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(received) != n || received[n-1].To != alicePhone {
			t.Fatalf("the webhook took %d messages, want %d: %+v", len(received), n, received)
		}
		return textCode(t, received[n-1].Body)
	}
	env := testenv.New(t, testenv.WithMethods("sms", "totp"), withSMSSettings(func(mc *config.MethodConfig) {
		mc.Settings["gateway"] = map[string]any{"kind": "webhook", "url": hook.URL + "/sms", "secret": secret, "timeout": "200ms"}
	}))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	acct := accountBrowser(t, env, "alice", alicePassword)
	totpSecret := acct.EnrolTOTP()

	// Enrolment: the form again with the sentence.
	p := reverify(t, env, acct, acct.Get(env.URL+"/account/enrol?method=sms"), totpSecret)
	p = acct.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"phone": alicePhoneTyped})
	if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Text(), msgSMSNotSent) || inputNamed(t, p.Form(t, "/account/enrol"), "phone").Type != "tel" {
		t.Fatalf("enrolment with the gateway down: %d %s", p.Status, p.Text())
	}
	if ev := listEvents(t, env, "method.add_failed"); len(ev) != 1 || ev[0].Details["error"] != "unavailable" {
		t.Fatalf("the failed enrolment audited as %+v", ev)
	}
	set(up)
	enrolSMS(t, env, acct, "", func() string { return lastHooked(1) })

	for _, s := range []int{failing, hanging} {
		set(s)
		_, _, p := smsPage(t, env, rp)
		checkNotSent(t, p, http.StatusServiceUnavailable, msgSMSNotSent)
	}
	ev := listEvents(t, env, "verification.unavailable") // newest first
	if len(ev) != 2 || ev[0].Details["method"] != "sms" || !strings.Contains(ev[1].Details["error"], "502") ||
		!strings.Contains(ev[0].Details["error"], "did not answer within 200ms") {
		t.Fatalf("the failures audited as %+v", ev)
	}

	set(up)
	for i := 2; i <= 5; i++ {
		_, _, p := smsPage(t, env, rp)
		checkChallenge(t, p, "sms", "totp")
		lastHooked(i)
	}
	_, _, p = smsPage(t, env, rp)
	checkNotSent(t, p, http.StatusTooManyRequests, msgTooManyMessages)
	if fullNumber(env.Logs.String()) || fullNumber(fmt.Sprint(listEvents(t, env, ""))) {
		t.Fatal("the logs or the audit show the full number")
	}
}

// TestSMSAdminRemovesNumber: an administrator removes the number through
// the admin API; the user is mailed and steps up with their other method.
func TestSMSAdminRemovesNumber(t *testing.T) {
	// SMS first, so that its removal changes what the user is offered.
	env := testenv.New(t, testenv.WithMethods("sms", "totp"), withSMSSettings(func(mc *config.MethodConfig) { mc.Priority = 70 }))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	acct := accountBrowser(t, env, "alice", alicePassword)
	secret := acct.EnrolTOTP()
	enrolSMS(t, env, acct, secret, func() string { return lastText(t, env, 1) })
	_, _, p := stepUpPage(t, env, rp)
	checkChallenge(t, p, "sms", "totp")
	lastText(t, env, 2)

	cc := clientcredentials.Config{ClientID: testenv.AdminBot, ClientSecret: testenv.AdminBotSecret, TokenURL: env.URL + "/oauth/token"}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	status := callAPI(t, env, tok.AccessToken, "GET", "/admin/v1/users/alice/phone", nil)
	if status.Status != http.StatusOK || status.Body["enrolled"] != true || status.Body["phone"] != alicePhoneMask || fullNumber(status.Raw) {
		t.Fatalf("phone status: %d %s", status.Status, status.Raw)
	}
	if got := callAPI(t, env, tok.AccessToken, "DELETE", "/admin/v1/users/alice/phone", nil); got.Status != http.StatusNoContent {
		t.Fatalf("removing the number: %d %s", got.Status, got.Raw)
	}
	waitMail(t, env, "alice@example.com", methodRemovedSubj, "Text message (SMS)")
	// Once removed there is nothing more to remove: no event, no mail.
	if got := callAPI(t, env, tok.AccessToken, "DELETE", "/admin/v1/users/alice/phone", nil); got.Status != http.StatusNoContent {
		t.Fatalf("removing the number again: %d %s", got.Status, got.Raw)
	}
	if ev := listEvents(t, env, "sms.removed"); len(ev) != 1 || ev[0].UserID != "u-alice" || ev[0].Actor != "client:"+testenv.AdminBot {
		t.Fatalf("removal audited as %+v", ev)
	}
	if n := mailsTo(t, env, "alice@example.com", methodRemovedSubj); n != 1 {
		t.Fatalf("%d removal mails, want 1", n)
	}
	if got := callAPI(t, env, tok.AccessToken, "GET", "/admin/v1/users/alice/methods", nil); got.Status != http.StatusOK ||
		strings.Contains(got.Raw, `"sms"`) || !strings.Contains(got.Raw, `"totp"`) {
		t.Fatalf("alice's methods after the removal: %d %s", got.Status, got.Raw)
	}

	b, ar, p := stepUpPage(t, env, rp)
	f := checkChallenge(t, p, "totp")
	if _, ok := methodLink(p, "sms"); ok {
		t.Fatalf("SMS still offered after its removal:\n%s", p.Body)
	}
	lastText(t, env, 2)
	exchange(t, rp, ar, b.Submit(p, f, map[string]string{"code": freshTOTP(t, env, secret)}), "aal2")
	if acctPage := acct.Get(env.URL + "/account"); !strings.Contains(acctPage.Text(), "Text message (SMS) None set up.") {
		t.Fatalf("account page after the removal: %s", acctPage.Text())
	}
}

// TestSMSRestrictedWithoutStrongerMethod: with no stronger method to add,
// the enrolment page still says SMS is restricted, without pointing at a
// list that is not there.
func TestSMSRestrictedWithoutStrongerMethod(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("sms"))
	env.AddUser(t, "alice", alicePassword)
	p := accountBrowser(t, env, "alice", alicePassword).Get(env.URL + "/account/enrol?method=sms")
	if !strings.Contains(p.Text(), msgRestricted) || strings.Contains(p.Text(), "stronger method is better") {
		t.Fatalf("restricted notice without a stronger method:\n%s", p.Body)
	}
}

// TestSMSAdminPageRemovesNumber: the help desk removes a user's number on
// /admin (the method's declared action, "Remove number"): the page shows
// the number masked only, the removal is audited with the administrator
// as actor, the user is mailed, and SMS is no longer among their methods.
func TestSMSAdminPageRemovesNumber(t *testing.T) {
	env, _ := emailEnv(t, nil)
	enrolSMSDirect(t, env, "u-alice", alicePhone)
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "helpdesk", adminPassword)
	secret := b.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)
	p := b.Get(env.URL + "/admin?user=alice")
	if p.IsLoginPage() || !strings.Contains(p.Body, "Find a user") {
		p = b.Submit(p, p.Form(t, "/login/verify"), map[string]string{"code": testenv.TOTPCode(t, secret, env.Clock.Now())})
	}
	if !strings.Contains(p.Body, "Remove number") || !strings.Contains(p.Text(), alicePhoneMask) || fullNumber(p.Body) {
		t.Fatalf("admin page before the removal:\n%s", p.Body)
	}
	f := p.Form(t, "/admin/sms")
	if f.Values.Get("action") != "remove" {
		t.Fatalf("the SMS form's action is %q, want remove", f.Values.Get("action"))
	}
	p = b.Submit(p, f, nil)
	if p.Status != http.StatusOK || fullNumber(p.Body) {
		t.Fatalf("after removing: %d\n%s", p.Status, p.Body)
	}
	waitMail(t, env, "alice@example.com", methodRemovedSubj, "Text message (SMS)")
	if ev := listEvents(t, env, "sms.removed"); len(ev) != 1 || ev[0].UserID != "u-alice" || ev[0].Actor != "helpdesk" {
		t.Fatalf("removal audited as %+v", ev)
	}
	if again := b.Get(env.URL + "/admin?user=alice"); strings.Contains(again.Body, "Remove number") || strings.Contains(again.Text(), alicePhoneMask) {
		t.Fatalf("admin page still offers to remove the number:\n%s", again.Body)
	}
	m, ok := env.Methods.Method("sms")
	if !ok {
		t.Fatal("no sms method")
	}
	if creds, err := m.ListCredentials(t.Context(), "u-alice"); err != nil || len(creds) != 0 {
		t.Fatalf("alice's SMS credentials after the removal: %v, %v", creds, err)
	}
}
