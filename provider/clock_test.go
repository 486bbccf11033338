package provider_test

import (
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestTokensFollowTheProviderClock: the times a token response carries
// are those of the provider's clock (the Env's, years from the wall
// clock), also where zitadel stamps them: the ID token's exp, expires_in,
// and the access token's iat, nbf and exp; and once that clock has passed
// them, the RP refuses the ID token and userinfo the access token.
func TestTokensFollowTheProviderClock(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	env.Clock.Advance(time.Hour) // not only at ClockStart
	before := env.Clock.Now().Unix()
	tok := login(t, env, env.NewBrowser(t), rp, url.Values{"acr_values": {"aal1"}}, "alice", alicePassword)
	after := env.Clock.Now().Unix()
	ttl := env.Config.Tokens
	stamped := func(what string, got int64, plus time.Duration) {
		t.Helper()
		if from, to := before+int64(plus.Seconds()), after+int64(plus.Seconds()); got < from || got > to {
			t.Fatalf("%s = %s, want between %s and %s (the provider's clock)", what,
				time.Unix(got, 0).UTC(), time.Unix(from, 0).UTC(), time.Unix(to, 0).UTC())
		}
	}
	stamped("the ID token's exp", tok.IDToken.Expiry.Unix(), ttl.IDTokenTTL)
	at := decodeJWT(t, tok.OAuth.AccessToken)
	for _, claim := range []string{"iat", "nbf"} {
		v, _ := at[claim].(float64)
		stamped("the access token's "+claim, int64(v), 0)
	}
	exp, _ := at["exp"].(float64)
	stamped("the access token's exp", int64(exp), ttl.AccessTokenTTL)
	if in := tok.OAuth.ExpiresIn; in <= 0 || in > int64(ttl.AccessTokenTTL.Seconds()) {
		t.Fatalf("expires_in = %d s, want at most the access token's TTL, %v", in, ttl.AccessTokenTTL)
	}

	env.Clock.Advance(max(ttl.IDTokenTTL, ttl.AccessTokenTTL) + time.Second)
	if _, err := rp.Verifier.Verify(t.Context(), tok.RawID); err == nil {
		t.Fatal("the RP accepted the ID token after its exp")
	}
	if _, err := rp.Provider.UserInfo(t.Context(), rp.OAuth.TokenSource(t.Context(), tok.OAuth)); err == nil {
		t.Fatal("userinfo accepted the access token after its exp")
	}
}

// TestReplicaSeesRotationByItsClock: a replica caches the signing keys
// for a while, measured on the provider's clock, then reads the key
// another replica rotated to.
func TestReplicaSeesRotationByItsClock(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	secret := filepath.Join(t.TempDir(), "secret.key")
	a := testenv.New(t, testenv.WithPostgresDSN(dsn), testenv.WithSecretFile(secret))
	b := testenv.New(t, testenv.WithPostgresDSN(dsn), testenv.WithSecretFile(secret))
	b.AddUser(t, "alice", alicePassword)
	kid := func() any {
		t.Helper()
		tok := login(t, b, b.NewBrowser(t), b.NewRP(t, testenv.PublicClient, ""), nil, "alice", alicePassword)
		return jwtHeader(t, tok.RawID)["kid"]
	}
	old := kid()
	if _, err := a.Server.RotateSigningKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(time.Minute) // well past the cache's life
	if now := kid(); now == old {
		t.Fatalf("replica b still signs with %v a minute after a rotated", old)
	}
}
