package provider_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestStepUpInChromiumReachesTheClient signs in and steps up in a real
// browser, to a relying party on its own origin. Chromium checks a page's
// CSP form-action against every redirect its form submission leads to, so
// the code's POST ending in a redirect to the client is refused unless the
// page allows the client's origin.
func TestStepUpInChromiumReachesTheClient(t *testing.T) {
	callbacks := make(chan url.Values, 1)
	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cb" {
			select {
			case callbacks <- r.URL.Query():
			default:
			}
		}
		w.Write([]byte("<!doctype html><title>client</title><p id=back>back at the client</p>"))
	}))
	t.Cleanup(client.Close)
	env := testenv.New(t, testenv.WithMethods("totp"), testenv.WithConfig(func(c *config.Config) {
		c.Clients = append(c.Clients, config.Client{ID: "browser-app", RedirectURIs: []string{client.URL + "/cb"}})
	}))
	env.AddUser(t, "alice", alicePassword)
	gb := env.NewBrowser(t)
	gb.SubmitPassword(gb.Get(env.URL+"/account"), "alice", alicePassword)
	secret := gb.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)

	rp := env.NewRP(t, "browser-app", "")
	rp.OAuth.RedirectURL = client.URL + "/cb"
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	ctx := testenv.NewChrome(t)
	do := chromeStep(t, ctx)
	chromeSignIn(t, do, env, ar.URL, "alice", alicePassword, secret, "back")
	var got url.Values
	select {
	case got = <-callbacks:
	default:
		t.Fatal("the client's callback was not called")
	}
	if got.Get("state") != ar.State {
		t.Fatalf("callback %v, want state %q", got, ar.State)
	}
	tok, err := rp.Exchange(got.Get("code"), ar)
	if err != nil || tok.Claims.ACR != "aal2" {
		t.Fatalf("exchange: %v %+v", err, tok)
	}
}
