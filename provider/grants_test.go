package provider_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestUnadvertisedGrantRefused: a grant that discovery does not advertise
// (zitadel would serve the JWT bearer grant, and answered a malformed
// assertion with 500) is unsupported_grant_type; an advertised grant with
// a bad input is invalid_grant. Never a 5xx.
func TestUnadvertisedGrantRefused(t *testing.T) {
	env := testenv.New(t)
	for grant, want := range map[string]string{
		"urn:ietf:params:oauth:grant-type:jwt-bearer":     "unsupported_grant_type",
		"urn:ietf:params:oauth:grant-type:token-exchange": "unsupported_grant_type",
		"urn:ietf:params:oauth:grant-type:device_code":    "unsupported_grant_type",
		"password":      "unsupported_grant_type",
		"refresh_token": "invalid_grant",
	} {
		form := url.Values{"grant_type": {grant}, "client_id": {testenv.PublicClient},
			"assertion": {"eyJhbGciOiJub25lIn0.eyJleHAiOiJzb29uIn0."}, "refresh_token": {"no-such-token"}}
		resp, err := http.PostForm(env.URL+"/oauth/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || body.Error != want {
			t.Errorf("grant %s: %d %+v (%v), want 400 %s", grant, resp.StatusCode, body, err, want)
		}
	}
}

// TestEndSessionMalformedQuery: a bad escape or a ";" in end_session's
// query is a 400 page that says what was wrong, never a 500.
func TestEndSessionMalformedQuery(t *testing.T) {
	env := testenv.New(t)
	for _, q := range []string{"state=%zz", "state=a;b", "post_logout_redirect_uri=%", "id_token_hint=%G0"} {
		resp, err := http.Get(env.URL + "/end_session?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("end_session?%s: %d, want 400", q, resp.StatusCode)
		}
	}
}

// TestTokenEndpointHidesStorageFailures: with the store gone, the token
// endpoint answers 503 temporarily_unavailable with Retry-After, and no
// word of the database's own message (issue 18, item 10: it answered 500
// with the connection string in error_description).
func TestTokenEndpointHidesStorageFailures(t *testing.T) {
	env := testenv.New(t)
	if err := env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testenv.AdminBot, testenv.AdminBotSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), `"temporarily_unavailable"`) || strings.Contains(string(body), "sql") || strings.Contains(string(body), "database") {
		t.Fatalf("token endpoint without a store: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// TestCodeExchangeDuringAnOutage: a good code exchanged while the store
// is away is a retry (503 temporarily_unavailable), not invalid_grant,
// which would make the relying party drop a good sign-in (issue 18, item
// 10).
func TestCodeExchangeDuringAnOutage(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	ar := rp.AuthURL(nil)
	p := b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)
	code := testenv.MustCallback(t, p).Code(t)
	if err := env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {testenv.PublicClient},
		"redirect_uri": {testenv.RedirectURI}, "code_verifier": {ar.Verifier}}
	resp, err := http.PostForm(env.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "temporarily_unavailable") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("code exchange without the store: %d %s", resp.StatusCode, body)
	}
}

// TestUserinfoDuringAnOutage: a good access token at userinfo while the
// store is away is a retry, not invalid_token (which would sign the user
// out of the relying party).
func TestUserinfoDuringAnOutage(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	ar := rp.AuthURL(nil)
	tok, err := rp.Exchange(testenv.MustCallback(t, b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.OAuth.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "temporarily_unavailable") {
		t.Fatalf("userinfo without the store: %d %s", resp.StatusCode, body)
	}
}
