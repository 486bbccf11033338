package provider_test

import (
	"encoding/json"
	"net/http"
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
