package provider_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestRequestBoundToBrowser replays the attack of a request link sent to
// someone else: the attacker starts a sign-in at the relying party (which
// keeps state, nonce and PKCE verifier in the attacker's session) and has
// the victim, signed in at aal2, open /login?id=R. The victim's browser
// must not complete R, and nobody may finish R through zitadel's callback
// without the browser's cookie: either would mint a code the attacker
// redeems as the victim.
func TestRequestBoundToBrowser(t *testing.T) {
	env, victim, rp, secret := totpEnv(t)
	first := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	testenv.MustCallback(t, stepUp(t, victim, victim.Get(first.URL), testenv.TOTPCode(t, secret, env.Clock.Now())))

	attacker := env.NewBrowser(t)
	p := attacker.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}}).URL)
	if !p.IsLoginPage() {
		t.Fatalf("the attacker's sign-in did not start: %d %s", p.Status, p.Text())
	}
	id := p.Form(t, "/login").Values.Get("id")

	p = victim.Get(env.URL + "/login?id=" + url.QueryEscape(id))
	if cb, ok := testenv.CallbackOf(t, p); ok {
		t.Fatalf("the victim's browser completed the attacker's request: %v", cb.Params)
	}
	if p.Status != http.StatusForbidden {
		t.Fatalf("victim opening the link: %d %s, want 403 and the error page", p.Status, p.Text())
	}
	for _, b := range []*testenv.Browser{victim, env.NewBrowser(t)} {
		p = b.Get(env.URL + "/authorize/callback?id=" + url.QueryEscape(id))
		if cb, ok := testenv.CallbackOf(t, p); ok || p.Status != http.StatusNotFound {
			t.Fatalf("authorize callback: %d, callback %v, want 404 and no code", p.Status, cb.Params)
		}
	}
	if n := len(listEvents(t, env, "login.request_refused")); n == 0 {
		t.Fatal("the foreign request was not audited")
	}
	// The browser that started the request still can continue it.
	if p = attacker.Get(env.URL + "/login?id=" + url.QueryEscape(id)); !p.IsLoginPage() {
		t.Fatalf("the request's own browser: %d %s", p.Status, p.Text())
	}
}

// TestRequestCompletesOnce replays a second user posting the login form
// of a request whose code was already issued: the code must stay the first
// user's, and of two racing completions exactly one wins.
func TestRequestCompletesOnce(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice", alicePassword)
	env.AddUser(t, "mallory", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)

	ar := rp.AuthURL(nil)
	form := b.Get(ar.URL)
	f := form.Form(t, "/login")
	cb := testenv.MustCallback(t, b.Submit(form, f, map[string]string{"username": "alice", "password": alicePassword}))
	p := b.Submit(form, f, map[string]string{"username": "mallory", "password": alicePassword})
	if again, ok := testenv.CallbackOf(t, p); ok {
		t.Fatalf("a completed request completed again: %v", again.Params)
	}
	if p.Status != http.StatusConflict {
		t.Fatalf("second completion: %d %s, want 409 and the error page", p.Status, p.Text())
	}
	tok, err := rp.Exchange(cb.Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.Subject != alice.ID {
		t.Fatalf("the code's sub is %q, want alice's %q", tok.Claims.Subject, alice.ID)
	}

	// Two completions racing: one code.
	form = b.Get(rp.AuthURL(url.Values{"prompt": {"login"}}).URL)
	f = form.Form(t, "/login")
	var wg sync.WaitGroup
	codes := make([]bool, 2)
	for i, user := range []string{"alice", "mallory"} {
		wg.Go(func() {
			_, codes[i] = testenv.CallbackOf(t, b.Submit(form, f, map[string]string{"username": user, "password": alicePassword}))
		})
	}
	wg.Wait()
	if codes[0] == codes[1] {
		t.Fatalf("racing completions: codes issued %v, want exactly one", codes)
	}
}

// TestAuthorizePostBindsBrowser: a request created by a POST to the
// authorization endpoint (as an IdP sending its users for external MFA
// does) is bound to the browser too, by the redirect's cookie.
func TestAuthorizePostBindsBrowser(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	ar := rp.AuthURL(nil)
	u, _ := url.Parse(ar.URL)
	b := env.NewBrowser(t)
	p := b.Post(env.URL+"/authorize", u.Query())
	if !p.IsLoginPage() || p.URL.Path != "/login" {
		t.Fatalf("POST /authorize: %d at %s, want the login page at /login", p.Status, p.URL)
	}
	if other := env.NewBrowser(t).Get(p.URL.String()); other.Status != http.StatusForbidden {
		t.Fatalf("another browser at %s: %d, want 403", p.URL, other.Status)
	}
	cb := testenv.MustCallback(t, b.SubmitPassword(p, "alice", alicePassword))
	if _, err := rp.Exchange(cb.Code(t), ar); err != nil {
		t.Fatal(err)
	}
}
