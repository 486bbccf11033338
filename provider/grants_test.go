package provider_test

import (
	"encoding/json"
	"net/http"
	"net/url"
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
