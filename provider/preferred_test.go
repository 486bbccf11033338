package provider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// preferForm returns the account page's "Make preferred" form of method.
func preferForm(t *testing.T, p *testenv.Page, method string) testenv.Form {
	t.Helper()
	for _, f := range p.Forms() {
		if f.Action == "/account/preferred" && f.Values.Get("method") == method {
			return f
		}
	}
	t.Fatalf("no Make preferred form for %s:\n%s", method, p.Body)
	return testenv.Form{}
}

// TestPreferredMethod: a user's preferred method is offered first among
// the methods the administrator ranks equally; the account page says so;
// the activity list reads as sentences on the provider's clock; a method
// the user does not have cannot be preferred.
func TestPreferredMethod(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp", "recovery"), testenv.WithConfig(func(c *config.Config) {
		mc := c.Methods["recovery"]
		mc.Priority = 60 // as totp's: the order is the user's to choose
		c.Methods["recovery"] = mc
	}))
	env.AddUser(t, "alice", alicePassword)
	env.AddUser(t, "bob", "bob's long password")
	rp := env.NewRP(t, testenv.PublicClient, "")

	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	secret := b.EnrolTOTP()
	newRecoverySet(t, env, b, secret)

	// Equal priorities and no preference: by name, recovery first.
	if _, _, p := stepUpPage(t, env, rp); p.Form(t, "/login/verify").Values.Get("method") != "recovery" {
		t.Fatalf("without a preference the first method is %q", p.Form(t, "/login/verify").Values.Get("method"))
	}

	acct := b.Get(env.URL + "/account")
	done := b.Submit(acct, preferForm(t, acct, "totp"), nil)
	if done.URL.Path != "/account" || !strings.Contains(done.Body, `id="preferred-totp"`) || strings.Contains(done.Body, `id="prefer-totp"`) ||
		!strings.Contains(done.Body, `id="prefer-recovery"`) || !strings.Contains(done.Text(), "Your preferred method is saved") {
		t.Fatalf("after Make preferred: %d at %s:\n%s", done.Status, done.URL, done.Body)
	}
	_, _, p := stepUpPage(t, env, rp)
	if got := p.Form(t, "/login/verify").Values.Get("method"); got != "totp" {
		t.Fatalf("with totp preferred the first method is %q", got)
	}
	if _, ok := methodLink(p, "recovery"); !ok {
		t.Fatalf("recovery is no longer offered as another method:\n%s", p.Body)
	}

	// The activity, five minutes later on the provider's clock.
	env.Clock.Advance(5 * time.Minute)
	acct = b.Get(env.URL + "/account")
	for _, want := range []string{
		"Chose an authenticator app as your preferred method, from 127.0.0.1, 5 minutes ago",
		"Added recovery codes, from 127.0.0.1, 5 minutes ago",
		"Signed in with your password, from 127.0.0.1,",
	} {
		if !strings.Contains(acct.Text(), want) {
			t.Errorf("account activity lacks %q:\n%s", want, acct.Text())
		}
	}
	if strings.Contains(acct.Text(), "method.added") || strings.Contains(acct.Text(), "login.password") {
		t.Errorf("the activity shows event names:\n%s", acct.Text())
	}

	// bob has no method: he cannot prefer one, nor an unknown one.
	bb := env.NewBrowser(t)
	bb.SubmitPassword(bb.Get(env.URL+"/account"), "bob", "bob's long password")
	csrf := bb.Get(env.URL+"/account/enrol?method=totp").Form(t, "/account/enrol").Values.Get("csrf_token")
	for method, want := range map[string]int{"totp": http.StatusBadRequest, "nosuch": http.StatusNotFound} {
		if p := bb.Post(env.URL+"/account/preferred", url.Values{"method": {method}, "csrf_token": {csrf}}); p.Status != want {
			t.Errorf("bob prefers %s: %d %s", method, p.Status, p.Text())
		}
	}
}
