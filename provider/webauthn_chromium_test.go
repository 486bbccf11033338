package provider_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdpwa "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/testenv"
)

// webauthnBrowser is a stepup on http://localhost:PORT (an IP address is
// no WebAuthn relying party ID), a client that records its callbacks, and
// a headless Chromium with the CDP WebAuthn domain enabled.
type webauthnBrowser struct {
	t         *testing.T
	env       *testenv.Env
	ctx       context.Context
	do        func(string, ...chromedp.Action[chromedp.Void])
	callbacks chan url.Values
	rp        *testenv.RP
}

func newWebAuthnBrowser(t *testing.T) *webauthnBrowser {
	t.Helper()
	b := &webauthnBrowser{t: t, callbacks: make(chan url.Values, 4)}
	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cb" {
			b.callbacks <- r.URL.Query()
		}
		w.Write([]byte("<!doctype html><title>client</title><p id=back>back at the client</p>"))
	}))
	t.Cleanup(client.Close)
	b.env = testenv.New(t, testenv.WithMethods("webauthn", "totp"), testenv.WithConfig(func(c *config.Config) {
		c.Issuer = strings.Replace(c.Issuer, "127.0.0.1", "localhost", 1)
		c.Clients = append(c.Clients, config.Client{ID: "browser-app", RedirectURIs: []string{client.URL + "/cb"}})
	}))
	b.rp = b.env.NewRP(t, "browser-app", "")
	b.rp.OAuth.RedirectURL = client.URL + "/cb"
	start := time.Now()
	b.ctx = testenv.NewChrome(t)
	t.Cleanup(func() { t.Logf("in Chromium for %v", time.Since(start).Round(time.Millisecond)) })
	step := chromeStep(t, b.ctx)
	b.do = func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		start := time.Now()
		step(name, actions...)
		t.Logf("%s: %v", name, time.Since(start).Round(time.Millisecond))
	}
	if _, err := chromedp.Call(b.ctx, cdpwa.Enable, cdpwa.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	return b
}

// authenticator adds a virtual authenticator: a device-bound security key,
// or with synced a passkey whose credentials are backup-eligible and
// backed up.
func (b *webauthnBrowser) authenticator(synced bool) cdpwa.AuthenticatorID {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, cdpwa.AddVirtualAuthenticator, cdpwa.AddVirtualAuthenticatorParams{Options: &cdpwa.VirtualAuthenticatorOptions{
		Protocol: cdpwa.AuthenticatorProtocolCtap2, Ctap2version: cdpwa.Ctap2versionCtap21, Transport: cdpwa.AuthenticatorTransportUsb,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		DefaultBackupEligibility: synced, DefaultBackupState: synced,
	}})
	if err != nil {
		b.t.Fatalf("add virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

func (b *webauthnBrowser) remove(id cdpwa.AuthenticatorID) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, cdpwa.RemoveVirtualAuthenticator, cdpwa.RemoveVirtualAuthenticatorParams{AuthenticatorID: id}); err != nil {
		b.t.Fatal(err)
	}
}

func (b *webauthnBrowser) credentials(id cdpwa.AuthenticatorID) []*cdpwa.Credential {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, cdpwa.GetCredentials, cdpwa.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.t.Fatal(err)
	}
	return res.Credentials
}

// signIn sends the browser to /account and signs in with the password.
func (b *webauthnBrowser) signInToAccount(user string) {
	b.t.Helper()
	b.do("password",
		chromedp.Navigate(b.env.URL+"/account"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("m-webauthn")))
}

// addKey adds a security key named label from /account; reverify, when the
// user has a method already, answers the fresh-second-factor challenge
// with the key present; before runs once the enrolment page shows.
func (b *webauthnBrowser) addKey(label string, reverify bool, before func()) {
	b.t.Helper()
	b.do("open enrolment", chromedp.Navigate(b.env.URL+"/account/enrol?method=webauthn"))
	if reverify {
		b.do("re-verify", chromedp.WaitVisible(chromedp.CSS(`form[data-webauthn="get"] button`)),
			chromedp.Click(chromedp.CSS(`form[data-webauthn="get"] button`)))
	}
	b.do("enrolment page", chromedp.WaitVisible(chromedp.ID("label")))
	if before != nil {
		before()
	}
	b.do("register "+label,
		chromedp.SendKeys(chromedp.ID("label"), label),
		chromedp.Click(chromedp.CSS(`form[data-webauthn="create"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("m-webauthn")))
}

func (b *webauthnBrowser) accountText() string {
	b.t.Helper()
	b.do("page", chromedp.WaitReady(chromedp.CSS("body")))
	html, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("body")))
	if err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s: %v", loc, err)
	}
	return html
}

// login runs an authorization request with extra to the client: password
// when asked, then the security key, and returns the callback's query.
func (b *webauthnBrowser) login(extra url.Values, user string) (url.Values, testenv.AuthRequest) {
	b.t.Helper()
	ar := b.rp.AuthURL(extra)
	b.do("authorize", chromedp.Navigate(ar.URL), chromedp.WaitVisible(chromedp.CSS(`#back, #password, form[action="/login/verify"]`)))
	if ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.getElementById("password")`)); ok {
		b.do("password",
			chromedp.SetValue(chromedp.ID("username"), user),
			chromedp.SendKeys(chromedp.ID("password"), alicePassword),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#back, form[action="/login/verify"]`)))
	}
	if ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.querySelector('form[action="/login/verify"][data-webauthn]')`)); ok {
		b.do("security key", chromedp.Click(chromedp.CSS(`form[action="/login/verify"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#back, #method-error")))
	}
	select {
	case got := <-b.callbacks:
		return got, ar
	default:
		return nil, ar
	}
}

func (b *webauthnBrowser) token(got url.Values, ar testenv.AuthRequest) testenv.IDClaims {
	b.t.Helper()
	if got == nil {
		b.t.Fatalf("no callback; page:\n%s", b.accountText())
	}
	if got.Get("error") != "" {
		b.t.Fatalf("callback error %s: %s", got.Get("error"), got.Get("error_description"))
	}
	tok, err := b.rp.Exchange(got.Get("code"), ar)
	if err != nil {
		b.t.Fatal(err)
	}
	return tok.Claims
}

// TestWebAuthnSecurityKeysInChromium: two named device-bound keys
// registered from /account, step-up to aal2 and to aal3 with one, a cloned
// key (its counter set back) refused and audited, and a key removed.
func TestWebAuthnSecurityKeysInChromium(t *testing.T) {
	b := newWebAuthnBrowser(t)
	b.env.AddUser(t, "alice", alicePassword)
	desk := b.authenticator(false)
	b.signInToAccount("alice")
	b.addKey("Desk key", false, nil)
	var backup cdpwa.AuthenticatorID
	b.addKey("Backup key", true, func() {
		// The second key is another device: the first one leaves.
		b.remove(desk)
		backup = b.authenticator(false)
	})
	b.do("rename", chromedp.SendKeys(chromedp.CSS(`form[action="/account/rename"]:has(button[aria-label="Rename: Backup key"]) input[name=label]`), "Spare key"),
		chromedp.Click(chromedp.CSS(`button[aria-label="Rename: Backup key"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Rename: Spare key"]`)))
	page := b.accountText()
	for _, want := range []string{"Desk key", "Spare key", "Security key, bound to its device", "last used"} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q:\n%s", want, page)
		}
	}

	claims := b.token(b.login(url.Values{"acr_values": {"aal2"}, "max_age": {"0"}}, "alice"))
	if claims.ACR != "aal2" || !slices.Contains(claims.AMR, "hwk") || !slices.Contains(claims.AMR, "mfa") {
		t.Errorf("aal2 step-up: acr %q amr %v", claims.ACR, claims.AMR)
	}
	claims = b.token(b.login(url.Values{"acr_values": {"aal3"}, "max_age": {"0"}}, "alice"))
	if claims.ACR != "aal3" || !slices.Contains(claims.AMR, "hwk") || !slices.Contains(claims.AMR, "user") || !slices.Contains(claims.AMR, "pwd") {
		t.Errorf("aal3 step-up: acr %q amr %v", claims.ACR, claims.AMR)
	}
	if !strings.Contains(b.accountText(), "back at the client") {
		t.Fatal("not back at the client")
	}

	// A clone: the same key material, its counter behind the stored one.
	creds := b.credentials(backup)
	if len(creds) != 1 {
		t.Fatalf("backup authenticator holds %d credentials", len(creds))
	}
	one := 1.0
	if _, err := chromedp.Call(b.ctx, cdpwa.SetCredentialProperties, cdpwa.SetCredentialPropertiesParams{
		AuthenticatorID: backup, CredentialID: creds[0].CredentialID, SignCount: &one}); err != nil {
		t.Fatal(err)
	}
	got, _ := b.login(url.Values{"acr_values": {"aal3"}, "max_age": {"0"}}, "alice")
	if got != nil {
		t.Fatalf("a cloned key signed in: %v", got)
	}
	if msg, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.ID("method-error"))); msg == "" {
		t.Error("no message for the refused key")
	}
	events, err := b.env.Store.ListEvents(context.Background(), storage.EventFilter{Type: "verification.failed"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(e storage.Event) bool { return strings.Contains(e.Details["error"], "sign counter") }) {
		t.Errorf("the cloned key's refusal is not audited with its reason: %+v", events)
	}

	// Remove the desk key (after a fresh second factor with the backup key,
	// its counter now ahead again).
	big := 1000.0
	if _, err := chromedp.Call(b.ctx, cdpwa.SetCredentialProperties, cdpwa.SetCredentialPropertiesParams{
		AuthenticatorID: backup, CredentialID: creds[0].CredentialID, SignCount: &big}); err != nil {
		t.Fatal(err)
	}
	b.do("account", chromedp.Navigate(b.env.URL+"/account"), chromedp.WaitVisible(chromedp.ID("m-webauthn")))
	b.env.Clock.Advance(11 * time.Minute) // past the re-verification window: a fresh second factor first
	b.do("remove desk key", chromedp.Click(chromedp.CSS(`button[aria-label="Remove: Desk key"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#password, form[action="/login/verify"] button`)))
	if ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.getElementById("password")`)); ok {
		b.do("password again", chromedp.SendKeys(chromedp.ID("password"), alicePassword),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/login/verify"] button`)))
	}
	b.do("fresh second factor", chromedp.Click(chromedp.CSS(`form[action="/login/verify"] button`)),
		chromedp.WaitVisible(chromedp.ID("m-webauthn")))
	b.do("remove desk key, verified", chromedp.Click(chromedp.CSS(`button[aria-label="Remove: Desk key"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p[role=status]`)))
	page = b.accountText()
	if strings.Contains(page, "Desk key") || !strings.Contains(page, "Spare key") {
		t.Errorf("after removing the desk key:\n%s", page)
	}
}

// TestWebAuthnSyncedPasskeyInChromium: a synced passkey (backup-eligible)
// steps up to aal2 with swk, never to aal3 (essential aal3 ends in
// unmet_authentication_requirements), and signs in without a password.
func TestWebAuthnSyncedPasskeyInChromium(t *testing.T) {
	b := newWebAuthnBrowser(t)
	b.env.AddUser(t, "bob", alicePassword)
	phone := b.authenticator(true)
	b.signInToAccount("bob")
	b.addKey("Phone passkey", false, nil)
	if page := b.accountText(); !strings.Contains(page, "Synced passkey") {
		t.Errorf("the account page does not say the passkey is synced:\n%s", page)
	}

	claims := b.token(b.login(url.Values{"acr_values": {"aal2"}, "max_age": {"0"}}, "bob"))
	if claims.ACR != "aal2" || !slices.Contains(claims.AMR, "swk") || slices.Contains(claims.AMR, "hwk") {
		t.Errorf("synced passkey step-up: acr %q amr %v", claims.ACR, claims.AMR)
	}
	// Voluntary aal3: the level truly reached, aal2.
	claims = b.token(b.login(url.Values{"acr_values": {"aal3"}}, "bob"))
	if claims.ACR != "aal2" {
		t.Errorf("voluntary aal3 with a synced passkey: acr %q, want aal2", claims.ACR)
	}
	// Essential aal3: refused.
	claimsParam := `{"id_token":{"acr":{"essential":true,"values":["aal3"]}}}`
	got, _ := b.login(url.Values{"claims": {claimsParam}}, "bob")
	if got == nil || got.Get("error") != "unmet_authentication_requirements" {
		t.Errorf("essential aal3 with a synced passkey: callback %v, want unmet_authentication_requirements", got)
	}

	// Passwordless: a new browser session, the passkey alone.
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	ar := b.rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	b.do("sign-in page", chromedp.Navigate(ar.URL), chromedp.WaitVisible(chromedp.ID("passkey")))
	autocomplete, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("username").getAttribute("autocomplete")`))
	if autocomplete != "username webauthn" {
		t.Errorf("username autocomplete %q, want \"username webauthn\" (conditional UI)", autocomplete)
	}
	// The authenticator refuses (no user verification, which passwordless
	// requires): the browser's NotAllowedError becomes a sentence.
	if _, err := chromedp.Call(b.ctx, cdpwa.SetUserVerified, cdpwa.SetUserVerifiedParams{AuthenticatorID: phone, IsUserVerified: false}); err != nil {
		t.Fatal(err)
	}
	b.do("passkey refused", chromedp.Click(chromedp.ID("passkey")), chromedp.WaitVisible(chromedp.ID("login-error")))
	if msg, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.ID("login-error"))); !strings.Contains(msg, "cancelled or timed out") {
		t.Errorf("a refused ceremony says %q", msg)
	}
	if _, err := chromedp.Call(b.ctx, cdpwa.SetUserVerified, cdpwa.SetUserVerifiedParams{AuthenticatorID: phone, IsUserVerified: true}); err != nil {
		t.Fatal(err)
	}
	b.do("passkey", chromedp.WaitVisible(chromedp.ID("passkey")), chromedp.Click(chromedp.ID("passkey")), chromedp.WaitVisible(chromedp.ID("back")))
	var cb url.Values
	select {
	case cb = <-b.callbacks:
	default:
	}
	claims = b.token(cb, ar)
	for _, want := range []string{"swk", "user", "mfa"} {
		if !slices.Contains(claims.AMR, want) {
			t.Errorf("passwordless amr %v lacks %s", claims.AMR, want)
		}
	}
	if claims.ACR != "aal2" || slices.Contains(claims.AMR, "pwd") {
		t.Errorf("passwordless: acr %q amr %v; want aal2 without pwd", claims.ACR, claims.AMR)
	}

	// A deactivated user's passkey is told so, and signs nobody in.
	ctx := context.Background()
	u, err := b.env.Store.GetUserByUsername(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Store.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) { u.Active = false; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	ar = b.rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	b.do("inactive passkey", chromedp.Navigate(ar.URL), chromedp.WaitVisible(chromedp.ID("passkey")),
		chromedp.Click(chromedp.ID("passkey")), chromedp.WaitVisible(chromedp.CSS("#login-error, .error")))
	if page := b.accountText(); !strings.Contains(page, "deactivated") {
		t.Errorf("a deactivated user's passkey: page\n%s", page)
	}
	select {
	case cb := <-b.callbacks:
		t.Errorf("a deactivated user's passkey reached the client: %v", cb)
	default:
	}
}

// TestWebAuthnPagesCSP: only a page with a ceremony allows a script, and
// only stepup's own (no inline script); the script is served from stepup.
func TestWebAuthnPagesCSP(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("webauthn"))
	resp, err := http.Get(env.URL + "/static/webauthn.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("script: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	gb := env.NewBrowser(t)
	get := func(u string) (string, string) {
		t.Helper()
		resp, err := gb.Client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Security-Policy"), string(body)
	}
	csp, body := get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL) // the sign-in page, with a passkey form
	scripts := csp[strings.Index(csp, "script-src"):]
	if !strings.Contains(body, `action="/login/passkey"`) || !strings.HasPrefix(scripts, "script-src 'self'") ||
		strings.Contains(strings.Split(scripts, ";")[0], "unsafe") || strings.Contains(body, "<script>") {
		t.Errorf("sign-in page with a passkey form: CSP %q", csp)
	}
	if csp, _ := get(env.URL + "/logged-out"); strings.Contains(csp, "script-src") {
		t.Errorf("a page without a ceremony allows scripts: %q", csp)
	}
}
