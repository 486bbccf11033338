package config_test

import (
	"slices"
	"testing"
)

// TestEAM: the external-MFA example has its Entra client with the
// id_token response and RS256, the upstream whose hints it trusts, and
// Entra's acr names at aal2 (SPEC §11).
func TestEAM(t *testing.T) {
	cleanEnv(t)
	c := load(t, "eam.yaml")
	entra := client(t, c, "entra-eam")
	if !entra.ExternalMFA || !slices.Equal(entra.ResponseTypes, []string{"id_token"}) || entra.IDTokenSigningAlg != "RS256" ||
		!slices.Equal(entra.RedirectURIs, []string{"https://login.microsoftonline.com/common/federation/externalauthprovider"}) {
		t.Errorf("entra-eam %+v", entra)
	}
	if u := c.Upstream; u == nil || !u.TrustIDTokenHint || u.CreateUsersFromHint || u.ClientID == "" {
		t.Errorf("upstream %+v", u)
	}
	for _, name := range []string{"aal2", "possessionorinherence", "knowledgeorpossession"} {
		if !slices.Contains(c.ACR["aal2"], name) {
			t.Errorf("acr.aal2 = %v lacks %s", c.ACR["aal2"], name)
		}
	}
	if !slices.Equal(c.LevelOrder(), []string{"aal1", "aal2", "aal3"}) {
		t.Errorf("levels %v", c.LevelOrder())
	}
}
