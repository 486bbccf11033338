package provider_test

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// oauthError is an RFC 6749 §5.2 error document.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// send makes one request without following redirects.
func send(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// wantJSONError checks that resp is an RFC 6749 JSON error with status
// and code, and returns it.
func wantJSONError(t *testing.T, what string, resp *http.Response, body []byte, status int, code string) oauthError {
	t.Helper()
	var e oauthError
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != status || ct != "application/json" {
		t.Fatalf("%s: %d %s, want %d application/json:\n%s", what, resp.StatusCode, resp.Header.Get("Content-Type"), status, body)
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error != code || e.Description == "" {
		t.Fatalf("%s: %s (%v), want error %s with a description", what, body, err, code)
	}
	return e
}

// TestIntrospectionErrorsAreJSON: an API that introspects with missing or
// wrong credentials is told so in JSON (RFC 7662 §2.3, RFC 6749 §5.2), as
// its library parses it, not in zitadel's text/plain.
func TestIntrospectionErrorsAreJSON(t *testing.T) {
	env := testenv.New(t)
	for name, auth := range map[string]func(*http.Request){
		"no client authentication": func(*http.Request) {},
		"wrong secret":             func(r *http.Request) { r.SetBasicAuth(testenv.ConfidentialClient, "wrong") },
		"unknown client":           func(r *http.Request) { r.SetBasicAuth("nobody", "x") },
	} {
		req, _ := http.NewRequest("POST", env.URL+"/oauth/introspect", strings.NewReader("token=whatever"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		auth(req)
		resp, body := send(t, req)
		e := wantJSONError(t, name, resp, body, http.StatusUnauthorized, "invalid_client")
		if strings.Contains(e.Description, "ErrorType=") {
			t.Errorf("%s: the description is zitadel's error dump: %q", name, e.Description)
		}
	}
}

// TestUserinfoErrorsAreJSON: userinfo without a valid access token answers
// invalid_token in JSON with the RFC 6750 §3 challenge; without any token,
// the challenge carries no error code.
func TestUserinfoErrorsAreJSON(t *testing.T) {
	env := testenv.New(t)
	for _, tc := range []struct {
		name, auth, challenge string
	}{
		{"no token", "", "Bearer"},
		{"bad token", "Bearer not-a-token", `Bearer error="invalid_token"`},
	} {
		req, _ := http.NewRequest("GET", env.URL+"/userinfo", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, body := send(t, req)
		wantJSONError(t, tc.name, resp, body, http.StatusUnauthorized, "invalid_token")
		// One challenge: the scheme, a space, then its auth-params
		// (RFC 9110 §11.6.1); a comma after the scheme would end it.
		if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge && !strings.HasPrefix(got, tc.challenge+",") {
			t.Errorf("%s: WWW-Authenticate = %q, want %s", tc.name, got, tc.challenge)
		}
	}
}

// TestUnknownClientIsAPage: a person sent to /authorize for a client
// stepup does not know reads why and whom to ask, on a page; nothing goes
// to the redirect URI, which nobody registered.
func TestUnknownClientIsAPage(t *testing.T) {
	env := testenv.New(t)
	for _, tc := range []struct{ name, clientID, want string }{
		{"unknown", "no-such-app", `stepup does not know the application that sent you here (client_id "no-such-app")`},
		{"missing", "", "names no application (client_id is missing)"},
	} {
		q := url.Values{"redirect_uri": {testenv.RedirectURI}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
		if tc.clientID != "" {
			q.Set("client_id", tc.clientID)
		}
		p := env.NewBrowser(t).Get(env.URL + "/authorize?" + q.Encode())
		if p.Status != http.StatusBadRequest || p.Location != nil || !strings.Contains(p.Text(), tc.want) ||
			!strings.Contains(p.Text(), "Contact the") || !strings.Contains(p.Text(), "owner") {
			t.Errorf("%s client: %d (redirect %v), want a page saying %q and whom to contact:\n%s", tc.name, p.Status, p.Location, tc.want, p.Body)
		}
	}
	// A request refused without a client to tell is a page too (the
	// exact-redirect guard's, in front of zitadel).
	q := url.Values{"client_id": {testenv.PublicClient}, "redirect_uri": {"http://elsewhere.test/cb"}, "response_type": {"code"}, "scope": {"openid"}}
	p := env.NewBrowser(t).Get(env.URL + "/authorize?" + q.Encode())
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Text(), "redirect_uri") || !strings.Contains(p.Text(), "not registered") {
		t.Errorf("unregistered redirect_uri: %d, want a page:\n%s", p.Status, p.Body)
	}
}

// TestPromptNoneSaysWhichLevel: prompt=none for aal2 with an aal1 session
// answers login_required saying that a higher level is needed, and which;
// without a session it says the user must sign in.
func TestPromptNoneSaysWhichLevel(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp"))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)

	cb := testenv.MustCallback(t, b.Get(rp.AuthURL(url.Values{"prompt": {"none"}, "acr_values": {"aal2"}}).URL))
	if cb.Params.Get("error") != "login_required" || strings.Contains(cb.Params.Get("error_description"), "higher level") {
		t.Fatalf("without a session: %v", cb.Params)
	}

	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	b.EnrolTOTP()
	cb = testenv.MustCallback(t, b.Get(rp.AuthURL(url.Values{"prompt": {"none"}, "acr_values": {"aal2"}}).URL))
	desc := cb.Params.Get("error_description")
	if cb.Params.Get("error") != "login_required" || !strings.Contains(desc, "sign in again at a higher level: aal2 is required") {
		t.Fatalf("aal1 session, prompt=none for aal2: %v", cb.Params)
	}
}
