package provider_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/provider"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/web"
	"github.com/stepup-mfa/stepup/testenv"
)

// Sentences of the recovery method the tests look for.
const (
	msgRecoveryNotSaved = "Tick \u201cI have saved them\u201d"
	msgRecoveryReplaces = "Confirming replaces your current recovery codes"
	recoveryUsedSubject = "Used to verify your identity: Recovery codes"
)

// accountBrowser is a browser signed in (password only) on the account
// page as user.
func accountBrowser(t *testing.T, env *testenv.Env, user, pw string) *testenv.Browser {
	t.Helper()
	b := env.NewBrowser(t)
	if p := b.SubmitPassword(b.Get(env.URL+"/account"), user, pw); !strings.Contains(p.Text(), "Your account") {
		t.Fatalf("%s not on the account page: %d %s", user, p.Status, p.Text())
	}
	return b
}

// freshTOTP moves the clock to the next TOTP step, so that no code used
// before is replayed, and returns its code.
func freshTOTP(t *testing.T, env *testenv.Env, secret string) string {
	t.Helper()
	env.Clock.Advance(30 * time.Second)
	return testenv.TOTPCode(t, secret, env.Clock.Now())
}

// reverify answers what the account page asked before a change: alice's
// password if it is too old, then her authenticator app. A page that asks
// nothing is returned as it is.
func reverify(t *testing.T, env *testenv.Env, b *testenv.Browser, p *testenv.Page, secret string) *testenv.Page {
	t.Helper()
	if p.IsLoginPage() {
		p = b.SubmitPassword(p, "alice", alicePassword)
	}
	for _, f := range p.Forms() {
		if strings.Contains(f.Action, "/login/verify") {
			if secret == "" || f.Values.Get("method") != "totp" {
				t.Fatalf("re-verification asks for %q:\n%s", f.Values.Get("method"), p.Text())
			}
			return b.Submit(p, f, map[string]string{"code": freshTOTP(t, env, secret)})
		}
	}
	return p
}

var shownCodeRE = regexp.MustCompile(`<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code></li>`)

// shownCodes returns the recovery codes a page lists.
func shownCodes(p *testenv.Page) []string {
	var codes []string
	for _, m := range shownCodeRE.FindAllStringSubmatch(p.Body, -1) {
		codes = append(codes, m[1])
	}
	return codes
}

// newRecoverySet generates a set on the account page of b (re-verifying
// with the TOTP secret when asked), ticks "I have saved them" and returns
// the codes.
func newRecoverySet(t *testing.T, env *testenv.Env, b *testenv.Browser, secret string) []string {
	t.Helper()
	p := reverify(t, env, b, b.Get(env.URL+"/account/enrol?method=recovery"), secret)
	codes := shownCodes(p)
	if len(codes) == 0 {
		t.Fatalf("no codes on the enrolment page: %d\n%s", p.Status, p.Text())
	}
	done := b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"saved": "on"})
	if !strings.Contains(done.Text(), "The method was added") {
		t.Fatalf("set not confirmed: %d %s", done.Status, done.Text())
	}
	return codes
}

// linkByID returns the unescaped href of the element with id on p.
func linkByID(t *testing.T, p *testenv.Page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `" href="([^"]*)"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no link #%s on %s:\n%s", id, p.URL, p.Body)
	}
	return html.UnescapeString(m[1])
}

// methodLink returns the challenge page's "use another method" link to
// name, unescaped, if it has one.
func methodLink(p *testenv.Page, name string) (string, bool) {
	m := regexp.MustCompile(`href="(/login\?id=[^"]*&amp;method=` + regexp.QuoteMeta(name) + `)"`).FindStringSubmatch(p.Body)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// useMethod follows the challenge page's link to the method name and
// checks the page it leads to is that method's challenge.
func useMethod(t *testing.T, env *testenv.Env, b *testenv.Browser, p *testenv.Page, name string) *testenv.Page {
	t.Helper()
	link, ok := methodLink(p, name)
	if !ok {
		t.Fatalf("the challenge page has no link to %s:\n%s", name, p.Body)
	}
	return b.Get(env.URL + link)
}

// inputNamed returns the form's input called name.
func inputNamed(t *testing.T, f testenv.Form, name string) testenv.Input {
	t.Helper()
	for _, in := range f.Inputs {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("form %s has no input %q: %+v", f.Action, name, f.Inputs)
	return testenv.Input{}
}

// checkChallenge checks the SPEC §9 contract of a challenge page of
// method: its form names it in a hidden input, its code field is a
// one-time code, and it links to each of others.
func checkChallenge(t *testing.T, p *testenv.Page, method string, others ...string) testenv.Form {
	t.Helper()
	f := p.Form(t, "/login/verify")
	if got := inputNamed(t, f, "method"); got.Type != "hidden" || got.Value != method {
		t.Fatalf("method input %+v, want hidden %q:\n%s", got, method, p.Body)
	}
	if code := inputNamed(t, f, "code"); code.Autocomplete != "one-time-code" {
		t.Fatalf("code input %+v, want autocomplete one-time-code", code)
	}
	for _, o := range others {
		if _, ok := methodLink(p, o); !ok {
			t.Fatalf("the %s page does not link to %s:\n%s", method, o, p.Body)
		}
	}
	return f
}

// stepUpPage starts an aal2 flow of rp in a new browser, signs in with
// alice's password and returns the browser, the request and the first
// challenge page.
func stepUpPage(t *testing.T, env *testenv.Env, rp *testenv.RP) (*testenv.Browser, testenv.AuthRequest, *testenv.Page) {
	t.Helper()
	b := env.NewBrowser(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)
	return b, ar, p
}

// recoveryStepUp runs an aal2 flow of rp in a new browser answered with a
// recovery code, reached by "use another method" when recovery is not
// offered first, and returns the browser, the request and the page the
// code led to.
func recoveryStepUp(t *testing.T, env *testenv.Env, rp *testenv.RP, code string) (*testenv.Browser, testenv.AuthRequest, *testenv.Page) {
	t.Helper()
	b, ar, p := stepUpPage(t, env, rp)
	if f := p.Form(t, "/login/verify"); f.Values.Get("method") != "recovery" {
		p = useMethod(t, env, b, p, "recovery")
	}
	f := checkChallenge(t, p, "recovery")
	return b, ar, b.Submit(p, f, map[string]string{"code": code})
}

// exchange redeems the callback on p and checks the level reached.
func exchange(t *testing.T, rp *testenv.RP, ar testenv.AuthRequest, p *testenv.Page, acr string) *testenv.Tokens {
	t.Helper()
	tok, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.ACR != acr {
		t.Fatalf("acr = %q, want %q (%+v)", tok.Claims.ACR, acr, tok.Claims)
	}
	return tok
}

// waitMail waits for a mail to to with subject whose text holds text.
func waitMail(t *testing.T, env *testenv.Env, to, subject, text string) notify.Message {
	t.Helper()
	env.Server.WaitNotifications()
	var got notify.Message
	testenv.Eventually(t, "a mail "+subject+" saying "+text, func() bool {
		msgs, _ := notify.ReadOutbox(env.Outbox)
		for _, m := range msgs {
			if m.To == to && m.Subject == subject && strings.Contains(m.Text, text) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// mailsTo counts the mails to an address with subject.
func mailsTo(t *testing.T, env *testenv.Env, to, subject string) int {
	t.Helper()
	env.Server.WaitNotifications()
	msgs, err := notify.ReadOutbox(env.Outbox)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.To == to && m.Subject == subject {
			n++
		}
	}
	return n
}

// download fetches u in b's session and returns the response and body.
func download(t *testing.T, b *testenv.Browser, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func withRecoveryCount(n int) testenv.Option {
	return testenv.WithConfig(func(c *config.Config) {
		mc := c.Methods["recovery"]
		if mc.Settings == nil {
			mc.Settings = map[string]any{}
		}
		mc.Settings["count"] = n
		c.Methods["recovery"] = mc
	})
}

// TestRecoveryCodesEnrolment: a user with no method generates a set on
// the account page without re-verifying; it is shown once, downloadable
// and printable for that user only and only until confirmed, and becomes
// active with "I have saved them", which mails the user.
func TestRecoveryCodesEnrolment(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("recovery", "totp"))
	env.AddUser(t, "alice", alicePassword)
	env.AddUser(t, "bob", alicePassword)
	b := accountBrowser(t, env, "alice", alicePassword)
	acct := b.Get(env.URL + "/account")
	if !strings.Contains(acct.Body, `href="/account/enrol?method=recovery"`) {
		t.Fatalf("the account page offers no recovery codes:\n%s", acct.Body)
	}
	p := b.Get(env.URL + "/account/enrol?method=recovery")
	codes := shownCodes(p)
	if strings.Contains(p.Body, `name="label"`) {
		t.Errorf("the recovery enrolment asks for a name, which the method does not take")
	}
	if p.Status != http.StatusOK || len(codes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 10 {
		t.Fatalf("enrolment page: %d, %d distinct codes of XXXX-XXXX-XXXX-XXXX, want 10:\n%s", p.Status, len(codes), p.Body)
	}
	txt, print := env.URL+linkByID(t, p, "codes-txt"), env.URL+linkByID(t, p, "codes-print")
	for _, u := range []string{txt, print} {
		if q, _ := url.Parse(u); q.Path != "/account/enrol/codes" || q.Query().Get("method") != "recovery" || q.Query().Get("enrolment") == "" {
			t.Fatalf("codes link %s", u)
		}
	}
	resp, body := download(t, b, txt)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("text download: %d %v", resp.StatusCode, resp.Header)
	}
	for _, c := range codes {
		if !strings.Contains(body, c) {
			t.Fatalf("the text file lacks %s:\n%s", c, body)
		}
	}
	if printed := b.Get(print); printed.Status != http.StatusOK || len(shownCodes(printed)) != 10 || !strings.Contains(printed.Text(), "Print") {
		t.Fatalf("print view: %d\n%s", printed.Status, printed.Body)
	}
	// Another signed-in user gets neither.
	bob := accountBrowser(t, env, "bob", alicePassword)
	for _, u := range []string{txt, print} {
		if resp, body := download(t, bob, u); resp.StatusCode != http.StatusNotFound || strings.Contains(body, codes[0]) {
			t.Fatalf("bob fetched alice's codes at %s: %d", u, resp.StatusCode)
		}
	}

	// Not ticked: the same codes again, with the reason.
	f := p.Form(t, "/account/enrol")
	f.Values.Del("saved")
	again := b.Submit(p, f, nil)
	if again.Status != http.StatusBadRequest || !strings.Contains(again.Text(), msgRecoveryNotSaved) || !slices.Equal(shownCodes(again), codes) {
		t.Fatalf("confirming unticked: %d %s", again.Status, again.Text())
	}
	done := b.Submit(again, again.Form(t, "/account/enrol"), map[string]string{"saved": "on"})
	if !strings.Contains(done.Text(), "The method was added") || !strings.Contains(done.Text(), "10 of 10 codes left") {
		t.Fatalf("after confirming: %d %s", done.Status, done.Text())
	}
	for _, u := range []string{txt, print} {
		if resp, body := download(t, b, u); resp.StatusCode != http.StatusNotFound || strings.Contains(body, codes[0]) {
			t.Fatalf("codes still served at %s after confirming: %d", u, resp.StatusCode)
		}
	}
	m := waitMail(t, env, "alice@example.com", notify.MethodAddedSubject, "Recovery codes")
	if strings.Contains(m.Text, codes[0]) {
		t.Fatalf("the mail holds a code:\n%s", m.Text)
	}
	if ev := listEvents(t, env, "method.added"); len(ev) != 1 || ev[0].Details["method"] != "recovery" {
		t.Fatalf("method.added events %+v", ev)
	}
}

// TestRecoveryCodeStepUp: a recovery code, reached by "use another
// method" and typed in lower case with spaces, steps a flow up to aal2
// (amr otp), mails the user how many are left, and never works twice.
func TestRecoveryCodeStepUp(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("recovery", "totp"))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	acct := accountBrowser(t, env, "alice", alicePassword)
	secret := acct.EnrolTOTP()
	codes := newRecoverySet(t, env, acct, secret)

	b, ar, p := stepUpPage(t, env, rp)
	checkChallenge(t, p, "totp", "recovery") // the authenticator app first, recovery codes last
	p = useMethod(t, env, b, p, "recovery")
	f := checkChallenge(t, p, "recovery", "totp")
	if !strings.Contains(p.Text(), "recovery code") {
		t.Fatalf("recovery page: %s", p.Text())
	}
	typed := strings.ToLower(strings.ReplaceAll(codes[3], "-", " "))
	tok := exchange(t, rp, ar, b.Submit(p, f, map[string]string{"code": typed}), "aal2")
	if !slices.Equal(tok.Claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("amr = %v, want pwd otp mfa", tok.Claims.AMR)
	}
	if ev := listEvents(t, env, "recovery.used"); len(ev) != 1 || ev[0].UserID != "u-alice" {
		t.Fatalf("recovery.used events %+v", ev)
	}
	m := waitMail(t, env, "alice@example.com", recoveryUsedSubject, "9 of your 10 codes are left.")
	if strings.Contains(m.Text, codes[3]) {
		t.Fatalf("the mail holds the code:\n%s", m.Text)
	}

	// The same code in a new flow: refused, audited, the page again.
	_, _, p = recoveryStepUp(t, env, rp, codes[3])
	if _, done := testenv.CallbackOf(t, p); done || p.Status != http.StatusUnauthorized || !strings.Contains(p.Text(), web.MsgWrongResponse) {
		t.Fatalf("a spent code again: %d %s", p.Status, p.Text())
	}
	checkChallenge(t, p, "recovery", "totp")
	failed := listEvents(t, env, "verification.failed")
	if len(failed) != 1 || failed[0].Details["method"] != "recovery" || failed[0].UserID != "u-alice" {
		t.Fatalf("verification.failed events %+v", failed)
	}
	if n := mailsTo(t, env, "alice@example.com", recoveryUsedSubject); n != 1 {
		t.Fatalf("%d mails of a used code, want 1", n)
	}
	if strings.Contains(env.Logs.String(), codes[3]) || strings.Contains(env.Logs.String(), typed) {
		t.Fatal("a recovery code reached the logs")
	}
}

// TestRecoveryNewSetVoidsOld: a new set, after re-verifying, replaces the
// old one at once: an unused old code no longer works, a new one does.
func TestRecoveryNewSetVoidsOld(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("recovery", "totp"))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	acct := accountBrowser(t, env, "alice", alicePassword)
	secret := acct.EnrolTOTP()
	old := newRecoverySet(t, env, acct, secret)

	env.Clock.Advance(11 * time.Minute) // the re-verification is no longer recent
	p := acct.Get(env.URL + "/account/enrol?method=recovery")
	if shownCodes(p) != nil {
		t.Fatalf("a new set without re-verifying:\n%s", p.Text())
	}
	p = reverify(t, env, acct, p, secret)
	fresh := shownCodes(p)
	if len(fresh) != 10 || !strings.Contains(p.Text(), msgRecoveryReplaces) || slices.Contains(old, fresh[0]) {
		t.Fatalf("new set page: %d %s", p.Status, p.Text())
	}
	if done := acct.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"saved": "on"}); !strings.Contains(done.Text(), "The method was added") {
		t.Fatalf("new set not confirmed: %d %s", done.Status, done.Text())
	}

	if _, _, p := recoveryStepUp(t, env, rp, old[0]); p.Status != http.StatusUnauthorized || !strings.Contains(p.Text(), web.MsgWrongResponse) {
		t.Fatalf("an unused code of the old set: %d %s", p.Status, p.Text())
	}
	_, ar, p := recoveryStepUp(t, env, rp, fresh[0])
	exchange(t, rp, ar, p, "aal2")
	if n := mailsTo(t, env, "alice@example.com", notify.MethodAddedSubject); n != 3 {
		t.Fatalf("%d method-added mails, want 3 (the app, each set)", n)
	}
}

// TestRecoveryLastCodeAsksForNewSet: with count 5, the account page warns
// at 2 left; after the last code the user is asked to make a new set
// before the client gets its code, and may go on without.
func TestRecoveryLastCodeAsksForNewSet(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("recovery"), withRecoveryCount(5))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	acct := accountBrowser(t, env, "alice", alicePassword)
	codes := newRecoverySet(t, env, acct, "")
	if len(codes) != 5 {
		t.Fatalf("%d codes, want 5", len(codes))
	}
	for _, c := range codes[:3] {
		_, ar, p := recoveryStepUp(t, env, rp, c)
		exchange(t, rp, ar, p, "aal2")
	}
	page := acct.Get(env.URL + "/account")
	if !strings.Contains(page.Body, `class="warning"`) || !strings.Contains(page.Text(), "Only 2 of 5 codes left: generate a new set") {
		t.Fatalf("account page at 2 codes left:\n%s", page.Body)
	}
	waitMail(t, env, "alice@example.com", recoveryUsedSubject, "Only 2 of your 5 codes are left")
	_, ar, p := recoveryStepUp(t, env, rp, codes[3])
	exchange(t, rp, ar, p, "aal2")

	b, ar, p := recoveryStepUp(t, env, rp, codes[4])
	if _, done := testenv.CallbackOf(t, p); done || p.Status != http.StatusOK || p.URL.Query().Get("renew") != "recovery" ||
		!strings.Contains(p.Text(), "You have used up your recovery codes") {
		t.Fatalf("after the last code: %d %s\n%s", p.Status, p.URL, p.Text())
	}
	waitMail(t, env, "alice@example.com", recoveryUsedSubject, "Your last recovery code was used")
	renew, cont, id := linkByID(t, p, "renew"), linkByID(t, p, "continue"), p.URL.Query().Get("id")
	if id == "" || renew != "/account/enrol?method=recovery&request="+id || cont != "/login?id="+id+"&continue=1" {
		t.Fatalf("#renew links to %s, #continue to %s", renew, cont)
	}
	// A new set, saved, and the sign-in goes on to the client.
	again := b.Get(env.URL + renew)
	if len(shownCodes(again)) != 5 {
		t.Fatalf("#renew: %d %s", again.Status, again.Text())
	}
	exchange(t, rp, ar, b.Submit(again, again.Form(t, "/account/enrol"), map[string]string{"saved": "on"}), "aal2")
	if got := acct.Get(env.URL + "/account"); !strings.Contains(got.Text(), "5 of 5 codes left") {
		t.Fatalf("account page after the new set: %s", got.Text())
	}
}

// TestRecoveryStoresNoCode reads the recovery namespace of the store, raw
// and decrypted, after a set was confirmed, a code used and a new set left
// pending: no code in any form, in the store or the logs.
func TestRecoveryStoresNoCode(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("recovery"))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	acct := accountBrowser(t, env, "alice", alicePassword)
	codes := newRecoverySet(t, env, acct, "")
	_, ar, p := recoveryStepUp(t, env, rp, codes[0])
	exchange(t, rp, ar, p, "aal2")
	// A new set, after re-verifying with a code of the old one.
	p = acct.Get(env.URL + "/account/enrol?method=recovery")
	pending := shownCodes(acct.Submit(p, checkChallenge(t, p, "recovery"), map[string]string{"code": codes[1]}))
	if len(pending) != 10 {
		t.Fatalf("%d pending codes", len(pending))
	}
	var whole, forbidden []string // the codes as typed; and with parts of them
	for _, c := range append(codes, pending...) {
		plain := strings.ReplaceAll(c, "-", "")
		whole = append(whole, c, plain, strings.ToLower(plain))
		for _, g := range strings.Split(c, "-") {
			forbidden = append(forbidden, g+"-")
		}
	}
	forbidden = append(forbidden, whole...)
	ctx := context.Background()
	local, err := host.NewLocalHost("recovery", provider.PluginBackend(env.Store, nil), env.Secrets.PluginKey("recovery"), env.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	ns := host.Namespace("recovery")
	keys, err := env.Store.KVList(ctx, ns, "", env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 3 {
		t.Fatalf("keys %q, want the hash key, the set and the pending set", keys)
	}
	for _, key := range keys {
		raw, err := env.Store.KVGet(ctx, ns, key, env.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		plain, _, err := local.Storage().Get(ctx, key)
		if err != nil {
			t.Fatalf("decrypt %s: %v", key, err)
		}
		for _, f := range forbidden {
			if strings.Contains(key, f) || bytes.Contains(raw.Value, []byte(f)) || bytes.Contains(plain, []byte(f)) {
				t.Errorf("%s holds a code (%q)", key, f)
			}
		}
	}
	logs := env.Logs.String()
	for _, f := range whole {
		if strings.Contains(logs, f) {
			t.Errorf("the logs hold a code (%q)", f)
		}
	}
}

// TestRecoveryStaleEnrolmentPage: a set replaced by a newer one before it
// was saved (the enrolment page opened again) is gone: its download and
// print view are not served, its form says to start again, and the newer
// set is the one that becomes active.
func TestRecoveryStaleEnrolmentPage(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("recovery"))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	acct := accountBrowser(t, env, "alice", alicePassword)
	stale := acct.Get(env.URL + "/account/enrol?method=recovery")
	staleCodes := shownCodes(stale)
	p := acct.Get(env.URL + "/account/enrol?method=recovery")
	codes := shownCodes(p)
	if len(staleCodes) != 10 || len(codes) != 10 || slices.Contains(codes, staleCodes[0]) {
		t.Fatalf("two enrolment pages: %d and %d codes", len(staleCodes), len(codes))
	}
	for _, id := range []string{"codes-txt", "codes-print"} {
		if resp, body := download(t, acct, env.URL+linkByID(t, stale, id)); resp.StatusCode != http.StatusNotFound || strings.Contains(body, staleCodes[0]) {
			t.Fatalf("the replaced set is still served at #%s: %d", id, resp.StatusCode)
		}
	}
	got := acct.Submit(stale, stale.Form(t, "/account/enrol"), map[string]string{"saved": "on"})
	if got.Status != http.StatusBadRequest || !strings.Contains(got.Text(), web.MsgEnrolmentExpired) {
		t.Fatalf("confirming the replaced set: %d %s", got.Status, got.Text())
	}
	if done := acct.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"saved": "on"}); !strings.Contains(done.Text(), "The method was added") {
		t.Fatalf("confirming the newer set: %d %s", done.Status, done.Text())
	}
	_, ar, p := recoveryStepUp(t, env, rp, codes[0])
	exchange(t, rp, ar, p, "aal2")
}
