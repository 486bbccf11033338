package provider_test

import (
	"net/url"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestKeyRotation: after a rotation new tokens carry the new key's kid,
// and tokens signed with the old key still verify because the old key
// stays in the JWKS until they have expired.
func TestKeyRotation(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)
	before := login(t, env, b, rp, url.Values{}, "alice", alicePassword)
	oldKID := jwtHeader(t, before.RawID)["kid"]

	if _, err := env.Server.RotateSigningKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := login(t, env, b, env.NewRP(t, testenv.PublicClient, ""), url.Values{}, "alice", alicePassword)
	newKID := jwtHeader(t, after.RawID)["kid"]
	if newKID == oldKID {
		t.Fatalf("still signing with %v after rotation", oldKID)
	}
	// A fresh relying party fetches the JWKS now and still accepts the old token.
	fresh := env.NewRP(t, testenv.PublicClient, "")
	if _, err := fresh.Verifier.Verify(t.Context(), before.RawID); err != nil {
		t.Fatalf("token signed before the rotation no longer verifies: %v", err)
	}
}
