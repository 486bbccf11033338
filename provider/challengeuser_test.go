package provider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/testenv"
)

const bobPassword = "bob's own correct horse"

// twoTOTPUsers is a provider with alice and bob, each with an
// authenticator app, and a fresh browser on the password page of an aal2
// request.
func twoTOTPUsers(t *testing.T) (env *testenv.Env, b *testenv.Browser, rp *testenv.RP, ar testenv.AuthRequest, loginPage *testenv.Page, bobSecret string) {
	t.Helper()
	env = testenv.New(t, testenv.WithMethods("totp"))
	env.AddUser(t, "alice", alicePassword)
	env.AddUser(t, "bob", bobPassword)
	for _, u := range []struct{ name, pw string }{{"alice", alicePassword}, {"bob", bobPassword}} {
		ub := env.NewBrowser(t)
		ub.SubmitPassword(ub.Get(env.URL+"/account"), u.name, u.pw)
		if secret := ub.EnrolTOTP(); u.name == "bob" {
			bobSecret = secret
		}
	}
	env.Clock.Advance(30 * time.Second) // the confirming codes are spent
	rp = env.NewRP(t, testenv.PublicClient, "")
	b = env.NewBrowser(t)
	ar = rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	loginPage = b.Get(ar.URL)
	if !loginPage.IsLoginPage() {
		t.Fatalf("no password page: %s", loginPage.Text())
	}
	return env, b, rp, ar, loginPage, bobSecret
}

// A TOTP challenge begun for alice is not reused for bob, who signs in
// next on the same request in the same browser: bob's right code is
// accepted, and nothing counts as a failure.
func TestChallengeBelongsToItsUser(t *testing.T) {
	env, b, rp, ar, loginPage, bobSecret := twoTOTPUsers(t)
	if p := b.SubmitPassword(loginPage, "alice", alicePassword); !strings.Contains(p.Text(), "Signed in as alice") {
		t.Fatalf("alice's TOTP page: %s", p.Text())
	}
	p := b.SubmitPassword(loginPage, "bob", bobPassword)
	if !strings.Contains(p.Text(), "Signed in as bob") {
		t.Fatalf("bob's TOTP page: %s", p.Text())
	}
	got := stepUp(t, b, p, testenv.TOTPCode(t, bobSecret, env.Clock.Now()))
	cb, ok := testenv.CallbackOf(t, got)
	if !ok {
		t.Fatalf("bob's right code: %d %s", got.Status, got.Text())
	}
	tok, err := rp.Exchange(cb.Code(t), ar)
	bob, _ := env.Store.GetUserByUsername(t.Context(), "bob")
	if err != nil || tok.Claims.ACR != "aal2" || tok.Claims.Subject != bob.ID {
		t.Fatalf("%v %+v, want bob (%s) at aal2", err, tok, bob.ID)
	}
	if n := len(listEvents(t, env, "verification.failed")); n != 0 {
		t.Fatalf("%d failures audited, want none", n)
	}
}

// A response posted for bob while the request holds only alice's
// challenge (bob never loaded his page) is not checked against alice's
// challenge, and so not counted as bob's failure: bob gets a challenge of
// his own.
func TestResponseToAnotherUsersChallengeNotCounted(t *testing.T) {
	env, b, rp, ar, loginPage, bobSecret := twoTOTPUsers(t)
	alicePage := b.SubmitPassword(loginPage, "alice", alicePassword)
	verifyForm := alicePage.Form(t, "/login/verify")

	// bob signs in on the request without following the redirect to his
	// page, which would begin his challenge.
	direct := *b.Client
	direct.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	lf := loginPage.Form(t, "/login")
	v := url.Values{}
	for k, vs := range lf.Values {
		v[k] = vs
	}
	v.Set("username", "bob")
	v.Set("password", bobPassword)
	target, _ := loginPage.URL.Parse(lf.Action)
	resp, err := direct.PostForm(target.String(), v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob's password: %d, want a redirect to the next step", resp.StatusCode)
	}

	p := b.Submit(alicePage, verifyForm, map[string]string{"code": testenv.TOTPCode(t, bobSecret, env.Clock.Now())})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Text(), "A new one is ready") || !strings.Contains(p.Text(), "Signed in as bob") {
		t.Fatalf("bob's code against alice's challenge: %d %s; want a new challenge for bob", p.Status, p.Text())
	}
	if n := len(listEvents(t, env, "verification.failed")); n != 0 {
		t.Fatalf("%d failures audited, want none", n)
	}
	env.Clock.Advance(30 * time.Second)
	cb := testenv.MustCallback(t, stepUp(t, b, p, testenv.TOTPCode(t, bobSecret, env.Clock.Now())))
	if tok, err := rp.Exchange(cb.Code(t), ar); err != nil || tok.Claims.ACR != "aal2" {
		t.Fatalf("bob's code on his own challenge: %v %+v", err, tok)
	}
}
