package provider_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/testenv"
)

// trustDays is trusted_browser.days in these tests.
const trustDays = 30

func withTrust(enabled bool) testenv.Option {
	return testenv.WithConfig(func(c *config.Config) { c.TrustedBrowser = config.TrustedBrowser{Enabled: enabled, Days: trustDays} })
}

// trustCookieName is the trust cookie over plain http (the test issuer).
const trustCookieName = "stepup_trusted"

// hasTrustBox reports whether the challenge page offers "don't ask again".
func hasTrustBox(p *testenv.Page) bool {
	for _, f := range p.Forms() {
		for _, in := range f.Inputs {
			if strings.Contains(f.Action, "/login/verify") && in.Name == "trust" && in.Type == "checkbox" {
				return true
			}
		}
	}
	return false
}

// hashOf is how the store keys a trust cookie's value.
func hashOf(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// verify posts the challenge form of p with code, ticking "don't ask
// again" when trust is set, and returns the raw response: the redirect
// to the relying party and the cookies it sets.
func verify(t *testing.T, env *testenv.Env, b *testenv.Browser, p *testenv.Page, fields map[string]string, trust bool) *http.Response {
	t.Helper()
	f := p.Form(t, "/login/verify")
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = vs
	}
	v.Del("trust")
	for k, val := range fields {
		v.Set(k, val)
	}
	if trust {
		v.Set("trust", "1")
	}
	resp, err := b.Client.PostForm(env.URL+"/login/verify", v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// exchangeAt redeems the code of a redirect to the relying party.
func exchangeAt(t *testing.T, rp *testenv.RP, resp *http.Response, ar testenv.AuthRequest) *testenv.Tokens {
	t.Helper()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), testenv.RedirectURI) {
		t.Fatalf("no redirect to the relying party: %d %v", resp.StatusCode, loc)
	}
	tok, err := rp.Exchange(loc.Query().Get("code"), ar)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// trustWithTOTP steps b up to aal2 with TOTP, ticking "don't ask again",
// and returns the cookie it was given.
func trustWithTOTP(t *testing.T, env *testenv.Env, b *testenv.Browser, rp *testenv.RP, secret string) *http.Cookie {
	t.Helper()
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := b.Get(ar.URL)
	if !hasTrustBox(p) {
		t.Fatalf("the challenge page offers no \"don't ask again\":\n%s", p.Body)
	}
	resp := verify(t, env, b, p, map[string]string{"code": testenv.TOTPCode(t, secret, env.Clock.Now())}, true)
	tok := exchangeAt(t, rp, resp, ar)
	if tok.Claims.ACR != "aal2" || !slices.Equal(tok.Claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("trusting sign-in: %+v", tok.Claims)
	}
	for _, c := range resp.Cookies() {
		if c.Name == trustCookieName {
			return c
		}
	}
	t.Fatalf("no trust cookie set: %v", resp.Header["Set-Cookie"])
	return nil
}

// newSession ends b's session by letting it expire (session.ttl is 12h)
// and signs in again with the password for acr, returning the page after
// the password.
func signInAgain(t *testing.T, env *testenv.Env, b *testenv.Browser, ar testenv.AuthRequest, user, pw string) *testenv.Page {
	t.Helper()
	p := b.Get(ar.URL)
	if !p.IsLoginPage() {
		t.Fatalf("expected the password page, got %s", p.Text())
	}
	return b.SubmitPassword(p, user, pw)
}

// trustedEnv is totpEnv with trusted browsers on, alice's browser b
// trusted with TOTP, and her session then expired: the next sign-in
// starts from the password.
func trustedEnv(t *testing.T, opts ...testenv.Option) (env *testenv.Env, b *testenv.Browser, rp *testenv.RP, secret string, cookie *http.Cookie) {
	t.Helper()
	env, b, rp, secret = totpEnv(t, append([]testenv.Option{withTrust(true)}, opts...)...)
	cookie = trustWithTOTP(t, env, b, rp, secret)
	env.Clock.Advance(13 * time.Hour)
	return env, b, rp, secret, cookie
}

func TestTrustedBrowserSparesTheSecondFactorAtAAL2(t *testing.T) {
	env, b, rp, _, cookie := trustedEnv(t)
	if !cookie.HttpOnly || cookie.Secure || cookie.SameSite != http.SameSiteLaxMode || cookie.MaxAge != trustDays*24*3600 || cookie.Path != "/" {
		t.Errorf("trust cookie: %+v", cookie)
	}
	stored, err := env.Store.ListTrustedBrowsers(t.Context(), "u-alice")
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored: %v %+v", err, stored)
	}
	if stored[0].Hash == cookie.Value || strings.Contains(stored[0].Hash, cookie.Value) {
		t.Fatal("the store keeps the cookie's value, not its hash")
	}
	if ev := listEvents(t, env, "trusted_browser.trusted"); len(ev) != 1 || ev[0].Details["method"] != "totp" {
		t.Fatalf("trusting not audited: %+v", ev)
	}

	// A new session on the trusted browser: the password, then straight
	// back to the application.
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	passwordAt := env.Clock.Now()
	p := signInAgain(t, env, b, ar, "alice", alicePassword)
	tok, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	// What was done: the password now, TOTP when the browser was trusted.
	// auth_time is the password's, not the trust's.
	if tok.Claims.ACR != "aal2" || !slices.Equal(tok.Claims.AMR, []string{"pwd", "otp", "mfa"}) || tok.Claims.AuthTime < passwordAt.Unix() {
		t.Fatalf("spared sign-in: %+v (password at %d)", tok.Claims, passwordAt.Unix())
	}
	if ev := listEvents(t, env, "trusted_browser.used"); len(ev) != 1 || ev[0].UserID != "u-alice" || ev[0].Details["browser"] != stored[0].ID {
		t.Fatalf("use not audited: %+v", ev)
	}
	if got, _ := env.Store.GetTrustedBrowser(t.Context(), stored[0].Hash); got.LastUsedAt.IsZero() {
		t.Fatal("last use not recorded")
	}

	// Another browser (another cookie jar) is still asked.
	other := env.NewBrowser(t)
	ar = rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p = signInAgain(t, env, other, ar, "alice", alicePassword)
	if f := p.Form(t, "/login/verify"); f.Values.Get("method") != "totp" {
		t.Fatalf("a browser that was never trusted skipped TOTP: %s", p.Text())
	}

	// The account page lists it, marked as the browser showing the page.
	acct := b.Get(env.URL + "/account")
	if text := acct.Text(); !strings.Contains(text, "Trusted browsers") || !strings.Contains(text, stored[0].Name+" (this browser)") || !strings.Contains(text, "last used") {
		t.Fatalf("account page:\n%s", text)
	}
}

// prompt=none on a trusted browser signed in with the password: nothing
// to ask, so the trust finishes the sign-in silently at aal2.
func TestTrustedBrowserWithPromptNone(t *testing.T) {
	env, b, rp, _, _ := trustedEnv(t)
	login(t, env, b, rp, url.Values{"acr_values": {"aal1"}}, "alice", alicePassword)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}, "prompt": {"none"}})
	cb := testenv.MustCallback(t, b.Get(ar.URL))
	tok, err := rp.Exchange(cb.Code(t), ar)
	if err != nil || tok.Claims.ACR != "aal2" || !slices.Equal(tok.Claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("prompt=none on a trusted browser: %v %+v", err, tok)
	}
	// Another browser with the same password session must still sign in.
	other := env.NewBrowser(t)
	login(t, env, other, rp, url.Values{"acr_values": {"aal1"}}, "alice", alicePassword)
	cb = testenv.MustCallback(t, other.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}, "prompt": {"none"}}).URL))
	if cb.Params.Get("error") != "login_required" {
		t.Fatalf("prompt=none on an untrusted browser: %v", cb.Params)
	}
}

// A trusted browser stands for the factor it was trusted with, at the
// time it was: max_age older than that, and prompt=login, ask again.
func TestTrustedBrowserAskedPastMaxAgeAndWithPromptLogin(t *testing.T) {
	env, b, rp, secret, _ := trustedEnv(t)
	for _, extra := range []url.Values{
		{"acr_values": {"aal2"}, "max_age": {"3600"}},
		{"acr_values": {"aal2"}, "prompt": {"login"}},
	} {
		ar := rp.AuthURL(extra)
		p := b.Get(ar.URL)
		if p.IsLoginPage() {
			p = b.SubmitPassword(p, "alice", alicePassword)
		}
		f := p.Form(t, "/login/verify")
		if f.Values.Get("method") != "totp" {
			t.Fatalf("%v: the trusted browser skipped TOTP: %s", extra, p.Text())
		}
		env.Clock.Advance(30 * time.Second)
		// Ticked again: the browser's trust is renewed, not listed twice.
		tok := exchangeAt(t, rp, verify(t, env, b, p, map[string]string{"code": testenv.TOTPCode(t, secret, env.Clock.Now())}, true), ar)
		if tok.Claims.ACR != "aal2" {
			t.Fatalf("%v: %+v", extra, tok.Claims)
		}
		if bs, _ := env.Store.ListTrustedBrowsers(t.Context(), "u-alice"); len(bs) != 1 || bs[0].CreatedAt.Before(env.Clock.Now().Add(-time.Minute)) {
			t.Fatalf("%v: trusted browsers after ticking again: %+v", extra, bs)
		}
		env.Clock.Advance(13 * time.Hour) // the next one starts from the password again
	}
	if ev := listEvents(t, env, "trusted_browser.used"); len(ev) != 0 {
		t.Fatalf("the trust was used: %+v", ev)
	}
}

// A trusted browser never counts toward aal3, even when the factor it
// was trusted with reaches aal3: the method is asked again.
func TestTrustedBrowserNeverReachesAAL3(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods(fixtureName), withFixture(t), withTrust(true), testenv.WithConfig(func(c *config.Config) {
		mc := c.Methods[fixtureName]
		mc.Settings = map[string]any{"levels": "aal2,aal3"}
		c.Methods[fixtureName] = mc
	}))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	p := b.Get(env.URL + "/account/enrol?method=fixture")
	p = b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"phone": "+15550100"})
	b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"code": fixtureCode})

	// Trusted after an aal3-capable factor, asked for at aal3.
	ar := rp.AuthURL(url.Values{"acr_values": {"aal3"}})
	p = b.Get(ar.URL)
	if !hasTrustBox(p) {
		t.Fatalf("no \"don't ask again\" on the fixture's page:\n%s", p.Body)
	}
	if tok := exchangeAt(t, rp, verify(t, env, b, p, map[string]string{"code": fixtureCode}, true), ar); tok.Claims.ACR != "aal3" {
		t.Fatalf("the fixture at aal3: %+v", tok.Claims)
	}
	env.Clock.Advance(13 * time.Hour)

	ar = rp.AuthURL(url.Values{"acr_values": {"aal3"}})
	p = signInAgain(t, env, b, ar, "alice", alicePassword)
	if f := p.Form(t, "/login/verify"); f.Values.Get("method") != fixtureName {
		t.Fatalf("aal3 on a trusted browser skipped the factor: %s", p.Text())
	}
	// The same session at aal2: spared.
	ar = rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	tok, err := rp.Exchange(testenv.MustCallback(t, b.Get(ar.URL)).Code(t), ar)
	if err != nil || tok.Claims.ACR != "aal2" {
		t.Fatalf("aal2 on the trusted browser: %v %+v", err, tok)
	}
}

func TestTrustedBrowserExpiresAfterItsDays(t *testing.T) {
	env, b, rp, _, cookie := trustedEnv(t)
	// Still trusted the day before; the cookie jar keeps the cookie by the
	// wall clock, so the store's clock is what refuses it after.
	env.Clock.Advance((trustDays-1)*24*time.Hour - 13*time.Hour)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	testenv.MustCallback(t, signInAgain(t, env, b, ar, "alice", alicePassword))

	env.Clock.Advance(24*time.Hour + time.Minute)
	ar = rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := signInAgain(t, env, b, ar, "alice", alicePassword)
	if f := p.Form(t, "/login/verify"); f.Values.Get("method") != "totp" {
		t.Fatalf("an expired trust skipped TOTP: %s", p.Text())
	}
	ev := listEvents(t, env, "trusted_browser.refused")
	if len(ev) != 1 || ev[0].Details["reason"] != "unknown or expired" {
		t.Fatalf("refused cookie not audited: %+v", ev)
	}
	u, _ := url.Parse(env.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == trustCookieName && c.Value == cookie.Value {
			t.Fatal("the expired trust cookie was not cleared")
		}
	}
	// Purged with the rest.
	if _, err := env.Store.PurgeExpired(t.Context(), env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if left, _ := env.Store.ListTrustedBrowsers(t.Context(), "u-alice"); len(left) != 0 {
		t.Fatalf("left after expiry: %+v", left)
	}
}

// stealInto puts alice's trust cookie into browser b.
func stealInto(t *testing.T, env *testenv.Env, b *testenv.Browser, cookie *http.Cookie) {
	u, _ := url.Parse(env.URL)
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/"}})
}

func TestTrustCookieOfAnotherUserDoesNothing(t *testing.T) {
	env, _, rp, _, cookie := trustedEnv(t)
	env.AddUser(t, "bob", "bob's long password")
	bob := env.NewBrowser(t)
	login(t, env, bob, rp, nil, "bob", "bob's long password")
	bob.EnrolTOTP()
	env.Clock.Advance(13 * time.Hour)

	stealInto(t, env, bob, cookie)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := signInAgain(t, env, bob, ar, "bob", "bob's long password")
	if f := p.Form(t, "/login/verify"); f.Values.Get("method") != "totp" {
		t.Fatalf("alice's trust cookie spared bob's TOTP: %s", p.Text())
	}
	ev := listEvents(t, env, "trusted_browser.refused")
	if len(ev) != 1 || ev[0].UserID != "u-bob" || ev[0].Details["reason"] != "another user's" {
		t.Fatalf("refused cookie not audited: %+v", ev)
	}
	if ev := listEvents(t, env, "trusted_browser.used"); len(ev) != 0 {
		t.Fatalf("used: %+v", ev)
	}
}

// trustedStepUp reports whether an aal2 sign-in of alice in b is spared
// the second factor after the password.
func sparedAtAAL2(t *testing.T, env *testenv.Env, b *testenv.Browser, rp *testenv.RP) bool {
	t.Helper()
	env.Clock.Advance(13 * time.Hour)
	p := signInAgain(t, env, b, rp.AuthURL(url.Values{"acr_values": {"aal2"}}), "alice", alicePassword)
	_, done := testenv.CallbackOf(t, p)
	return done
}

func TestTrustedBrowserForgottenByTheUser(t *testing.T) {
	env, b, rp, _, _ := trustedEnv(t)
	stored, _ := env.Store.ListTrustedBrowsers(t.Context(), "u-alice")
	// Another user cannot forget it by its ID.
	env.AddUser(t, "bob", "bob's long password")
	bob := env.NewBrowser(t)
	login(t, env, bob, rp, nil, "bob", "bob's long password")
	bob.EnrolTOTP() // a Remove form on his page, for its CSRF token
	acct := bob.Get(env.URL + "/account")
	if strings.Contains(acct.Body, "/account/trusted-browsers/forget") {
		t.Fatal("bob's account page shows a trusted browser")
	}
	f := acct.Forms()[0] // any form, for its CSRF token
	got := bob.Post(env.URL+"/account/trusted-browsers/forget", url.Values{"csrf_token": {f.Values.Get("csrf_token")}, "browser": {stored[0].ID}})
	if got.Status != http.StatusNotFound {
		t.Fatalf("bob forgetting alice's browser: %d %s", got.Status, got.Text())
	}

	p := signInAgain(t, env, b, rp.AuthURL(nil), "alice", alicePassword)
	testenv.MustCallback(t, p)
	acct = b.Get(env.URL + "/account")
	done := b.Submit(acct, acct.Form(t, "/account/trusted-browsers/forget"), nil)
	if !strings.Contains(done.Text(), "The browser was forgotten") || strings.Contains(done.Body, "/account/trusted-browsers/forget") {
		t.Fatalf("after forgetting: %s", done.Text())
	}
	if ev := listEvents(t, env, "trusted_browser.forgotten"); len(ev) != 1 || ev[0].Details["by"] != "user" || ev[0].Details["browser"] != stored[0].ID {
		t.Fatalf("forgetting not audited: %+v", ev)
	}
	if sparedAtAAL2(t, env, b, rp) {
		t.Fatal("a forgotten browser still spares TOTP")
	}
}

// adminTrustEnv is newAdminEnv's world with trusted browsers on and
// alice's browser trusted.
func adminTrustEnv(t *testing.T) *adminEnv {
	t.Helper()
	a := &adminEnv{env: testenv.New(t, testenv.WithMethods("totp", "tempcode"), withTrust(true))}
	env := a.env
	env.AddUser(t, "helpdesk", adminPassword, "manage_mfa")
	env.AddUser(t, "alice", alicePassword)
	a.rp = env.NewRP(t, testenv.PublicClient, "")
	a.console = env.NewRP(t, testenv.AdminConsole, "")
	a.adminB = env.NewBrowser(t)
	login(t, env, a.adminB, a.rp, nil, "helpdesk", adminPassword)
	a.adminSecret = a.adminB.EnrolTOTP()
	a.aliceB = env.NewBrowser(t)
	a.aliceAALOne = login(t, env, a.aliceB, a.rp, nil, "alice", alicePassword)
	a.aliceSecret = a.aliceB.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)
	trustWithTOTP(t, env, a.aliceB, a.rp, a.aliceSecret)
	return a
}

func TestTrustedBrowsersForgottenByTheAdminAPI(t *testing.T) {
	a := adminTrustEnv(t)
	tok := a.adminToken(t, "aal2")
	got := callAPI(t, a.env, tok, "GET", "/admin/v1/users/alice/trusted-browsers", nil)
	list, _ := got.Body["trusted_browsers"].([]any)
	if got.Status != http.StatusOK || len(list) != 1 || strings.Contains(got.Raw, "hash") {
		t.Fatalf("list: %d %s", got.Status, got.Raw)
	}
	if got := callAPI(t, a.env, tok, "DELETE", "/admin/v1/users/nobody/trusted-browsers", nil); got.Status != http.StatusNotFound {
		t.Fatalf("an unknown user: %d %s", got.Status, got.Raw)
	}
	if got := callAPI(t, a.env, tok, "DELETE", "/admin/v1/users/alice/trusted-browsers", nil); got.Status != http.StatusNoContent {
		t.Fatalf("forget: %d %s", got.Status, got.Raw)
	}
	ev := listEvents(t, a.env, "trusted_browser.forgotten")
	if len(ev) != 1 || ev[0].Actor != "helpdesk" || ev[0].UserID != "u-alice" || ev[0].Details["by"] != "admin" {
		t.Fatalf("forgetting not audited: %+v", ev)
	}
	if sparedAtAAL2(t, a.env, a.aliceB, a.rp) {
		t.Fatal("a browser the admin forgot still spares TOTP")
	}
}

func TestTrustedBrowsersForgottenOnTheAdminPage(t *testing.T) {
	a := adminTrustEnv(t)
	env := a.env
	// The help desk's page asks helpdesk (signed in with the password)
	// for TOTP first: aal2 within admin.max_auth_age.
	p := stepUp(t, a.adminB, a.adminB.Get(env.URL+"/admin?user=alice"), testenv.TOTPCode(t, a.adminSecret, env.Clock.Now()))
	if !strings.Contains(p.Text(), "Trusted browsers") || !strings.Contains(p.Text(), "Go HTTP client") {
		t.Fatalf("admin page:\n%s", p.Text())
	}
	done := a.adminB.Submit(p, p.Form(t, "/admin/trusted-browsers/forget"), nil)
	if !strings.Contains(done.Text(), "trusted browsers were forgotten") || !strings.Contains(done.Text(), "No trusted browsers") {
		t.Fatalf("after forgetting:\n%s", done.Text())
	}
	if ev := listEvents(t, env, "trusted_browser.forgotten"); len(ev) != 1 || ev[0].Actor != "helpdesk" {
		t.Fatalf("forgetting not audited: %+v", ev)
	}
	if sparedAtAAL2(t, env, a.aliceB, a.rp) {
		t.Fatal("a browser the admin forgot still spares TOTP")
	}
}

// Deactivating a user signs them out everywhere, trusted browsers too.
func TestDeactivationForgetsTrustedBrowsers(t *testing.T) {
	a := adminTrustEnv(t)
	tok := a.adminToken(t, "aal2")
	for _, active := range []bool{false, true} {
		if got := callAPI(t, a.env, tok, "PATCH", "/admin/v1/users/alice", map[string]bool{"active": active}); got.Status != http.StatusOK {
			t.Fatalf("PATCH active=%v: %d %s", active, got.Status, got.Raw)
		}
	}
	if left, _ := a.env.Store.ListTrustedBrowsers(t.Context(), "u-alice"); len(left) != 0 {
		t.Fatalf("trusted browsers left after deactivation: %+v", left)
	}
	if sparedAtAAL2(t, a.env, a.aliceB, a.rp) {
		t.Fatal("a deactivated user's browser still spares TOTP")
	}
}

// A temporary code never makes a browser trusted: no checkbox, and a
// forged post is refused without using the code up.
func TestTemporaryCodeNeverTrustsABrowser(t *testing.T) {
	a := adminTrustEnv(t)
	env := a.env
	tok := a.adminToken(t, "aal2")
	// A fresh browser, so the trust cookie of trustWithTOTP plays no part.
	b := env.NewBrowser(t)
	code := callAPI(t, env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"}).Body["code"].(string)
	ar := a.rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := signInAgain(t, env, b, ar, "alice", alicePassword)
	if f := p.Form(t, "/login/verify"); f.Values.Get("method") != "tempcode" {
		t.Fatalf("temporary code not offered first: %s", p.Text())
	}
	if hasTrustBox(p) {
		t.Fatal("the temporary code's page offers \"don't ask again\"")
	}
	f := p.Form(t, "/login/verify")
	f.Values.Set("trust", "1")
	refused := b.Submit(p, f, map[string]string{"code": code})
	if refused.Status != http.StatusBadRequest || !strings.Contains(refused.Text(), "cannot make this browser trusted") {
		t.Fatalf("a forged trust post: %d %s", refused.Status, refused.Text())
	}
	if ev := listEvents(t, env, "trusted_browser.refused"); len(ev) != 1 || ev[0].Details["method"] != "tempcode" {
		t.Fatalf("refusal not audited: %+v", ev)
	}
	// The code still works, and leaves no trust behind.
	tok2 := exchangeAt(t, a.rp, verify(t, env, b, refused, map[string]string{"code": code}, false), ar)
	if tok2.Claims.ACR != "aal2" {
		t.Fatalf("%+v", tok2.Claims)
	}
	if bs, _ := env.Store.ListTrustedBrowsers(t.Context(), "u-alice"); len(bs) != 1 {
		t.Fatalf("trusted browsers after the temporary code: %d, want only the TOTP one", len(bs))
	}
	u, _ := url.Parse(env.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == trustCookieName {
			t.Fatal("the temporary code's browser got a trust cookie")
		}
	}
}

// Off (the default): no checkbox, a ticked post trusts nothing, and a
// trust cookie from before is ignored.
func TestTrustedBrowsersDisabled(t *testing.T) {
	env, b, rp, secret := totpEnv(t, withTrust(false))
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := b.Get(ar.URL)
	if hasTrustBox(p) {
		t.Fatal("a checkbox with trusted browsers off")
	}
	resp := verify(t, env, b, p, map[string]string{"code": testenv.TOTPCode(t, secret, env.Clock.Now())}, true)
	exchangeAt(t, rp, resp, ar)
	for _, c := range resp.Cookies() {
		if c.Name == trustCookieName {
			t.Fatal("a trust cookie with trusted browsers off")
		}
	}
	if bs, _ := env.Store.ListTrustedBrowsers(t.Context(), "u-alice"); len(bs) != 0 {
		t.Fatalf("stored with trusted browsers off: %+v", bs)
	}
	// A trust stored while it was on, and its cookie: ignored.
	value := "a-trust-cookie-from-when-it-was-on"
	if err := env.Store.CreateTrustedBrowser(t.Context(), storage.TrustedBrowser{Hash: hashOf(value), ID: "tb-old", UserID: "u-alice",
		Name: "Chrome on Linux", Method: "totp", Levels: []string{"aal2"}, AMR: []string{"otp"}, CreatedAt: env.Clock.Now(),
		ExpiresAt: env.Clock.Now().Add(trustDays * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	stealInto(t, env, b, &http.Cookie{Name: trustCookieName, Value: value})
	if sparedAtAAL2(t, env, b, rp) {
		t.Fatal("a trust cookie spared TOTP with trusted browsers off")
	}
	if strings.Contains(b.Get(env.URL+"/account").Text(), "Trusted browsers") {
		t.Fatal("the account page lists trusted browsers with them off")
	}
}

// TestTrustedBrowserInChromium ticks "Don't ask again on this browser" in
// a real browser, whose cookie then comes back on the next sign-in (set
// on the code's POST, which redirects to the client's own origin): the
// password is all it asks.
func TestTrustedBrowserInChromium(t *testing.T) {
	callbacks := make(chan url.Values, 2)
	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cb" {
			select {
			case callbacks <- r.URL.Query():
			default:
			}
		}
		w.Write([]byte("<!doctype html><title>client</title><p id=back>back at the client</p>"))
	}))
	t.Cleanup(client.Close)
	env := testenv.New(t, testenv.WithMethods("totp"), withTrust(true), testenv.WithConfig(func(c *config.Config) {
		c.Clients = append(c.Clients, config.Client{ID: "browser-app", RedirectURIs: []string{client.URL + "/cb"}})
	}))
	env.AddUser(t, "alice", alicePassword)
	gb := env.NewBrowser(t)
	gb.SubmitPassword(gb.Get(env.URL+"/account"), "alice", alicePassword)
	secret := gb.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)

	rp := env.NewRP(t, "browser-app", "")
	rp.OAuth.RedirectURL = client.URL + "/cb"
	ctx := testenv.NewChrome(t)
	do := chromeStep(t, ctx)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	do("password",
		chromedp.Navigate(ar.URL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("f-code")))
	do("code, trusting the browser",
		chromedp.SendKeys(chromedp.ID("f-code"), testenv.TOTPCode(t, secret, env.Clock.Now())),
		chromedp.Click(chromedp.ID("trust")),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("back")))
	<-callbacks

	env.Clock.Advance(13 * time.Hour) // the session is gone; the trust is not
	ar = rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	do("password only",
		chromedp.Navigate(ar.URL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("back")))
	got := <-callbacks
	tok, err := rp.Exchange(got.Get("code"), ar)
	if err != nil || tok.Claims.ACR != "aal2" || !slices.Equal(tok.Claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("the trusted browser's sign-in: %v %+v", err, tok)
	}
	if bs, _ := env.Store.ListTrustedBrowsers(t.Context(), "u-alice"); len(bs) != 1 || !strings.Contains(bs[0].Name, "Chrome on Linux") {
		t.Fatalf("trusted browsers: %+v", bs)
	}
}
