package provider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestNoCORSOnPages replays a page on a sibling origin that fetched
// /authorize?prompt=none&response_mode=form_post with the browser's
// cookies and read the signed-in user's code: nothing that renders a page
// or uses the browser session may answer CORS, and by default nothing
// does at all.
func TestNoCORSOnPages(t *testing.T) {
	const evil = "http://evil.test"
	for _, allowed := range [][]string{nil, {"https://app.example"}} {
		env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.CORS.AllowedOrigins = allowed }))
		env.AddUser(t, "alice", alicePassword)
		rp := env.NewRP(t, testenv.PublicClient, "")
		b := env.NewBrowser(t)
		login(t, env, b, rp, nil, "alice", alicePassword)

		authorize := rp.AuthURL(url.Values{"prompt": {"none"}, "response_mode": {"form_post"}}).URL
		for _, origin := range append([]string{evil}, allowed...) {
			for _, u := range []string{authorize, env.URL + "/login?id=x", env.URL + "/account", env.URL + "/admin",
				env.URL + "/end_session", env.URL + "/logged-out"} {
				for _, method := range []string{http.MethodGet, http.MethodOptions} {
					req, _ := http.NewRequest(method, u, nil)
					req.Header.Set("Origin", origin)
					req.Header.Set("Access-Control-Request-Method", "GET")
					resp, err := b.Client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if got := resp.Header.Get("Access-Control-Allow-Origin") + resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
						t.Errorf("allowed %v: %s %s from %s answers CORS %q", allowed, method, u, origin, got)
					}
				}
			}
		}
	}
}

// TestCORSOnJSONEndpoints: token, userinfo, keys and discovery answer the
// configured origins, never with credentials, and no other origin.
func TestCORSOnJSONEndpoints(t *testing.T) {
	const app = "https://app.example"
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.CORS.AllowedOrigins = []string{app} }))
	for _, path := range []string{"/.well-known/openid-configuration", "/keys", "/userinfo", "/oauth/token"} {
		for _, origin := range []string{app, "http://evil.test"} {
			// A preflight, then the request itself.
			pre, _ := http.NewRequest(http.MethodOptions, env.URL+path, nil)
			pre.Header.Set("Origin", origin)
			pre.Header.Set("Access-Control-Request-Method", "POST")
			pre.Header.Set("Access-Control-Request-Headers", "authorization")
			get, _ := http.NewRequest(http.MethodGet, env.URL+path, strings.NewReader(""))
			get.Header.Set("Origin", origin)
			for _, req := range []*http.Request{pre, get} {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				want := ""
				if origin == app {
					want = app
				}
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
					t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q, want %q", req.Method, path, origin, got, want)
				}
				if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("%s %s from %s allows credentials", req.Method, path, origin)
				}
			}
		}
	}
}
