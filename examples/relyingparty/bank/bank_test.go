package bank

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	stepupconfig "github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

const (
	clientID      = "example-bank"
	clientSecret  = "example-bank-secret-for-tests"
	alicePassword = "correct horse battery staple"
)

// bank is the example application running against a real stepup with the
// TOTP plugin, and a browser that follows redirects across both.
type bank struct {
	env *testenv.Env
	app *App
	URL string
	b   *testenv.Browser
	rec *recorder
}

// newBank starts stepup and the application. The application is reached
// as localhost and stepup as 127.0.0.1, so that the browser keeps their
// cookies apart as it would for two sites.
func newBank(t *testing.T) *bank {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	appURL := "http://localhost:" + port
	env := testenv.New(t, testenv.WithMethods("totp"), testenv.WithConfig(func(c *stepupconfig.Config) {
		c.Clients = append(c.Clients, stepupconfig.Client{
			ID: clientID, Secret: clientSecret,
			RedirectURIs:           []string{appURL + "/callback"},
			PostLogoutRedirectURIs: []string{appURL + "/"},
			GrantTypes:             []string{"authorization_code", "refresh_token"},
		})
	}))
	a, err := New(Config{Issuer: env.URL, ClientID: clientID, ClientSecret: clientSecret, BaseURL: appURL, Now: env.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a
	srv.Start()
	t.Cleanup(srv.Close)

	bk := &bank{env: env, app: a, URL: appURL, b: env.NewBrowser(t)}
	// The provider's browser stops at other hosts; this one follows the
	// redirects to the application too, and records every request.
	provider, _ := url.Parse(env.URL)
	appHost, _ := url.Parse(appURL)
	bk.b.Client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != provider.Host && req.URL.Host != appHost.Host {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	bk.rec = &recorder{next: http.DefaultTransport, provider: provider.Host}
	bk.b.Client.Transport = bk.rec
	return bk
}

// signIn signs alice in at the application with her password (aal1).
func (bk *bank) signIn(t *testing.T) *testenv.Page {
	t.Helper()
	p := bk.b.Get(bk.URL + "/")
	if !strings.Contains(p.Text(), "Sign in") {
		t.Fatalf("start page: %s", p.Text())
	}
	p = bk.b.Get(bk.URL + "/login")
	if !p.IsLoginPage() {
		t.Fatalf("/login did not reach stepup's login page: %s %s", p.URL, p.Text())
	}
	p = bk.b.SubmitPassword(p, "alice", alicePassword)
	if p.URL.String() != bk.URL+"/" || p.Status != http.StatusOK {
		t.Fatalf("after the password: %d at %s: %s", p.Status, p.URL, p.Text())
	}
	return p
}

// session returns the application's session of the browser.
func (bk *bank) session(t *testing.T) session {
	t.Helper()
	u, _ := url.Parse(bk.URL)
	for _, c := range bk.b.Client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			if s, ok := bk.app.sessions.get(c.Value, bk.env.Clock.Now()); ok {
				return s
			}
		}
	}
	t.Fatal("no application session in the browser")
	return session{}
}

// answerTOTP submits the TOTP challenge page p.
func (bk *bank) answerTOTP(t *testing.T, p *testenv.Page, secret string) *testenv.Page {
	t.Helper()
	f := p.Form(t, "/login/verify")
	if f.Values.Get("method") != "totp" {
		t.Fatalf("challenge for %q, want totp: %s", f.Values.Get("method"), p.Text())
	}
	return bk.b.Submit(p, f, map[string]string{"code": testenv.TOTPCode(t, secret, bk.env.Clock.Now())})
}

// recorder is a transport that notes each request's method, host kind and
// path.
type recorder struct {
	next     http.RoundTripper
	provider string
	mu       sync.Mutex
	reqs     []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	who := "app"
	if req.URL.Host == r.provider {
		who = "stepup"
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+who+" "+req.URL.Path)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// take returns the requests since the last call.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

func count(reqs []string, req string) int {
	n := 0
	for _, r := range reqs {
		if r == req {
			n++
		}
	}
	return n
}

func TestTransferStepsUp(t *testing.T) {
	bk := newBank(t)
	bk.env.AddUser(t, "alice", alicePassword)

	p := bk.signIn(t)
	if !strings.Contains(p.Text(), "Signed in as alice") || !strings.Contains(p.Body, `<code id="acr">aal1</code>`) {
		t.Fatalf("home page after sign-in: %s", p.Text())
	}
	// The start page shows what stepup said, from the ID token.
	for id, want := range map[string]string{"claim-acr": ">aal1<", "claim-amr": ">pwd<", "claim-auth_time": " UTC ("} {
		if i := strings.Index(p.Body, `id="`+id+`"`); i < 0 || !strings.Contains(p.Body[i:min(len(p.Body), i+80)], want) {
			t.Errorf("claims table: no %s with %q:\n%s", id, want, p.Body)
		}
	}
	aal1 := bk.session(t)
	if aal1.ACR != "aal1" || !slices.Equal(aal1.AMR, []string{"pwd"}) {
		t.Fatalf("aal1 session %+v", aal1)
	}
	// alice adds an authenticator app on her stepup account page; the
	// confirming code's time step is then spent.
	secret := bk.b.EnrolTOTP()
	bk.env.Clock.Advance(30 * time.Second)

	bk.rec.take()
	p = bk.b.Get(bk.URL + "/transfer")
	if p.IsLoginPage() {
		t.Fatal("the step-up asked for the password again")
	}
	p = bk.answerTOTP(t, p, secret)
	if p.URL.String() != bk.URL+"/transfer" || p.Status != http.StatusOK || !strings.Contains(p.Text(), "Transfer money") {
		t.Fatalf("after the code: %d at %s: %s", p.Status, p.URL, p.Text())
	}
	reqs := bk.rec.take()
	if count(reqs, "POST stepup /login/verify") != 1 || count(reqs, "POST stepup /login") != 0 ||
		count(reqs, "GET app /callback") != 1 || count(reqs, "GET app /transfer") != 2 {
		t.Fatalf("the step-up took %v; want one code, no password, one callback", reqs)
	}
	s := bk.session(t)
	if s.ACR != "aal2" || !slices.Contains(s.AMR, "otp") || !slices.Contains(s.AMR, "mfa") || s.Subject != aal1.Subject {
		t.Fatalf("session after the step-up %+v", s)
	}
	if age := bk.env.Clock.Now().Sub(s.AuthTime); age < -time.Second || age > time.Minute {
		t.Fatalf("auth_time %v is not the step-up's (now %v)", s.AuthTime, bk.env.Clock.Now())
	}
	if s.ID == aal1.ID {
		t.Fatal("the session ID was not rotated at the step-up")
	}

	// The transfer goes through, and the page opens again without stepup.
	done := bk.b.Submit(p, p.Form(t, "/transfer"), map[string]string{"to": "bob", "amount": "25"})
	if !strings.Contains(done.Text(), "Transferred 25.00 EUR to bob") {
		t.Fatalf("transfer: %d %s", done.Status, done.Text())
	}
	bk.rec.take()
	bk.b.Get(bk.URL + "/transfer")
	if reqs := bk.rec.take(); !slices.Equal(reqs, []string{"GET app /transfer"}) {
		t.Fatalf("a second visit within ten minutes: %v", reqs)
	}

	// Eleven minutes later the password is too old as well: max_age asks
	// for both factors.
	bk.env.Clock.Advance(11 * time.Minute)
	p = bk.b.Get(bk.URL + "/transfer")
	if !p.IsLoginPage() {
		t.Fatalf("after eleven minutes, no password asked: %s", p.Text())
	}
	p = bk.answerTOTP(t, bk.b.SubmitPassword(p, "alice", alicePassword), secret)
	if p.URL.Path != "/transfer" || p.Status != http.StatusOK {
		t.Fatalf("after both factors: %d at %s: %s", p.Status, p.URL, p.Text())
	}
}

func TestBalanceAPI(t *testing.T) {
	bk := newBank(t)
	bk.env.AddUser(t, "alice", alicePassword)
	bk.signIn(t)
	aal1 := bk.session(t).AccessToken
	secret := bk.b.EnrolTOTP()
	bk.env.Clock.Advance(30 * time.Second)
	bk.answerTOTP(t, bk.b.Get(bk.URL+"/transfer"), secret)
	aal2 := bk.session(t).AccessToken

	call := func(token string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", bk.URL+"/api/balance", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		return resp, body
	}

	resp, _ := call("")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, body := call(aal1)
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(challenge, `error="insufficient_user_authentication"`) ||
		!strings.Contains(challenge, `acr_values="aal2`) || !strings.Contains(challenge, "max_age=600") ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("aal1 token: %d %q %v", resp.StatusCode, challenge, body)
	}
	resp, body = call(aal2)
	if resp.StatusCode != http.StatusOK || body["acr"] != "aal2" || body["balance"] != "1234.56" {
		t.Fatalf("aal2 token: %d %v", resp.StatusCode, body)
	}
	// Past max_age the same token is challenged again.
	bk.env.Clock.Advance(11 * time.Minute)
	resp, _ = call(aal2)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "max_age=600") {
		t.Fatalf("an aal2 token from eleven minutes ago: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestNoSecondFactor: a user with no method cannot meet the essential acr:
// stepup answers unmet_authentication_requirements, and the application
// says what to do and does not loop.
func TestNoSecondFactor(t *testing.T) {
	bk := newBank(t)
	bk.env.AddUser(t, "alice", alicePassword)
	p := bk.b.Get(bk.URL + "/transfer")
	if !p.IsLoginPage() {
		t.Fatalf("/transfer without a session: %s", p.Text())
	}
	p = bk.b.SubmitPassword(p, "alice", alicePassword)
	if p.Status != http.StatusForbidden || !strings.Contains(p.Text(), "needs a second factor") || !strings.Contains(p.Text(), "/account") {
		t.Fatalf("an aal1 answer to the step-up: %d at %s: %s", p.Status, p.URL, p.Text())
	}
	if reqs := bk.rec.take(); count(reqs, "GET app /callback") != 1 {
		t.Fatalf("requests %v", reqs)
	}
}

func TestLogoutEndsBothSessions(t *testing.T) {
	bk := newBank(t)
	bk.env.AddUser(t, "alice", alicePassword)
	p := bk.signIn(t)
	p = bk.b.Submit(p, p.Form(t, "/logout"), nil)
	if p.URL.String() != bk.URL+"/" || !strings.Contains(p.Text(), "Sign in") {
		t.Fatalf("after logout: %d at %s: %s", p.Status, p.URL, p.Text())
	}
	if p := bk.b.Get(bk.URL + "/login"); !p.IsLoginPage() {
		t.Fatalf("stepup still signed in after logout: %s", p.Text())
	}
}

func TestCallbackRefusesForeignState(t *testing.T) {
	bk := newBank(t)
	if p := bk.b.Get(bk.URL + "/callback?state=x&code=y"); p.Status != http.StatusBadRequest {
		t.Errorf("a callback without a flow cookie: %d %s", p.Status, p.Text())
	}
	// A flow started here, answered with another state.
	bk.b.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if p := bk.b.Get(bk.URL + "/login"); p.Location == nil || !strings.HasPrefix(p.Location.String(), bk.env.URL) {
		t.Fatalf("/login: %d %v", p.Status, p.Location)
	}
	if p := bk.b.Get(bk.URL + "/callback?state=forged&code=y"); p.Status != http.StatusBadRequest {
		t.Fatalf("a forged state: %d %s", p.Status, p.Text())
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/transfer": "/transfer", "": "/", "https://evil.example": "/", "//evil.example": "/", `/\evil.example`: "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTransferAsksEssentialACR: the step-up names aal2 as an essential acr
// in the claims parameter, not as a voluntary acr_values, with max_age.
func TestTransferAsksEssentialACR(t *testing.T) {
	bk := newBank(t)
	bk.b.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := bk.b.Get(bk.URL + "/transfer")
	if p.Location == nil || !strings.HasPrefix(p.Location.String(), bk.env.URL) {
		t.Fatalf("/transfer: %d %v", p.Status, p.Location)
	}
	q := p.Location.Query()
	var claims struct {
		IDToken struct {
			ACR struct {
				Essential bool     `json:"essential"`
				Values    []string `json:"values"`
			} `json:"acr"`
		} `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(q.Get("claims")), &claims); err != nil {
		t.Fatalf("claims %q: %v", q.Get("claims"), err)
	}
	if !claims.IDToken.ACR.Essential || !slices.Equal(claims.IDToken.ACR.Values, []string{"aal2"}) ||
		q.Has("acr_values") || q.Get("max_age") != "600" {
		t.Fatalf("the step-up request asks %v", q)
	}
}
