package provider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// escapedClient registers a redirect URI that holds a percent-escape.
const (
	escapedClient   = "escaped-app"
	escapedRedirect = "http://rp.test/callback?tenant=a%2Fb"
)

func withEscapedClient(c *config.Config) {
	c.Clients = append(c.Clients, config.Client{ID: escapedClient, RedirectURIs: []string{escapedRedirect},
		GrantTypes: []string{"authorization_code"}})
}

// aliceSignedIn returns a browser whose session already satisfies aal1, so
// that an authorization request it sends is answered with a code at once.
func aliceSignedIn(t *testing.T, env *testenv.Env) *testenv.Browser {
	t.Helper()
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	login(t, env, b, env.NewRP(t, testenv.PublicClient, ""), url.Values{"acr_values": {"aal1"}}, "alice", alicePassword)
	return b
}

// authorizeURL is an authorization request of clientID with PKCE S256
// and the given redirect_uri values, sent as they are.
func authorizeURL(env *testenv.Env, clientID string, redirectURIs ...string) string {
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"},
		"acr_values": {"aal1"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"}, "redirect_uri": redirectURIs}
	return env.URL + "/authorize?" + q.Encode()
}

// TestRedirectURIMatchesExactly: the authorization endpoint takes a
// redirect_uri only if it is a registered one character for character,
// given once (RFC 6749 §3.1.2.3). zitadel percent-decodes before it
// compares, so a registered URI encoded once more (the attack: the code
// went to that spelling, a relative address on stepup's own origin) or in
// part passed; now each gets an error page, and no code goes anywhere,
// even for a browser whose session would get one at once.
func TestRedirectURIMatchesExactly(t *testing.T) {
	env := testenv.New(t, testenv.WithConfig(withEscapedClient))
	b := aliceSignedIn(t, env)
	cases := map[string][]string{
		"encoded again":   {url.QueryEscape(testenv.RedirectURI)},
		"encoded in part": {"http://rp.test/call%62ack"},
		"given twice":     {testenv.RedirectURI, url.QueryEscape(testenv.RedirectURI)},
	}
	for name, uris := range cases {
		for _, clientID := range []string{testenv.PublicClient, testenv.ConfidentialClient} {
			p := b.Get(authorizeURL(env, clientID, uris...))
			if p.Status != http.StatusBadRequest || p.Location != nil || p.URL.Path != "/authorize" ||
				p.URL.Query().Has("code") || strings.Contains(p.Body, "code=") {
				t.Errorf("%s, %s: %d at %s (redirect %v), want a 400 page at /authorize and no code:\n%s",
					name, clientID, p.Status, p.URL, p.Location, p.Text())
				continue
			}
			if !strings.Contains(p.Text(), "character for character") {
				t.Errorf("%s, %s: the page does not say what is wrong:\n%s", name, clientID, p.Text())
			}
		}
	}
	refused := listEvents(t, env, "authorize.redirect_refused")
	if len(refused) != 2*len(cases) {
		t.Fatalf("%d refusals audited, want %d", len(refused), 2*len(cases))
	}
	for _, e := range refused {
		if e.ClientID == "" || e.Details["redirect_uri"] == "" || e.Outcome != "failure" {
			t.Fatalf("refusal audited as %+v, want the client and the URI", e)
		}
	}

	// The registered URIs themselves still work, one with an escape in it
	// included (zitadel's decoding had it never match itself), and the
	// decoded spelling of that one does not.
	for clientID, uri := range map[string]string{testenv.PublicClient: testenv.RedirectURI, escapedClient: escapedRedirect} {
		p := b.Get(authorizeURL(env, clientID, uri))
		want, _ := url.Parse(uri)
		loc := p.Location
		if loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != testenv.RedirectURI || !loc.Query().Has("code") ||
			loc.Query().Get("tenant") != want.Query().Get("tenant") {
			t.Errorf("%s with its registered %s: %d, redirect %v, want a code there", clientID, uri, p.Status, loc)
		}
	}
	decoded, _ := url.QueryUnescape(escapedRedirect)
	if p := b.Get(authorizeURL(env, escapedClient, decoded)); p.Status != http.StatusBadRequest || p.Location != nil {
		t.Errorf("%s with %s, its registered URI decoded: %d, redirect %v, want a 400 page", escapedClient, decoded, p.Status, p.Location)
	}
}

// TestPKCEPlainRefused: discovery offers S256 alone, and every client,
// confidential ones too, is held to it: a code_challenge with method plain,
// or with none (which means plain, RFC 7636 §4.3), is refused with
// invalid_request, and no code is issued even to a signed-in browser.
func TestPKCEPlainRefused(t *testing.T) {
	env := testenv.New(t)
	b := aliceSignedIn(t, env)
	for _, clientID := range []string{testenv.PublicClient, testenv.ConfidentialClient} {
		for _, method := range []string{"plain", ""} {
			q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"},
				"redirect_uri": {testenv.RedirectURI}, "code_challenge": {strings.Repeat("v", 43)}}
			if method != "" {
				q.Set("code_challenge_method", method)
			}
			cb := testenv.MustCallback(t, b.Get(env.URL+"/authorize?"+q.Encode()))
			if cb.Params.Get("error") != "invalid_request" || cb.Params.Has("code") ||
				!strings.Contains(cb.Params.Get("error_description"), "S256") {
				t.Errorf("%s, method %q: callback %v, want invalid_request naming S256 and no code", clientID, method, cb.Params)
			}
		}
	}
}
