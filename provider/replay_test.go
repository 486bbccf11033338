package provider_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// tokenCall posts form to the token endpoint as the confidential client
// (secret: its secret, or a wrong one) and returns the status and the
// decoded JSON answer.
func tokenCall(t *testing.T, rp *testenv.RP, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", rp.OAuth.Endpoint.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.OAuth.ClientID), url.QueryEscape(secret))
	resp, err := rp.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("token endpoint answered %d with no JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// accessTokenLive asks userinfo and introspection about an access token
// and reports whether both accept it; they must agree.
func accessTokenLive(t *testing.T, env *testenv.Env, rp *testenv.RP, token string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", rp.Provider.UserInfoEndpoint(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := rp.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	userinfo := resp.StatusCode == http.StatusOK

	form := url.Values{"token": {token}}
	req, _ = http.NewRequest("POST", env.URL+"/oauth/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testenv.ConfidentialClient, testenv.ConfidentialSecret)
	resp, err = rp.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ir map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&ir); err != nil {
		t.Fatalf("introspection: %v", err)
	}
	active := ir["active"] == true
	if userinfo != active {
		t.Fatalf("userinfo accepts the access token: %v, introspection says active: %v", userinfo, active)
	}
	return active
}

// TestCodeReplayRevokesItsTokens: a second use of an authorization code by
// its client is refused and revokes every token the first use gave, and
// those rotated from them (RFC 6749 §4.1.2): the access tokens fail at
// userinfo and introspection, the refresh token fails at the token
// endpoint. The replay is audited. Both stores.
func TestCodeReplayRevokesItsTokens(t *testing.T) {
	for name, opts := range map[string][]testenv.Option{"sqlite": nil, "postgres": {testenv.WithPostgres()}} {
		t.Run(name, func(t *testing.T) { testCodeReplayRevokesItsTokens(t, testenv.New(t, opts...)) })
	}
}

func testCodeReplayRevokesItsTokens(t *testing.T, env *testenv.Env) {
	alice := env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.ConfidentialClient, testenv.ConfidentialSecret)
	b := env.NewBrowser(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal1"}})
	code := testenv.MustCallback(t, b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)).Code(t)
	first, err := rp.Exchange(code, ar)
	if err != nil {
		t.Fatalf("first redemption: %v", err)
	}
	if first.OAuth.RefreshToken == "" {
		t.Fatal("the first redemption gave no refresh token")
	}
	// The grant goes on: one rotation, whose tokens are the grant's too.
	rotated, err := rp.Refresh(first.OAuth.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	for _, at := range []string{first.OAuth.AccessToken, rotated.OAuth.AccessToken} {
		if !accessTokenLive(t, env, rp, at) {
			t.Fatal("an access token of the grant is not live before the replay")
		}
	}

	status, answer := tokenCall(t, rp, testenv.ConfidentialSecret, url.Values{"grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {testenv.RedirectURI}, "code_verifier": {ar.Verifier}})
	if status != http.StatusBadRequest || answer["error"] != "invalid_grant" || answer["access_token"] != nil {
		t.Fatalf("replayed code: %d %v, want 400 invalid_grant and no token", status, answer)
	}

	for name, at := range map[string]string{"first": first.OAuth.AccessToken, "rotated": rotated.OAuth.AccessToken} {
		if accessTokenLive(t, env, rp, at) {
			t.Errorf("the %s access token is still live after the code's replay", name)
		}
	}
	for name, rt := range map[string]string{"first": first.OAuth.RefreshToken, "rotated": rotated.OAuth.RefreshToken} {
		if _, err := rp.Refresh(rt); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("refresh with the %s refresh token after the code's replay: %v, want invalid_grant", name, err)
		}
	}

	replays := listEvents(t, env, "token.code_replayed")
	if len(replays) != 1 {
		t.Fatalf("%d replays audited, want 1: %+v", len(replays), replays)
	}
	if e := replays[0]; e.ClientID != testenv.ConfidentialClient || e.UserID != alice.ID || e.Outcome != "failure" ||
		e.Details["revoked_tokens"] != "3" {
		t.Fatalf("replay audited as %+v, want the client, alice and 3 revoked tokens (the refresh token and two access tokens)", e)
	}
	var reasons []string
	for _, e := range listEvents(t, env, "token.code_refused") {
		reasons = append(reasons, e.Details["reason"])
	}
	if len(reasons) != 1 || reasons[0] != "already used" {
		t.Fatalf("refusals audited with reasons %q, want one, \"already used\"", reasons)
	}
}

// TestCodeReplayWithoutCredentialsRevokesNothing: a second use of a code
// that would not have passed as a first use (a wrong secret, a wrong PKCE
// verifier, another client, another redirect_uri) is refused, and leaves
// the client's tokens alone: a stolen code alone cannot end its grant.
func TestCodeReplayWithoutCredentialsRevokesNothing(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.ConfidentialClient, testenv.ConfidentialSecret)
	b := env.NewBrowser(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal1"}})
	code := testenv.MustCallback(t, b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)).Code(t)
	first, err := rp.Exchange(code, ar)
	if err != nil {
		t.Fatalf("first redemption: %v", err)
	}
	replay := func(verifier, redirectURI string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	}
	other := env.NewRP(t, testenv.PublicClient, "")
	cases := []struct {
		name   string
		rp     *testenv.RP
		secret string
		form   url.Values
	}{
		{"wrong secret", rp, "not-the-secret", replay(ar.Verifier, testenv.RedirectURI)},
		{"wrong verifier", rp, testenv.ConfidentialSecret, replay(strings.Repeat("x", 43), testenv.RedirectURI)},
		{"another redirect_uri", rp, testenv.ConfidentialSecret, replay(ar.Verifier, "http://rp.test/other")},
		{"another client", other, "", replay(ar.Verifier, testenv.RedirectURI)},
	}
	for _, c := range cases {
		status, answer := tokenCall(t, c.rp, c.secret, c.form)
		if status < 400 || answer["access_token"] != nil {
			t.Errorf("%s: %d %v, want an error and no token", c.name, status, answer)
		}
		if !accessTokenLive(t, env, rp, first.OAuth.AccessToken) {
			t.Fatalf("%s: the access token died", c.name)
		}
	}
	if _, err := rp.Refresh(first.OAuth.RefreshToken); err != nil {
		t.Fatalf("refresh after the refused replays: %v", err)
	}
	if got := listEvents(t, env, "token.code_replayed"); len(got) != 0 {
		t.Fatalf("refused replays audited as revocations: %+v", got)
	}
	// A wrong secret, and a public client sending Basic credentials, fail
	// client authentication before the code is looked at.
	if got := listEvents(t, env, "token.client_auth_failed"); len(got) != 2 {
		t.Fatalf("%d client authentication failures audited, want 2", len(got))
	}
	if got := listEvents(t, env, "token.code_refused"); len(got) != len(cases)-2 {
		t.Fatalf("%d refusals audited, want %d", len(got), len(cases)-2)
	}
}
