package provider_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// signedIn is alice, signed in through the public client in her browser.
type signedIn struct {
	env *testenv.Env
	rp  *testenv.RP
	b   *testenv.Browser
	tok *testenv.Tokens
}

func signIn(t *testing.T) signedIn {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	return signedIn{env: env, rp: rp, b: b, tok: login(t, env, b, rp, nil, "alice", alicePassword)}
}

// stillSignedIn says whether the browser's session still signs it in
// without a question (prompt=none).
func (s signedIn) stillSignedIn(t *testing.T) bool {
	t.Helper()
	cb := testenv.MustCallback(t, s.b.Get(s.rp.AuthURL(url.Values{"prompt": {"none"}}).URL))
	return cb.Params.Get("code") != ""
}

// crossSite sends what a link or a form on another site makes the browser
// send: its cookies (SameSite=Lax lets them go along on a top-level
// navigation), from elsewhere.
func (s signedIn) crossSite(t *testing.T, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.env.URL+path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Referer", "http://evil.test/page")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := s.b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// expiresSessionCookie says whether resp tells the browser to drop
// stepup_session.
func expiresSessionCookie(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == "stepup_session" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

func isConfirmation(body string) bool {
	return strings.Contains(body, "Sign out of stepup?") && strings.Contains(body, `action="/logout"`) &&
		strings.Contains(body, `name="csrf_token"`)
}

// TestLogoutFromAnotherSiteAsksFirst: end_session without an
// id_token_hint, as any site can link to it, does not end the session: it
// asks the user (RP-Initiated Logout 1.0 §2). The session still works
// afterwards; a forged confirmation is refused.
func TestLogoutFromAnotherSiteAsksFirst(t *testing.T) {
	s := signIn(t)
	for _, tc := range []struct {
		method string
		form   url.Values
	}{
		{http.MethodGet, nil},
		{http.MethodGet, url.Values{"client_id": {testenv.PublicClient}, "post_logout_redirect_uri": {testenv.PostLogoutURI}}},
		{http.MethodPost, url.Values{"state": {"x"}}},
	} {
		path := "/end_session"
		if tc.method == http.MethodGet && tc.form != nil {
			path += "?" + tc.form.Encode()
		}
		resp, body := s.crossSite(t, tc.method, path, tc.form)
		if resp.StatusCode != http.StatusOK || !isConfirmation(body) || expiresSessionCookie(resp) {
			t.Fatalf("%s %s: %d, want the confirmation page and the cookie kept:\n%s", tc.method, path, resp.StatusCode, body)
		}
		if tc.form.Get("client_id") != "" && !strings.Contains(body, testenv.PublicClient+" asks to sign you out") {
			t.Errorf("the page does not name the client:\n%s", body)
		}
		if !s.stillSignedIn(t) {
			t.Fatalf("%s %s ended the session", tc.method, path)
		}
	}
	// The confirmation itself, posted from elsewhere without its token.
	resp, body := s.crossSite(t, http.MethodPost, "/logout", url.Values{"client_id": {testenv.PublicClient}})
	if resp.StatusCode != http.StatusForbidden || !s.stillSignedIn(t) {
		t.Fatalf("forged confirmation: %d\n%s", resp.StatusCode, body)
	}
}

// TestLogoutConfirmed: the user's "Sign out" ends the session, expires its
// cookie, and returns to the client's registered post-logout URI.
func TestLogoutConfirmed(t *testing.T) {
	s := signIn(t)
	old := s.sessionCookie(t)
	q := url.Values{"client_id": {testenv.PublicClient}, "post_logout_redirect_uri": {testenv.PostLogoutURI}, "state": {"bye"}}
	p := s.b.Get(s.env.URL + "/end_session?" + q.Encode())
	f := p.Form(t, "/logout")
	if !strings.Contains(p.Text(), "signed in as alice") {
		t.Errorf("the page does not say who is signed in: %s", p.Text())
	}
	target, _ := p.URL.Parse(f.Action)
	resp, err := s.b.Client.PostForm(target.String(), f.Values)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if loc == nil || !strings.HasPrefix(loc.String(), testenv.PostLogoutURI) || loc.Query().Get("state") != "bye" {
		t.Fatalf("after confirming: %d to %v, want %s with the state", resp.StatusCode, loc, testenv.PostLogoutURI)
	}
	if !expiresSessionCookie(resp) {
		t.Errorf("the session cookie is not expired: %v", resp.Header["Set-Cookie"])
	}
	if s.replayedSignsIn(t, old) {
		t.Error("the old session cookie still signs in: the session was not ended")
	}
	if ev := listEvents(t, s.env, "session.ended"); len(ev) != 1 {
		t.Errorf("session.ended events: %v", ev)
	}
	if p := s.b.Get(s.rp.AuthURL(nil).URL); !p.IsLoginPage() {
		t.Fatalf("still signed in after logout: %s", p.Text())
	}
}

// sessionCookie is the browser's stepup_session cookie.
func (s signedIn) sessionCookie(t *testing.T) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(s.env.URL)
	for _, c := range s.b.Client.Jar.Cookies(u) {
		if c.Name == "stepup_session" {
			return c
		}
	}
	t.Fatal("the browser has no stepup_session cookie")
	return nil
}

// replayedSignsIn says whether a fresh browser given cookie is signed in:
// after a logout the server must have ended the session, not only the
// browser dropped the cookie.
func (s signedIn) replayedSignsIn(t *testing.T, cookie *http.Cookie) bool {
	t.Helper()
	other := signedIn{env: s.env, rp: s.rp, b: s.env.NewBrowser(t)}
	u, _ := url.Parse(s.env.URL)
	other.b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/"}})
	return other.stillSignedIn(t)
}

// TestLogoutWithHint: the client's own ID token as id_token_hint ends the
// session at once, expires the cookie and returns to the registered URI.
func TestLogoutWithHint(t *testing.T) {
	s := signIn(t)
	old := s.sessionCookie(t)
	q := url.Values{"id_token_hint": {s.tok.RawID}, "post_logout_redirect_uri": {testenv.PostLogoutURI}, "state": {"bye"}}
	resp, body := s.crossSite(t, http.MethodGet, "/end_session?"+q.Encode(), nil)
	loc, _ := resp.Location()
	if loc == nil || !strings.HasPrefix(loc.String(), testenv.PostLogoutURI) || loc.Query().Get("state") != "bye" {
		t.Fatalf("end_session with a hint: %d to %v\n%s", resp.StatusCode, loc, body)
	}
	if !expiresSessionCookie(resp) {
		t.Errorf("the session cookie is not expired: %v", resp.Header["Set-Cookie"])
	}
	if s.replayedSignsIn(t, old) {
		t.Error("the old session cookie still signs in: the session was not ended")
	}
}

// TestLogoutHintsThatDoNotCount: a hint stepup did not sign, or one for
// another user, is no confirmation: the user is asked.
func TestLogoutHintsThatDoNotCount(t *testing.T) {
	s := signIn(t)
	s.env.AddUser(t, "bob", alicePassword)
	bobs := login(t, s.env, s.env.NewBrowser(t), s.rp, nil, "bob", alicePassword)
	parts := strings.Split(s.tok.RawID, ".")
	forged := parts[0] + "." + strings.Split(bobs.RawID, ".")[1] + "." + parts[2]
	for name, hint := range map[string]string{"bob's": bobs.RawID, "forged": forged, "garbage": "not-a-jwt"} {
		resp, body := s.crossSite(t, http.MethodGet, "/end_session?"+url.Values{"id_token_hint": {hint}}.Encode(), nil)
		if resp.StatusCode != http.StatusOK || !isConfirmation(body) {
			t.Errorf("%s hint: %d, want the confirmation page\n%s", name, resp.StatusCode, body)
		}
		if !s.stillSignedIn(t) {
			t.Fatalf("%s hint ended alice's session", name)
		}
	}
	if ev := listEvents(t, s.env, "session.logout_hint_refused"); len(ev) != 2 {
		t.Errorf("refused hints audited: %d events, want 2 (forged, garbage)", len(ev))
	}
}

// TestLogoutRedirectMustBeRegistered: post_logout_redirect_uri is followed
// only when registered for the client named by the hint or client_id.
func TestLogoutRedirectMustBeRegistered(t *testing.T) {
	s := signIn(t)
	evil := "http://evil.test/landing"
	for name, q := range map[string]url.Values{
		"with a hint":      {"id_token_hint": {s.tok.RawID}, "post_logout_redirect_uri": {evil}},
		"with a client_id": {"client_id": {testenv.PublicClient}, "post_logout_redirect_uri": {evil}},
	} {
		p := s.b.Get(s.env.URL + "/end_session?" + q.Encode())
		if p.Status != http.StatusBadRequest || p.Location != nil || !strings.Contains(p.Text(), "post_logout_redirect_uri") ||
			!strings.Contains(p.Text(), "still signed in") {
			t.Errorf("%s: %d to %v, want a page refusing the URI:\n%s", name, p.Status, p.Location, p.Text())
		}
		if !s.stillSignedIn(t) {
			t.Fatalf("%s: the session ended", name)
		}
	}
	// Without a hint or client_id the URI is not honoured at all.
	p := s.b.Get(s.env.URL + "/end_session?" + url.Values{"post_logout_redirect_uri": {testenv.PostLogoutURI}}.Encode())
	done := s.b.Submit(p, p.Form(t, "/logout"), nil)
	if done.Location != nil || done.URL.Path != "/logged-out" || !strings.Contains(done.Text(), "You have been signed out") {
		t.Fatalf("no client: ended at %v (redirect %v), want stepup's own page", done.URL, done.Location)
	}
}

// TestLogoutInChromiumReturnsToTheClient: in a real browser the confirmed
// sign-out reaches the client's post-logout URI on its own origin (the
// page's CSP form-action allows it: Chromium checks it against the
// redirect the form leads to), and the browser is signed out.
func TestLogoutInChromiumReturnsToTheClient(t *testing.T) {
	byes := make(chan url.Values, 1)
	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bye" {
			select {
			case byes <- r.URL.Query():
			default:
			}
		}
		w.Write([]byte("<!doctype html><title>client</title><p id=back>back at the client</p>"))
	}))
	t.Cleanup(client.Close)
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
		c.Clients = append(c.Clients, config.Client{ID: "browser-app", RedirectURIs: []string{client.URL + "/cb"},
			PostLogoutRedirectURIs: []string{client.URL + "/bye"}})
	}))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, "browser-app", "")
	rp.OAuth.RedirectURL = client.URL + "/cb"
	signIn := rp.AuthURL(nil).URL

	do := chromeStep(t, testenv.NewChrome(t))
	do("sign in",
		chromedp.Navigate(signIn),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("back")))
	q := url.Values{"client_id": {"browser-app"}, "post_logout_redirect_uri": {client.URL + "/bye"}, "state": {"s1"}}
	do("confirm",
		chromedp.Navigate(env.URL+"/end_session?"+q.Encode()),
		chromedp.WaitVisible(chromedp.CSS("form[action='/logout'] button")),
		chromedp.Click(chromedp.CSS("form[action='/logout'] button")),
		chromedp.WaitVisible(chromedp.ID("back")))
	select {
	case got := <-byes:
		if got.Get("state") != "s1" {
			t.Fatalf("post-logout redirect %v, want state s1", got)
		}
	default:
		t.Fatal("the client's post-logout URI was not reached")
	}
	do("signed out", chromedp.Navigate(signIn), chromedp.WaitVisible(chromedp.ID("password")))
}
