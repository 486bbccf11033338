package provider_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/stepup-mfa/stepup/provider"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestEnrolFieldsAndDisplays adds a method the provider does not know by
// name: the enrolment page asks for what the method declares (a phone
// number, as an SMS method would), hands it to Enrol, keeps the method's
// words on a refusal, and shows what Enrol returned (a sentence, codes to
// keep, a picture), leaving out what a page cannot show safely.
func TestEnrolFieldsAndDisplays(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods(fixtureName), withFixture(t))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	acct := b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	if !strings.Contains(acct.Body, `href="/account/enrol?method=fixture"`) {
		t.Fatalf("account page offers no fixture to add:\n%s", acct.Text())
	}
	p := b.Get(env.URL + "/account/enrol?method=fixture")
	f := p.Form(t, "/account/enrol")
	var phone bool
	for _, in := range f.Inputs {
		phone = phone || (in.Name == "phone" && in.Type == "tel" && in.Autocomplete == "tel")
	}
	if !phone || f.Values.Has("enrolment") || !strings.Contains(p.Text(), "Mobile number") {
		t.Fatalf("enrolment page does not ask for the number first:\n%s", p.Body)
	}

	bad := b.Submit(p, f, map[string]string{"phone": "0555 0100"})
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Text(), msgFixturePhone) ||
		!strings.Contains(bad.Body, `value="0555 0100"`) || !strings.Contains(bad.Body, `aria-invalid="true"`) {
		t.Fatalf("a number the method refuses: %d\n%s", bad.Status, bad.Body)
	}

	p = b.Submit(bad, bad.Form(t, "/account/enrol"), map[string]string{"phone": "+15550100"})
	text := p.Text()
	for _, want := range []string{"We sent a code to +15550100.", "Keep these codes somewhere safe:", "7KQ4-M2XD", "9RTA-WP3C"} {
		if !strings.Contains(text, want) {
			t.Errorf("enrolment page lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(p.Body, `alt="A square" width="3" height="2"`) {
		t.Errorf("the picture is not shown with its size:\n%s", p.Body)
	}
	if strings.Contains(p.Body, "javascript:") || strings.Contains(p.Body, "Not a picture") {
		t.Errorf("the page shows a display it cannot show safely:\n%s", p.Body)
	}
	confirm := p.Form(t, "/account/enrol")
	if confirm.Values.Get("enrolment") == "" {
		t.Fatalf("no confirmation form:\n%s", p.Body)
	}
	done := b.Submit(p, confirm, map[string]string{"code": fixtureCode})
	if !strings.Contains(done.Text(), "The method was added") || !strings.Contains(done.Text(), "+15550100") {
		t.Fatalf("after confirming: %d %s", done.Status, done.Text())
	}

	// The challenge page asks for the method's fields; each use writes the
	// event the method declares.
	rp := env.NewRP(t, testenv.PublicClient, "")
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p = b.Get(ar.URL)
	f = p.Form(t, "/login/verify")
	if f.Values.Get("method") != fixtureName || !strings.Contains(p.Text(), "Enter the code we sent to +15550100.") ||
		!strings.Contains(p.Body, `autocomplete="one-time-code"`) {
		t.Fatalf("challenge page:\n%s", p.Body)
	}
	tok, err := rp.Exchange(testenv.MustCallback(t, b.Submit(p, f, map[string]string{"code": fixtureCode})).Code(t), ar)
	if err != nil || tok.Claims.ACR != "aal2" {
		t.Fatalf("step-up with the fixture: %v %+v", err, tok)
	}
	if ev := listEvents(t, env, "fixture.used"); len(ev) != 1 || ev[0].UserID != "u-alice" {
		t.Fatalf("use events %+v", ev)
	}
}

// TestEnrolmentOfAnEarlierSDK: a method built before Displays existed
// still gets its QR code, otpauth:// link and key shown.
func TestEnrolmentOfAnEarlierSDK(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods(fixtureName), withFixture(t))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	p := b.Get(env.URL + "/account/enrol?method=fixture")
	p = b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"phone": fixtureLegacyPhone})
	for _, want := range []string{`src="data:image/png;base64,`, `width="3" height="2"`, `href="otpauth://totp/fixture:legacy?secret=LEGACYKEY"`,
		"enter this key by hand: <code>LEGACYKEY</code>"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("enrolment page lacks %q:\n%s", want, p.Body)
		}
	}
}

// fixtureAdminEnv runs TOTP and the fixture, with the administrator
// helpdesk and alice, and returns a client-credentials token of the admin
// bot.
func fixtureAdminEnv(t *testing.T) (*testenv.Env, string) {
	t.Helper()
	env := testenv.New(t, testenv.WithMethods("totp", fixtureName), withFixture(t))
	env.AddUser(t, "helpdesk", adminPassword, "manage_mfa")
	env.AddUser(t, "alice", alicePassword)
	cc := clientcredentials.Config{ClientID: testenv.AdminBot, ClientSecret: testenv.AdminBotSecret, TokenURL: env.URL + "/oauth/token"}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return env, tok.AccessToken
}

// TestDeclaredAdminActions: the admin API serves the actions a method
// declares at /admin/v1/users/{username}/{resource}, answers each verb as
// declared, maps the method's refusals to statuses, writes the declared
// audit events without the secret, and offers no ill-formed action.
func TestDeclaredAdminActions(t *testing.T) {
	env, tok := fixtureAdminEnv(t)
	const path = "/admin/v1/users/alice/" + fixtureResource
	if got := callAPI(t, env, tok, "GET", path, nil); got.Status != 200 || got.Raw != `{"locked":false}`+"\n" {
		t.Fatalf("status: %d %s", got.Status, got.Raw)
	}
	for _, tc := range []struct {
		body   any
		status int
		detail string
	}{
		{map[string]string{"why": "bad"}, 400, msgFixtureReason},
		{map[string]string{"why": "conflict"}, 409, "conflicts with what user alice has now"},
		{map[string]string{"why": "missing"}, 404, "user alice has nothing of that kind"},
		{map[string]string{"why": "crash"}, 503, "method fixture is not answering"},
		{map[string]string{"nope": "x"}, 400, `unknown member \"nope\": this action takes why, hours`},
		{map[string]any{"why": 5}, 400, `member \"why\" must be a JSON string`},
	} {
		got := callAPI(t, env, tok, "POST", path, tc.body)
		if got.Status != tc.status || !strings.Contains(got.Raw, tc.detail) || got.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%v: %d %s, want %d saying %q", tc.body, got.Status, got.Raw, tc.status, tc.detail)
		}
	}
	// Retry-After counts on the provider's clock, which the method's
	// RetryAfter is on too, not on the wall clock.
	env.Clock.Advance(10 * time.Minute)
	busy := callAPI(t, env, tok, "POST", path, map[string]string{"why": "busy"})
	if secs, err := strconv.Atoi(busy.Header.Get("Retry-After")); busy.Status != 429 || err != nil || secs < 1 || secs > int(fixtureRetryIn/time.Second)+1 {
		t.Errorf("rate limited: %d Retry-After %q %s", busy.Status, busy.Header.Get("Retry-After"), busy.Raw)
	}
	if got := callAPI(t, env, tok, "POST", "/admin/v1/users/nobody/"+fixtureResource, map[string]string{"why": "lost", "hours": "1h"}); got.Status != 404 {
		t.Errorf("no such user: %d %s", got.Status, got.Raw)
	}

	locked := callAPI(t, env, tok, "POST", path, map[string]string{"why": "lost phone", "hours": "1h"})
	if locked.Status != 201 || locked.Body["unlock_code"] != "UNLOCK-u-alice" || locked.Body["until"] == nil || len(locked.Body) != 2 {
		t.Fatalf("lock: %d %s (want the declared results but the summary)", locked.Status, locked.Raw)
	}
	if got := callAPI(t, env, tok, "GET", path, nil); got.Status != 200 || got.Body["locked"] != true || got.Body["until"] != locked.Body["until"] {
		t.Fatalf("status once locked: %d %s", got.Status, got.Raw)
	}
	for range 2 { // the second finds nothing to lift: no event
		if got := callAPI(t, env, tok, "DELETE", path+"?why=returned&other=x", nil); got.Status != 204 || got.Raw != "" {
			t.Fatalf("unlock: %d %s", got.Status, got.Raw)
		}
	}
	ev := listEvents(t, env, "fixture.locked")
	if len(ev) != 1 || ev[0].Actor != "client:"+testenv.AdminBot || ev[0].UserID != "u-alice" || ev[0].Details["why"] != "lost phone" ||
		ev[0].Details["hours"] != "1h" || ev[0].Details["until"] == "" || len(ev[0].Details) != 3 {
		t.Errorf("lock events %+v: want the params and the results that are not secret", ev)
	}
	// Six refusals reached the action (a malformed body does not).
	if refused := listEvents(t, env, "fixture.lock_refused"); len(refused) != 6 || refused[0].Details["reason"] != `no user "nobody"` ||
		refused[5].Details["why"] != "bad" || refused[5].Details["reason"] != msgFixtureReason {
		t.Errorf("refusals audited %+v, want all six with the params and the reason", refused)
	}
	if ev := listEvents(t, env, "fixture.unlocked"); len(ev) != 1 || ev[0].Details["why"] != "returned" || ev[0].Details["other"] != "" {
		t.Errorf("unlock events %+v, want one with the declared query param", ev)
	}
	all := callAPI(t, env, tok, "GET", "/admin/v1/events?user=alice&limit=1000", nil)
	if strings.Contains(all.Raw, "UNLOCK-u-alice") || strings.Contains(env.Logs.String(), "UNLOCK-u-alice") {
		t.Error("the secret reached the audit log or the log")
	}
	// The ill-formed actions are offered nowhere, and say why in the log.
	if got := callAPI(t, env, tok, "PATCH", path, map[string]string{}); got.Status != 405 && got.Status != 404 {
		t.Errorf("PATCH, which the host does not serve: %d %s", got.Status, got.Raw)
	}
	if got := callAPI(t, env, tok, "GET", "/admin/v1/users/alice/methods", nil); got.Status != 200 || !strings.Contains(got.Raw, `"methods"`) {
		t.Errorf("a method took the methods route: %d %s", got.Status, got.Raw)
	}
	if logs := env.Logs.String(); strings.Count(logs, "admin action not offered") != 2 {
		t.Errorf("the ill-formed actions are not both logged:\n%s", logs)
	}
}

// TestDeclaredAdminPage: the help-desk page shows the resource the
// fixture declares, its status and the form its state offers, with the
// declared params; the answer with a secret is shown once, and an action
// without one comes back with its sentence.
func TestDeclaredAdminPage(t *testing.T) {
	env, _ := fixtureAdminEnv(t)
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "helpdesk", adminPassword)
	secret := b.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)
	p := b.Get(env.URL + "/admin?user=alice")
	if p.IsLoginPage() || !strings.Contains(p.Body, "Find a user") {
		p = b.Submit(p, p.Form(t, "/login/verify"), map[string]string{"code": testenv.TOTPCode(t, secret, env.Clock.Now())})
	}
	for _, want := range []string{"<h3>Phone lock</h3>", "The phone is not locked.", `<label for="why">Reason</label>`,
		`value="lost phone"`, `<select id="hours" name="hours">`, `<option value="2h" selected>`, "Lock the phone"} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("admin page lacks %q:\n%s", want, p.Body)
		}
	}
	if strings.Contains(p.Body, "Lift the lock") {
		t.Fatalf("the page offers to lift a lock there is not:\n%s", p.Body)
	}
	shown := b.Submit(p, p.Form(t, "/admin/"+fixtureName), map[string]string{"why": "stolen", "hours": "2h"})
	if shown.Status != http.StatusCreated || !strings.Contains(shown.Body, `<output id="fixture" aria-label="Unlock code"`) ||
		!strings.Contains(shown.Text(), "UNLOCK-u-alice") || !strings.Contains(shown.Text(), "Locked until: ") ||
		!strings.Contains(shown.Text(), "Read the code out to the user.") || strings.Contains(shown.Text(), "never shown") {
		t.Fatalf("the answer: %d\n%s", shown.Status, shown.Body)
	}
	p = b.Get(env.URL + "/admin?user=alice")
	if !strings.Contains(p.Text(), "The phone is locked by helpdesk.") || strings.Contains(p.Body, "UNLOCK-u-alice") || strings.Contains(p.Body, "Lock the phone") {
		t.Fatalf("after locking:\n%s", p.Body)
	}
	p = b.Submit(p, p.Form(t, "/admin/"+fixtureName), nil)
	if !strings.Contains(p.Text(), "The phone lock was lifted.") || !strings.Contains(p.Text(), "The phone is not locked.") {
		t.Fatalf("after lifting the lock: %d %s", p.Status, p.Text())
	}
	if ev := listEvents(t, env, "fixture.locked"); len(ev) != 1 || ev[0].Actor != "helpdesk" || ev[0].Details["why"] != "stolen" {
		t.Fatalf("lock from the page audited as %+v", ev)
	}
	// The host's own rules, as the action declares them.
	self := b.Get(env.URL + "/admin?user=helpdesk")
	if got := b.Submit(self, self.Form(t, "/admin/"+fixtureName), nil); got.Status != http.StatusForbidden || !strings.Contains(got.Text(), "yourself") {
		t.Fatalf("locking one's own phone: %d %s", got.Status, got.Text())
	}
	deactivate(t, env, "u-alice")
	if got := b.Submit(p, p.Form(t, "/admin/"+fixtureName), nil); got.Status != http.StatusConflict || !strings.Contains(got.Text(), "activate the account first") {
		t.Fatalf("locking an inactive user's phone: %d %s", got.Status, got.Text())
	}
	// An action the method did not put on the page is not run from it.
	f := p.Form(t, "/admin/"+fixtureName)
	if got := b.Submit(p, f, map[string]string{"action": "status"}); got.Status != http.StatusNotFound {
		t.Fatalf("a GET action posted from the page: %d %s", got.Status, got.Text())
	}
}

// TestBreakGlassByDeclaration: the offline break-glass path runs the
// action a method declares for it, for oneself too, audited as
// break-glass, with the duration given and the other params' defaults.
func TestBreakGlassByDeclaration(t *testing.T) {
	env, _ := fixtureAdminEnv(t)
	svc := provider.NewAdmin(env.Config, provider.Options{Store: env.Store, Secrets: env.Secrets, Now: env.Clock.Now, Methods: env.Methods})
	values, err := svc.BreakGlass(t.Context(), "helpdesk", "1h")
	if err != nil {
		t.Fatal(err)
	}
	if len(values) != 3 || values[0] != (admin.BreakGlassValue{Label: "Unlock code", Value: "UNLOCK-u-helpdesk", Secret: true}) ||
		values[1].Label != "Locked until" || values[2].Value != "Read the code out to the user." {
		t.Fatalf("break-glass values %+v", values)
	}
	ev := listEvents(t, env, "fixture.locked")
	if len(ev) != 1 || ev[0].Actor != "break-glass" || ev[0].Details["break_glass"] != "true" || ev[0].Details["hours"] != "1h" ||
		ev[0].Details["why"] != "lost phone" || strings.Contains(fmt.Sprint(ev[0].Details), "UNLOCK") {
		t.Fatalf("break-glass audited as %+v", ev)
	}
	if _, err := svc.BreakGlass(t.Context(), "nobody", "1h"); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("break-glass for nobody: %v", err)
	}
	if ev := listEvents(t, env, "fixture.lock_refused"); len(ev) != 1 || ev[0].Details["break_glass"] != "true" {
		t.Fatalf("refused break-glass audited as %+v", ev)
	}
}

// TestStepUpResultNamingAnotherUser: a method may name the user it
// verified only in a first-factor verification (a passkey). A step-up
// result that names someone else than the challenge's user, from a
// plugin gone wrong or hostile, is a failed verification: no token, the
// failure audited, and the user's own answer still works.
func TestStepUpResultNamingAnotherUser(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods(fixtureName), withFixture(t))
	env.AddUser(t, "alice", alicePassword)
	env.AddUser(t, "mallory", alicePassword)
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	p := b.Get(env.URL + "/account/enrol?method=fixture")
	p = b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"phone": "+15550100"})
	if done := b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"code": fixtureCode}); !strings.Contains(done.Text(), "The method was added") {
		t.Fatalf("enrolment: %d %s", done.Status, done.Text())
	}

	rp := env.NewRP(t, testenv.PublicClient, "")
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p = b.Get(ar.URL)
	refused := b.Submit(p, p.Form(t, "/login/verify"), map[string]string{"code": fixtureCodeNamingAnother})
	if refused.Status != http.StatusUnauthorized || refused.Location != nil {
		t.Fatalf("a result naming another user: %d %v\n%s", refused.Status, refused.Location, refused.Text())
	}
	if ev := listEvents(t, env, "verification.failed"); len(ev) != 1 || ev[0].UserID != "u-alice" {
		t.Fatalf("failure events %+v, want one for alice", ev)
	}
	tok, err := rp.Exchange(testenv.MustCallback(t, b.Submit(refused, refused.Form(t, "/login/verify"), map[string]string{"code": fixtureCode})).Code(t), ar)
	if err != nil || tok.Claims.ACR != "aal2" || tok.Claims.Subject != "u-alice" {
		t.Fatalf("alice's own answer after the refusal: %v %+v", err, tok)
	}
}
