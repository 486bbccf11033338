package protocol

import (
	"encoding/json"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/provider/storage"
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

// mintedPrefix marks a token ID that is a minted access token. JWTs hold
// no colon, so the token ends at the first one after it.
const mintedPrefix = "at+jwt:"

// accessTokenClaims is the payload of an access token: RFC 9068 §2.2 and
// the authentication it carries (acr, amr, auth_time), or a client's
// permissions for client credentials.
type accessTokenClaims struct {
	Issuer      string   `json:"iss"`
	Subject     string   `json:"sub"`
	Audience    []string `json:"aud"`
	ClientID    string   `json:"client_id"`
	Expiry      int64    `json:"exp"`
	IssuedAt    int64    `json:"iat"`
	NotBefore   int64    `json:"nbf"`
	ID          string   `json:"jti"`
	Scope       string   `json:"scope,omitempty"`
	ACR         string   `json:"acr,omitempty"`
	AMR         []string `json:"amr,omitempty"`
	AuthTime    int64    `json:"auth_time,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// MintAccessToken signs the access token at describes for subject, issued
// by issuer at now (the provider's clock, that of at.ExpiresAt and of every
// check of the token), with key (the client's algorithm). permissions are
// the client's, carried by a token of client credentials (at without an
// acr). It returns the token as the ID zitadel passes to TokenCrypto.
func MintAccessToken(key op.SigningKey, issuer string, now time.Time, at storage.AccessToken, subject string, permissions []string) (string, error) {
	claims := accessTokenClaims{
		Issuer: issuer, Subject: subject, Audience: at.Audience, ClientID: at.ClientID,
		Expiry: at.ExpiresAt.Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(), ID: at.ID,
		Scope: strings.Join(at.Scopes, " "),
	}
	if len(claims.Audience) == 0 {
		claims.Audience = []string{at.ClientID}
	}
	if at.ACR != "" {
		claims.ACR, claims.AMR, claims.AuthTime = at.ACR, at.AMR, at.AuthTime.Unix()
	} else {
		claims.Permissions = permissions
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.SignatureAlgorithm(),
		Key: jose.JSONWebKey{Key: key.Key(), KeyID: key.ID()}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", err
	}
	return mintedPrefix + token, nil
}

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
