package config

import (
	"slices"
	"strings"
	"testing"
)

const upstreamTrusted = `upstream: {issuer: https://login.example.com/tenant/v2.0, client_id: stepup-app, trust_id_token_hint: true}
`

// TestExternalMFAClient: an external-MFA client gets the id_token response
// and RS256 by default, whatever tokens.signing_alg says, and refuses what
// Entra ID could not use, naming the key.
func TestExternalMFAClient(t *testing.T) {
	c := mustLoad(t, "tokens: {signing_alg: ES256}\n"+upstreamTrusted+`clients:
  - {id: entra, external_mfa: true, redirect_uris: [https://login.example.com/common/federation/externalauthprovider]}
`)
	cl := c.Clients[0]
	if !cl.ExternalMFA || !slices.Equal(cl.ResponseTypes, []string{"id_token"}) || cl.IDTokenSigningAlg != "RS256" {
		t.Errorf("external-MFA client = %+v, want response_types [id_token] and RS256", cl)
	}
	for _, tc := range []struct{ name, text, key, says string }{
		{"no upstream", `clients: [{id: entra, external_mfa: true, redirect_uris: [https://idp.example.com/cb]}]`,
			"clients[0].external_mfa", "trust_id_token_hint: true"},
		{"hint not trusted", `upstream: {issuer: https://idp.example.com, client_id: s}
clients: [{id: entra, external_mfa: true, redirect_uris: [https://idp.example.com/cb]}]`,
			"clients[0].external_mfa", "trust_id_token_hint: true"},
		{"no redirect", upstreamTrusted + `clients: [{id: entra, external_mfa: true, grant_types: [client_credentials], secret: s}]`,
			"clients[0].redirect_uris", "posted to"},
		{"code", upstreamTrusted + `clients: [{id: entra, external_mfa: true, response_types: [code], redirect_uris: [https://idp.example.com/cb]}]`,
			"clients[0].response_types", "[id_token]"},
		{"ES256", upstreamTrusted + `clients: [{id: entra, external_mfa: true, id_token_signed_response_alg: ES256, redirect_uris: [https://idp.example.com/cb]}]`,
			"clients[0].id_token_signed_response_alg", "RS256"},
	} {
		_, err := loadText(t, tc.text)
		if err == nil {
			t.Errorf("%s: loaded", tc.name)
			continue
		}
		if ce := asError(t, err); ce.Key != tc.key || !strings.Contains(ce.Msg, tc.says) {
			t.Errorf("%s: error %q at %q, want %q saying %q", tc.name, ce.Msg, ce.Key, tc.key, tc.says)
		}
	}
}
