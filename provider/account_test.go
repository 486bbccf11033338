package provider_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

func TestAccountPageNeedsLogin(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp"))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	p := b.Get(env.URL + "/account")
	if !p.IsLoginPage() {
		t.Fatalf("account page without a session: %s", p.Text())
	}
	p = b.SubmitPassword(p, "alice", alicePassword)
	if p.Status != http.StatusOK || !strings.Contains(p.Text(), "Your account") || !strings.Contains(p.Text(), "Authenticator app") {
		t.Fatalf("after login: %d %s", p.Status, p.Text())
	}
}

func TestEnrolmentPageContract(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp"))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	p := b.Get(env.URL + "/account/enrol?method=totp")
	for _, want := range []string{`href="otpauth://totp/`, `src="data:image/png;base64,`, `autocomplete="one-time-code"`, "enter the key by hand"} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("enrolment page lacks %q:\n%s", want, p.Body)
		}
	}
	// A wrong first code shows the same page again with the error.
	f := p.Form(t, "/account/enrol")
	again := b.Submit(p, f, map[string]string{"code": "000000"})
	if again.Status != http.StatusUnauthorized || !strings.Contains(again.Text(), "not correct") || !strings.Contains(again.Body, `href="otpauth://totp/`) {
		t.Fatalf("wrong first code: %d %s", again.Status, again.Text())
	}
}

func TestRemoveMethodAfterReverifying(t *testing.T) {
	env, b, _, secret := totpEnv(t)
	acct := b.Get(env.URL + "/account")
	if !strings.Contains(acct.Text(), "phone") {
		t.Fatalf("account page does not list the authenticator: %s", acct.Text())
	}
	remove := func(p *testenv.Page) *testenv.Page { return b.Submit(p, p.Form(t, "/account/remove"), nil) }

	// Without a recent second factor the user must verify first.
	p := remove(acct)
	f := p.Form(t, "/login/verify")
	p = b.Submit(p, f, map[string]string{"code": testenv.TOTPCode(t, secret, env.Clock.Now())})
	if !strings.Contains(p.Text(), "Your account") {
		t.Fatalf("after re-verifying: %d %s", p.Status, p.Text())
	}
	p = remove(p)
	if !strings.Contains(p.Text(), "The method was removed") || strings.Contains(p.Text(), "phone,") {
		t.Fatalf("after removing: %s", p.Text())
	}
	if len(listEvents(t, env, "method.removed")) != 1 {
		t.Fatal("removal not audited")
	}
}
