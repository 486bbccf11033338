package provider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestTokenAnswersAreNotCached: every answer of the token endpoint, tokens
// or an error, says Cache-Control: no-store and Pragma: no-cache
// (RFC 6749 §5.1, §5.2).
func TestTokenAnswersAreNotCached(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.ConfidentialClient, testenv.ConfidentialSecret)
	b := env.NewBrowser(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal1"}})
	code := testenv.MustCallback(t, b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)).Code(t)
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {testenv.RedirectURI}, "code_verifier": {ar.Verifier}}
	calls := []struct {
		name   string
		secret string
		form   url.Values
		status int
	}{
		{"code exchange", testenv.ConfidentialSecret, exchange, http.StatusOK},
		{"client credentials", testenv.ConfidentialSecret, url.Values{"grant_type": {"client_credentials"}}, http.StatusOK},
		{"a spent code", testenv.ConfidentialSecret, exchange, http.StatusBadRequest},
		{"a wrong secret", "wrong", url.Values{"grant_type": {"client_credentials"}}, http.StatusUnauthorized},
		{"an unknown grant", testenv.ConfidentialSecret, url.Values{"grant_type": {"password"}}, http.StatusBadRequest},
	}
	for _, c := range calls {
		req, _ := http.NewRequest("POST", rp.OAuth.Endpoint.TokenURL, strings.NewReader(c.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testenv.ConfidentialClient, c.secret)
		resp, err := rp.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if cc, p := resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"); cc != "no-store" || p != "no-cache" {
			t.Errorf("%s: Cache-Control %q, Pragma %q; want no-store and no-cache", c.name, cc, p)
		}
	}
}

// TestHSTSOverHTTPS: with an https issuer every answer tells browsers to
// use https only (Strict-Transport-Security); with an http issuer (a
// laptop, a test) none does, as RFC 6797 §7.2 asks of plain http.
func TestHSTSOverHTTPS(t *testing.T) {
	for issuer, want := range map[string]bool{"https://stepup.example": true, "": false} {
		env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
			if issuer != "" {
				c.Issuer = issuer
			}
		}))
		for _, path := range []string{"/healthz", "/login?id=nope", "/.well-known/openid-configuration"} {
			resp, err := env.HTTP.Client().Get(env.HTTP.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			hsts := resp.Header.Get("Strict-Transport-Security")
			if want && !strings.HasPrefix(hsts, "max-age=31536000") || !want && hsts != "" {
				t.Errorf("issuer %s, %s: Strict-Transport-Security %q", env.URL, path, hsts)
			}
		}
	}
}
