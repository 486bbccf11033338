package provider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/testenv"
)

const alicePassword = "correct horse battery staple"

// login runs the code flow through the login page and exchanges the code.
func login(t *testing.T, env *testenv.Env, b *testenv.Browser, rp *testenv.RP, extra url.Values, user, pw string) *testenv.Tokens {
	t.Helper()
	ar := rp.AuthURL(extra)
	p := b.Get(ar.URL)
	if p.IsLoginPage() {
		p = b.SubmitPassword(p, user, pw)
	}
	cb := testenv.MustCallback(t, p)
	if got := cb.Params.Get("state"); got != ar.State {
		t.Fatalf("state = %q, want %q", got, ar.State)
	}
	tok, err := rp.Exchange(cb.Code(t), ar)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.Claims.Nonce != ar.Nonce {
		t.Fatalf("nonce = %q, want %q", tok.Claims.Nonce, ar.Nonce)
	}
	return tok
}

func TestPasswordLoginAAL1(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)

	before := env.Clock.Now().Unix()
	tok := login(t, env, b, rp, url.Values{"acr_values": {"aal1"}}, "alice", alicePassword)
	c := tok.Claims
	if c.Subject != alice.ID || c.ACR != "aal1" || !slices.Equal(c.AMR, []string{"pwd"}) || c.AuthTime < before || c.AuthTime > env.Clock.Now().Unix() {
		t.Fatalf("claims = %+v", c)
	}
	// The access token is an RFC 9068 JWT carrying the same acr/amr/auth_time.
	if h := jwtHeader(t, tok.OAuth.AccessToken); h["typ"] != "at+jwt" || h["alg"] != "RS256" || h["kid"] == "" {
		t.Fatalf("access token header = %v, want typ at+jwt, alg RS256 (the default)", h)
	}
	at := decodeJWT(t, tok.OAuth.AccessToken)
	if at["acr"] != "aal1" || at["auth_time"] == nil || at["sub"] != alice.ID || at["client_id"] != testenv.PublicClient ||
		at["iss"] != env.URL || at["jti"] == "" || at["jti"] == nil || at["exp"] == nil || at["iat"] == nil ||
		!strings.Contains(fmt.Sprint(at["aud"]), testenv.PublicClient) || !strings.Contains(fmt.Sprint(at["scope"]), "openid") {
		t.Fatalf("access token claims = %v", at)
	}
	if err := tok.IDToken.VerifyAccessToken(tok.OAuth.AccessToken); err != nil {
		t.Fatalf("the ID token's at_hash does not match the access token: %v", err)
	}
	// Userinfo accepts it.
	ui, err := rp.Provider.UserInfo(t.Context(), rp.OAuth.TokenSource(t.Context(), tok.OAuth))
	if err != nil || ui.Subject != alice.ID || ui.Email != "alice@example.com" {
		t.Fatalf("userinfo: %v %+v", err, ui)
	}
	var extra struct {
		Username string `json:"preferred_username"`
	}
	if err := ui.Claims(&extra); err != nil || extra.Username != "alice" {
		t.Fatalf("userinfo preferred_username = %q (%v)", extra.Username, err)
	}
}

func TestNoACRRequestedGetsReachedLevel(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	tok := login(t, env, env.NewBrowser(t), env.NewRP(t, testenv.PublicClient, ""), nil, "alice", alicePassword)
	if tok.Claims.ACR != "aal1" {
		t.Fatalf("acr = %q, want aal1", tok.Claims.ACR)
	}
}

func TestSingleSignOn(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	first := login(t, env, b, rp, nil, "alice", alicePassword)

	ar := rp.AuthURL(nil)
	p := b.Get(ar.URL)
	if p.IsLoginPage() {
		t.Fatal("second authorization asked for the password again")
	}
	tok, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.AuthTime != first.Claims.AuthTime {
		t.Fatalf("auth_time changed on SSO: %d -> %d", first.Claims.AuthTime, tok.Claims.AuthTime)
	}
}

// TestAuthorizeAnswersInPlace checks that the authorization endpoint
// answers a browser's GET with the login page itself, and a session that
// satisfies the request with the callback, without a redirect through
// /login; a POST still redirects there. A request refused at once is not
// stored.
func TestAuthorizeAnswersInPlace(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	once := &http.Client{Jar: b.Client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(method string, ar testenv.AuthRequest) *http.Response {
		t.Helper()
		u, _ := url.Parse(ar.URL)
		var resp *http.Response
		var err error
		if method == http.MethodGet {
			resp, err = once.Get(ar.URL)
		} else {
			resp, err = once.PostForm(u.Scheme+"://"+u.Host+u.Path, u.Query())
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	// A request refused at once is answered without ever being stored.
	resp := authorize(http.MethodGet, rp.AuthURL(url.Values{"prompt": {"none"}}))
	if loc, _ := resp.Location(); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none without a session: %d to %v", resp.StatusCode, loc)
	}
	if n, err := env.Store.PurgeExpired(t.Context(), env.Clock.Now().Add(24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("a refused request left %d rows (%v)", n, err)
	}

	resp = authorize(http.MethodPost, rp.AuthURL(nil))
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusFound || loc == nil || loc.Path != "/login" {
		t.Fatalf("POST /authorize: %d to %v, want a redirect to /login", resp.StatusCode, loc)
	}
	resp = authorize(http.MethodGet, rp.AuthURL(nil))
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action") {
		t.Fatalf("GET /authorize: %d, want the login page", resp.StatusCode)
	}

	ar := rp.AuthURL(nil)
	p := b.Get(ar.URL)
	if !p.IsLoginPage() || !strings.HasSuffix(p.URL.Path, "/authorize") {
		t.Fatalf("GET /authorize answered from %s; want the login page in place", p.URL)
	}
	if _, err := rp.Exchange(testenv.MustCallback(t, b.SubmitPassword(p, "alice", alicePassword)).Code(t), ar); err != nil {
		t.Fatal(err)
	}

	ar = rp.AuthURL(nil)
	resp = authorize(http.MethodGet, ar)
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("signed in: GET /authorize: %d to %v, want the callback with a code", resp.StatusCode, loc)
	}
	if _, err := rp.Exchange(loc.Query().Get("code"), ar); err != nil {
		t.Fatal(err)
	}
}

func TestPromptLoginAsksAgain(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	first := login(t, env, b, rp, nil, "alice", alicePassword)
	env.Clock.Advance(5 * time.Second)

	ar := rp.AuthURL(url.Values{"prompt": {"login"}})
	p := b.Get(ar.URL)
	if !p.IsLoginPage() {
		t.Fatalf("prompt=login did not ask for the password: %d %s", p.Status, p.Text())
	}
	p = b.SubmitPassword(p, "alice", alicePassword)
	tok, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.AuthTime <= first.Claims.AuthTime {
		t.Fatalf("auth_time did not move: %d -> %d", first.Claims.AuthTime, tok.Claims.AuthTime)
	}
}

func TestMaxAge(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	login(t, env, b, rp, nil, "alice", alicePassword)

	// Within max_age: no password.
	p := b.Get(rp.AuthURL(url.Values{"max_age": {"600"}}).URL)
	if p.IsLoginPage() {
		t.Fatal("max_age=600 right after login asked for the password")
	}
	env.Clock.Advance(11 * time.Minute)
	p = b.Get(rp.AuthURL(url.Values{"max_age": {"600"}}).URL)
	if !p.IsLoginPage() {
		t.Fatalf("max_age=600 after 11 minutes did not ask for the password: %s", p.Text())
	}
}

func TestPromptNoneWithoutSession(t *testing.T) {
	env := testenv.New(t)
	rp := env.NewRP(t, testenv.PublicClient, "")
	ar := rp.AuthURL(url.Values{"prompt": {"none"}})
	cb := testenv.MustCallback(t, env.NewBrowser(t).Get(ar.URL))
	if cb.Params.Get("error") != "login_required" || cb.Params.Get("state") != ar.State {
		t.Fatalf("callback = %v", cb.Params)
	}
}

func TestPromptNoneWithSession(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	login(t, env, b, rp, nil, "alice", alicePassword)
	cb := testenv.MustCallback(t, b.Get(rp.AuthURL(url.Values{"prompt": {"none"}}).URL))
	if cb.Params.Get("code") == "" {
		t.Fatalf("prompt=none with a session: %v", cb.Params)
	}
}

func TestEssentialACRUnmet(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	claims := `{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}`
	ar := rp.AuthURL(url.Values{"claims": {claims}})
	b := env.NewBrowser(t)
	p := b.Get(ar.URL)
	p = b.SubmitPassword(p, "alice", alicePassword)
	cb := testenv.MustCallback(t, p)
	if cb.Params.Get("error") != "unmet_authentication_requirements" {
		t.Fatalf("callback = %v, want unmet_authentication_requirements", cb.Params)
	}
}

func TestVoluntaryACRUnmetGivesReachedLevel(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	tok := login(t, env, env.NewBrowser(t), env.NewRP(t, testenv.PublicClient, ""), url.Values{"acr_values": {"aal2"}}, "alice", alicePassword)
	if tok.Claims.ACR != "aal1" {
		t.Fatalf("acr = %q, want the level truly reached (aal1)", tok.Claims.ACR)
	}
}

func TestRefreshKeepsACR(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	tok := login(t, env, env.NewBrowser(t), rp, url.Values{"acr_values": {"aal1"}}, "alice", alicePassword)
	if tok.OAuth.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	next, err := rp.Refresh(tok.OAuth.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.Claims.ACR != tok.Claims.ACR || !slices.Equal(next.Claims.AMR, tok.Claims.AMR) || next.Claims.AuthTime != tok.Claims.AuthTime {
		t.Fatalf("after refresh %+v, before %+v", next.Claims, tok.Claims)
	}
	if next.OAuth.RefreshToken == tok.OAuth.RefreshToken {
		t.Fatal("refresh token not rotated")
	}
	// The old refresh token is spent.
	if _, err := rp.Refresh(tok.OAuth.RefreshToken); err == nil {
		t.Fatal("a rotated refresh token worked again")
	}
}

func TestPKCERequiredForPublicClient(t *testing.T) {
	env := testenv.New(t)
	q := url.Values{"client_id": {testenv.PublicClient}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {testenv.RedirectURI}, "state": {"s1"}}
	cb := testenv.MustCallback(t, env.NewBrowser(t).Get(env.URL+"/authorize?"+q.Encode()))
	if cb.Params.Get("error") != "invalid_request" || !strings.Contains(cb.Params.Get("error_description"), "code_challenge") {
		t.Fatalf("callback = %v", cb.Params)
	}
}

func TestUnregisteredRedirectURIRefused(t *testing.T) {
	env := testenv.New(t)
	rp := env.NewRP(t, testenv.PublicClient, "")
	rp.OAuth.RedirectURL = "http://evil.test/callback"
	p := env.NewBrowser(t).Get(rp.AuthURL(nil).URL)
	if p.Location != nil {
		t.Fatalf("redirected to %s for an unregistered redirect_uri", p.Location)
	}
	if p.Status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", p.Status)
	}
}

func TestFormPost(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.ConfidentialClient, testenv.ConfidentialSecret)
	b := env.NewBrowser(t)
	ar := rp.AuthURL(url.Values{"response_mode": {"form_post"}})
	p := b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)
	if p.Location != nil {
		t.Fatalf("form_post answered with a redirect to %s", p.Location)
	}
	if p.URL.Path != "/login" || p.Status != http.StatusOK {
		t.Fatalf("the form_post page came from %d %s, want the password POST itself", p.Status, p.URL)
	}
	wantSelfSubmitting(t, p, "http://rp.test")
	cb := testenv.MustCallback(t, p)
	if cb.Params.Get("state") != ar.State {
		t.Fatalf("state = %q", cb.Params.Get("state"))
	}
	if _, err := rp.Exchange(cb.Code(t), ar); err != nil {
		t.Fatal(err)
	}
}

func TestEndSession(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	tok := login(t, env, b, rp, nil, "alice", alicePassword)

	q := url.Values{"id_token_hint": {tok.RawID}, "post_logout_redirect_uri": {testenv.PostLogoutURI}, "state": {"bye"}}
	p := b.Get(env.URL + "/end_session?" + q.Encode())
	if p.Location == nil || !strings.HasPrefix(p.Location.String(), testenv.PostLogoutURI) || p.Location.Query().Get("state") != "bye" {
		t.Fatalf("end_session: %d %v %s", p.Status, p.Location, p.Text())
	}
	if !b.Get(rp.AuthURL(nil).URL).IsLoginPage() {
		t.Fatal("after logout the browser was still signed in")
	}
}

func TestWrongPassword(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	p := b.Get(rp.AuthURL(nil).URL)
	wrong := b.SubmitPassword(p, "alice", "not the password")
	unknown := b.SubmitPassword(p, "mallory", "not the password")
	for _, got := range []*testenv.Page{wrong, unknown} {
		if got.Status != http.StatusUnauthorized || !got.IsLoginPage() || !strings.Contains(got.Text(), "username or password is incorrect") {
			t.Fatalf("status %d: %s", got.Status, got.Text())
		}
	}
	// The error is tied to the fields for screen readers.
	if !strings.Contains(wrong.Body, `aria-describedby="login-error"`) {
		t.Fatal("error is not tied to the fields")
	}
	if strings.Contains(env.Logs.String(), "not the password") {
		t.Fatal("a password reached the logs")
	}
	events := listEvents(t, env, "login.password.failed")
	if len(events) != 2 {
		t.Fatalf("audited %d failures, want 2", len(events))
	}
}

func TestInactiveUser(t *testing.T) {
	env := testenv.New(t)
	u := env.AddUser(t, "alice", alicePassword)
	deactivate(t, env, u.ID)
	b := env.NewBrowser(t)
	p := b.Get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL)
	// Wrong password: the generic message, nothing about the account.
	got := b.SubmitPassword(p, "alice", "wrong password!")
	if strings.Contains(got.Text(), "deactivated") {
		t.Fatal("an inactive account was revealed before its correct password")
	}
	got = b.SubmitPassword(p, "alice", alicePassword)
	if got.Status != http.StatusUnauthorized || !strings.Contains(got.Text(), "deactivated") {
		t.Fatalf("status %d: %s", got.Status, got.Text())
	}
}

func TestPasswordLockout(t *testing.T) {
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.Lockout.MaxFailures = 3 }))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	p := b.Get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL)
	for range 3 {
		b.SubmitPassword(p, "alice", "wrong password!")
	}
	// Refused as a wrong password is: see TestLockoutAnswersLikeUnknownName.
	got := b.SubmitPassword(p, "alice", alicePassword)
	if got.Status != http.StatusUnauthorized || !strings.Contains(got.Text(), "username or password is incorrect") {
		t.Fatalf("after 3 failures the right password was not refused: %d %s", got.Status, got.Text())
	}
	if len(listEvents(t, env, "lockout.started")) != 1 {
		t.Fatal("lockout not audited")
	}
	env.Clock.Advance(16 * time.Minute)
	got = b.SubmitPassword(p, "alice", alicePassword)
	if _, ok := testenv.CallbackOf(t, got); !ok {
		t.Fatalf("after the lockout lifted: %s", got.Text())
	}
}

func TestExpiredRequest(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	p := b.Get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL)
	env.Clock.Advance(time.Hour)
	got := b.SubmitPassword(p, "alice", alicePassword)
	if got.Status != http.StatusBadRequest || !strings.Contains(got.Text(), "expired") {
		t.Fatalf("status %d: %s", got.Status, got.Text())
	}
}

func TestLoginFormContract(t *testing.T) {
	env := testenv.New(t)
	p := env.NewBrowser(t).Get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL)
	f := p.Form(t, "/login")
	have := map[string]string{}
	submits := 0
	for _, in := range f.Inputs {
		have[in.Name] = in.Autocomplete
		if in.Type == "submit" || in.Type == "" && in.Name == "" {
			submits++
		}
	}
	if have["username"] != "username" || have["password"] != "current-password" {
		t.Fatalf("autocomplete tokens: %v", have)
	}
	if f.Values.Get("csrf_token") == "" || f.Values.Get("id") == "" {
		t.Fatalf("hidden inputs: %v", f.Values)
	}
	if strings.Count(p.Body, "<button") != 1 || !strings.Contains(p.Body, `<label for="username">`) {
		t.Fatal("want one submit button and labelled inputs")
	}
}

func TestCSRFRequired(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	p := b.Get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL)
	f := p.Form(t, "/login")
	got := b.Submit(p, f, map[string]string{"username": "alice", "password": alicePassword, "csrf_token": "forged"})
	if got.Status != http.StatusForbidden {
		t.Fatalf("forged CSRF token: status %d", got.Status)
	}
}

func TestRS256Client(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.RS256Client, "")
	tok := login(t, env, env.NewBrowser(t), rp, nil, "alice", alicePassword)
	if alg := jwtHeader(t, tok.RawID)["alg"]; alg != "RS256" {
		t.Fatalf("alg = %v", alg)
	}
	if h := jwtHeader(t, tok.OAuth.AccessToken); h["alg"] != "RS256" || h["typ"] != "at+jwt" {
		t.Fatalf("access token header = %v, want RS256 and at+jwt like the client's ID tokens", h)
	}
}

func TestClientCredentials(t *testing.T) {
	env := testenv.New(t)
	rp := env.NewRP(t, testenv.ConfidentialClient, testenv.ConfidentialSecret)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}
	req, _ := http.NewRequest("POST", rp.OAuth.Endpoint.TokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testenv.ConfidentialClient, testenv.ConfidentialSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 || out["access_token"] == nil {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, out)
	}
	token, _ := out["access_token"].(string)
	if h, c := jwtHeader(t, token), decodeJWT(t, token); h["typ"] != "at+jwt" || c["sub"] != testenv.ConfidentialClient ||
		c["client_id"] != testenv.ConfidentialClient || c["acr"] != nil {
		t.Fatalf("client_credentials token: header %v, claims %v", h, c)
	}
	// A public client cannot.
	req, _ = http.NewRequest("POST", rp.OAuth.Endpoint.TokenURL, strings.NewReader(form.Encode()+"&client_id="+testenv.PublicClient))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode == 200 {
		t.Fatal("a public client got a client_credentials token")
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.ConfidentialClient, testenv.ConfidentialSecret)
	tok := login(t, env, env.NewBrowser(t), rp, url.Values{"acr_values": {"aal1"}}, "alice", alicePassword)

	introspect := func() map[string]any {
		form := url.Values{"token": {tok.OAuth.AccessToken}}
		req, _ := http.NewRequest("POST", env.URL+"/oauth/introspect", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testenv.ConfidentialClient, testenv.ConfidentialSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	got := introspect()
	if got["active"] != true || got["acr"] != "aal1" || got["auth_time"] == nil {
		t.Fatalf("introspection = %v", got)
	}
	form := url.Values{"token": {tok.OAuth.AccessToken}, "token_type_hint": {"access_token"}}
	req, _ := http.NewRequest("POST", env.URL+"/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testenv.ConfidentialClient, testenv.ConfidentialSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if got := introspect(); got["active"] == true {
		t.Fatalf("revoked token still active: %v", got)
	}
}

func TestRefreshRefusedForDeactivatedUser(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	tok := login(t, env, env.NewBrowser(t), rp, nil, "alice", alicePassword)
	// Deactivated behind the API's back (no token clean-up): the grant is
	// dead all the same.
	deactivate(t, env, alice.ID)
	if _, err := rp.Refresh(tok.OAuth.RefreshToken); err == nil {
		t.Fatal("a deactivated user's refresh token still worked")
	}
}

// TestAuthorizationCodeWorksOnce: a code redeems once (RFC 6749 §4.1.2);
// a second redemption, a forged code and a code the provider did not seal
// get invalid_grant, and each refusal is audited. The login's audit events
// were stored with it.
func TestAuthorizationCodeWorksOnce(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal1"}})
	code := testenv.MustCallback(t, b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)).Code(t)
	if _, err := rp.Exchange(code, ar); err != nil {
		t.Fatalf("first redemption: %v", err)
	}
	forged := []byte(code)
	forged[len(forged)-5] ^= 1 // inside the JWE's authentication tag
	for name, c := range map[string]string{"again": code, "forged": string(forged), "not sealed": "not-a-code"} {
		_, err := rp.Exchange(c, ar)
		if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("%s: exchange returned %v, want invalid_grant", name, err)
		}
	}
	events, err := env.Store.ListEvents(t.Context(), storage.EventFilter{UserID: alice.ID, Type: "login."})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []string{"login.completed", "login.password.succeeded"}) {
		t.Fatalf("login events %q, want the password and the completed login once each", types)
	}
	refused, err := env.Store.ListEvents(t.Context(), storage.EventFilter{Type: "token.code_refused"})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, e := range refused {
		if e.ClientID != testenv.PublicClient || e.Outcome != "failure" {
			t.Errorf("refusal event %+v does not name the client and the failure", e)
		}
		reasons[e.Details["reason"]]++
	}
	if len(refused) != 3 || reasons["already used"] != 1 || reasons["not a code of this provider"] != 2 {
		t.Fatalf("refused codes audited as %v, want the replay and the two forgeries", reasons)
	}
}

// TestAuthorizationCodeRace: of token requests racing with one code,
// exactly one gets tokens; the others get invalid_grant.
func TestAuthorizationCodeRace(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal1"}})
	code := testenv.MustCallback(t, b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)).Code(t)
	const racers = 8
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() { _, errs[i] = rp.Exchange(code, ar) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !strings.Contains(err.Error(), "invalid_grant"):
			t.Errorf("a losing exchange returned %v, want invalid_grant", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d racing exchanges got tokens, want 1", won, racers)
	}
	refused, err := env.Store.ListEvents(t.Context(), storage.EventFilter{Type: "token.code_refused"})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) < racers-1 {
		t.Fatalf("%d refusals audited, want one for each of the %d losers at least", len(refused), racers-1)
	}
}

// TestAuthorizationCodeExpires: a code redeems only within tokens.code_ttl
// of the login's end (RFC 6749 §4.1.2), and the refusal is audited.
func TestAuthorizationCodeExpires(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.Tokens.CodeTTL = time.Second }))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal1"}})
	code := testenv.MustCallback(t, b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)).Code(t)
	env.Clock.Advance(time.Second) // code_ttl has passed
	if _, err := rp.Exchange(code, ar); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("exchange after code_ttl: %v, want invalid_grant", err)
	}
	// x/oauth2 tries its second client authentication style after a
	// failure, so the one exchange may be refused twice.
	refused, err := env.Store.ListEvents(t.Context(), storage.EventFilter{Type: "token.code_refused"})
	if err != nil || len(refused) == 0 {
		t.Fatalf("no refusal audited: %v", err)
	}
	for _, e := range refused {
		if e.Details["reason"] != "already used, expired or unknown" {
			t.Fatalf("refusal %+v, want the expired code", e)
		}
	}
}

// wantSelfSubmitting: a form_post page runs no inline script; it loads
// stepup's one script, offers a button without script, and its policy
// allows that script and a form to the client's origin only.
func wantSelfSubmitting(t *testing.T, p *testenv.Page, clientOrigin string) {
	t.Helper()
	csp := p.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "form-action " + clientOrigin + ";", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("form_post page's policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(p.Body, "onload") || !strings.Contains(p.Body, `<script src="`+protocol.FormPostScriptPath+`" defer></script>`) ||
		!strings.Contains(p.Body, "<noscript><button") {
		t.Errorf("form_post page:\n%s", p.Body)
	}
}
