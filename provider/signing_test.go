package provider_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// discoveredAlgs is discovery's id_token_signing_alg_values_supported.
func discoveredAlgs(t *testing.T, env *testenv.Env) []string {
	t.Helper()
	resp, err := http.Get(env.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Algs
}

// tokenAlgs signs alice in through clientID and returns the algorithms of
// the ID token and of the access token.
func tokenAlgs(t *testing.T, env *testenv.Env, clientID string) (idAlg, atAlg any) {
	t.Helper()
	tok := login(t, env, env.NewBrowser(t), env.NewRP(t, clientID, ""), nil, "alice", alicePassword)
	return jwtHeader(t, tok.RawID)["alg"], jwtHeader(t, tok.OAuth.AccessToken)["alg"]
}

// TestSigningAlgDefaultsToRS256: SPEC §3, tokens.signing_alg RS256 for
// clients that name none, as OIDC Registration makes the default and
// relying-party libraries (express-openid-connect, Spring Security) expect;
// ES256 is one setting away, for every client or for one.
func TestSigningAlgDefaultsToRS256(t *testing.T) {
	const ecClient = "ec-app"
	withEC := testenv.WithConfig(func(c *config.Config) {
		c.Clients = append(c.Clients, config.Client{ID: ecClient, RedirectURIs: []string{testenv.RedirectURI}, IDTokenSigningAlg: "ES256"})
	})
	for _, tc := range []struct {
		name      string
		opts      []testenv.Option
		discovery string // first of id_token_signing_alg_values_supported
		clients   map[string]string
	}{
		{"default", []testenv.Option{withEC}, "RS256", map[string]string{
			testenv.PublicClient: "RS256", testenv.RS256Client: "RS256", ecClient: "ES256"}},
		{"tokens.signing_alg ES256", []testenv.Option{withEC, testenv.WithConfig(func(c *config.Config) { c.Tokens.SigningAlg = "ES256" })}, "ES256", map[string]string{
			testenv.PublicClient: "ES256", testenv.RS256Client: "RS256", ecClient: "ES256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.New(t, tc.opts...)
			env.AddUser(t, "alice", alicePassword)
			if got := discoveredAlgs(t, env); len(got) != 2 || got[0] != tc.discovery {
				t.Errorf("id_token_signing_alg_values_supported = %v, want %s first and both", got, tc.discovery)
			}
			for client, want := range tc.clients {
				idAlg, atAlg := tokenAlgs(t, env, client)
				if idAlg != want || atAlg != want {
					t.Errorf("client %s: ID token %v, access token %v, want %s", client, idAlg, atAlg, want)
				}
			}
		})
	}
}

// formEncodeAll percent-encodes every character but letters and digits,
// as openid-client does for client_secret_basic (RFC 6749 §2.3.1 and
// Appendix B: "-" becomes %2D).
func formEncodeAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestSigningAlgOfEncodedBasicAuthClient: a confidential client whose
// library encodes its credentials before Basic auth, as RFC 6749 §2.3.1
// says, gets tokens in its own algorithm, not the default's.
func TestSigningAlgOfEncodedBasicAuthClient(t *testing.T) {
	const id, secret = "openid-client_rs.256~app", "s3cret-with_all.the~marks+/="
	for _, tc := range []struct{ global, client string }{{"ES256", "RS256"}, {"RS256", "ES256"}} {
		t.Run("client "+tc.client, func(t *testing.T) {
			env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
				c.Tokens.SigningAlg = tc.global
				c.Clients = append(c.Clients, config.Client{ID: id, Secret: secret, RedirectURIs: []string{testenv.RedirectURI},
					IDTokenSigningAlg: tc.client})
			}))
			env.AddUser(t, "alice", alicePassword)
			rp := env.NewRP(t, id, secret)
			b := env.NewBrowser(t)
			ar := rp.AuthURL(nil)
			code := testenv.MustCallback(t, b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)).Code(t)

			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testenv.RedirectURI}, "code_verifier": {ar.Verifier}}
			req, _ := http.NewRequest("POST", rp.OAuth.Endpoint.TokenURL, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			user := formEncodeAll(id)
			if !strings.Contains(user, "%2D") || !strings.Contains(user, "%5F") || !strings.Contains(user, "%2E") || !strings.Contains(user, "%7E") {
				t.Fatalf("the client ID is not encoded as openid-client does: %s", user)
			}
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+formEncodeAll(secret))))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				IDToken     string `json:"id_token"`
				AccessToken string `json:"access_token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("token request: %d %v", resp.StatusCode, err)
			}
			if alg := jwtHeader(t, out.IDToken)["alg"]; alg != tc.client {
				t.Errorf("ID token alg = %v, want the client's %s", alg, tc.client)
			}
			if alg := jwtHeader(t, out.AccessToken)["alg"]; alg != tc.client {
				t.Errorf("access token alg = %v, want the client's %s", alg, tc.client)
			}
			if _, err := rp.Verifier.Verify(t.Context(), out.IDToken); err != nil {
				t.Errorf("the client's verifier refuses its ID token: %v", err)
			}
		})
	}
}
