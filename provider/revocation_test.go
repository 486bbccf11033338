package provider_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// clientPost posts form to path with the confidential client's Basic
// credentials, as RFC 6749 §2.3.1 encodes them.
func clientPost(t *testing.T, env *testenv.Env, path string, form url.Values, secret string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", env.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(testenv.ConfidentialClient), url.QueryEscape(secret))
	return send(t, req)
}

// TestRevokingARefreshToken replays what openid-client's tokenRevocation
// does: POST /revoke with the refresh token, no hint or the hint
// refresh_token. The answer was 200 and the token went on working. It
// must be dead, and so must the access tokens of its grant (RFC 7009
// §2.1).
func TestRevokingARefreshToken(t *testing.T) {
	for _, hint := range []string{"", "refresh_token"} {
		env := testenv.New(t)
		env.AddUser(t, "alice", alicePassword)
		rp := env.NewRP(t, testenv.ConfidentialClient, testenv.ConfidentialSecret)
		tok := login(t, env, env.NewBrowser(t), rp, nil, "alice", alicePassword)
		if tok.OAuth.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		form := url.Values{"token": {tok.OAuth.RefreshToken}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		if resp, body := clientPost(t, env, "/revoke", form, testenv.ConfidentialSecret); resp.StatusCode != http.StatusOK {
			t.Fatalf("hint %q: revoke: %d %s", hint, resp.StatusCode, body)
		}
		if _, err := rp.Refresh(tok.OAuth.RefreshToken); err == nil {
			t.Fatalf("hint %q: the revoked refresh token still refreshes", hint)
		}
		_, body := clientPost(t, env, "/oauth/introspect", url.Values{"token": {tok.OAuth.AccessToken}}, testenv.ConfidentialSecret)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil || got["active"] != false {
			t.Fatalf("hint %q: the grant's access token after revocation: %s", hint, body)
		}
		if n := len(listEvents(t, env, "token.revoked")); n != 1 {
			t.Fatalf("hint %q: %d token.revoked events, want 1", hint, n)
		}
	}
}

// TestBasicChallengeOnFailedClientAuth: a client that sent Basic
// credentials and failed gets 401 with the Basic challenge (RFC 6749
// §5.2), at the token, introspection and revocation endpoints.
func TestBasicChallengeOnFailedClientAuth(t *testing.T) {
	env := testenv.New(t)
	for _, path := range []string{"/oauth/token", "/oauth/introspect", "/revoke"} {
		resp, body := clientPost(t, env, path, url.Values{"grant_type": {"client_credentials"}, "token": {"x"}}, "wrong")
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s with a wrong secret: %d, WWW-Authenticate %q: %s", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	}
}

// TestTokenEndpointAuthenticatesTheClientFirst: a wrong secret is
// invalid_client whatever the code, so that whoever holds a code without
// the secret cannot learn whether it is live (found with mod_auth_openidc:
// a made-up code answered invalid_grant, a real one invalid_client).
func TestTokenEndpointAuthenticatesTheClientFirst(t *testing.T) {
	env := testenv.New(t)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"made-up"}, "redirect_uri": {testenv.RedirectURI}}
	resp, body := clientPost(t, env, "/oauth/token", form, "wrong")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"invalid_client"`) {
		t.Fatalf("a made-up code with a wrong secret (Basic): %d %s, want 401 invalid_client", resp.StatusCode, body)
	}
	post := url.Values{"client_id": {testenv.ConfidentialClient}, "client_secret": {"wrong"}}
	for k, v := range form {
		post[k] = v
	}
	req, _ := http.NewRequest("POST", env.URL+"/oauth/token", strings.NewReader(post.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, body := send(t, req); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"invalid_client"`) {
		t.Fatalf("a made-up code with a wrong secret (post): %d %s, want 401 invalid_client", resp.StatusCode, body)
	}
	if resp, body := clientPost(t, env, "/oauth/token", form, testenv.ConfidentialSecret); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"invalid_grant"`) {
		t.Fatalf("a made-up code with the right secret: %d %s, want 400 invalid_grant", resp.StatusCode, body)
	}
	if n := len(listEvents(t, env, "token.client_auth_failed")); n != 2 {
		t.Fatalf("%d client authentication failures audited, want 2", n)
	}
}
