package protocol

import (
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// Access tokens are JWTs after RFC 9068, typed "at+jwt" as its section
// 2.1 requires. zitadel signs JWT access tokens only with typ "JWT", so
// stepup mints them itself, in the storage call that records them, and
// gives zitadel the finished token as the token's ID (prefixed
// mintedPrefix). The clients are of zitadel's "bearer" type, for which
// zitadel asks Crypto to encrypt "ID:subject" into the token it returns;
// TokenCrypto hands a minted token back unchanged. Presented tokens never
// decrypt, so zitadel verifies them as JWTs (userinfo, introspection,
// revocation), as before.

// mintedPrefix marks a token ID that is a minted access token
// (signing.MintAccessToken). JWTs hold no colon, so the token ends at the
// first one after it.
const mintedPrefix = "at+jwt:"

// TokenCrypto is zitadel's encryption of codes, which also passes minted
// access tokens through (see above).
type TokenCrypto struct{ op.Crypto }

// Encrypt returns a minted access token unchanged and seals anything else.
func (c TokenCrypto) Encrypt(s string) (string, error) {
	if rest, ok := strings.CutPrefix(s, mintedPrefix); ok {
		token, _, _ := strings.Cut(rest, ":")
		return token, nil
	}
	return c.Crypto.Encrypt(s)
}

// zitadel takes no clock: where it puts a time on the wire, it reads the
// wall clock. expires_in in a token response is the expiry
// CreateAccessToken returns minus zitadel's time.Now, and an ID token's exp
// is zitadel's time.Now plus the client's IDTokenLifetime. So stepup hands
// zitadel an expiry moved onto the wall clock (OnWallClock) and a lifetime
// corrected by the same distance (Client.IDTokenLifetime): expires_in and
// exp then follow the provider's clock (Options.Now), as the access
// token's iat, nbf and exp do, and as the store judges every expiry. On
// the wall clock, as in stepup serve, both corrections are nil. What stays
// on the wall clock: an ID token's iat, which zitadel stamps and nothing
// sets, and zitadel's own checks of an access token's exp (userinfo,
// introspection, revocation) and of an id_token_hint's; behind the first,
// the token's record, read on each of those calls, expires by the
// provider's clock all the same.

// OnWallClock returns the instant of the wall clock that is as far from
// the wall clock's now as t is from the provider's now.
func OnWallClock(now, t time.Time) time.Time { return time.Now().Add(t.Sub(now)) }
