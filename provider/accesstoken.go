package provider

import (
	"context"
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
// tokenCrypto hands a minted token back unchanged. Presented tokens never
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

// mintAccessToken signs the access token at describes, with the client's
// algorithm, and returns it as the ID zitadel passes to tokenCrypto.
func (o oidcStorage) mintAccessToken(ctx context.Context, at storage.AccessToken, subject string) (string, error) {
	now := time.Now() // as zitadel stamps its tokens
	claims := accessTokenClaims{
		Issuer: o.s.cfg.Issuer, Subject: subject, Audience: at.Audience, ClientID: at.ClientID,
		Expiry: at.ExpiresAt.Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(), ID: at.ID,
		Scope: strings.Join(at.Scopes, " "),
	}
	if len(claims.Audience) == 0 {
		claims.Audience = []string{at.ClientID}
	}
	if at.ACR != "" {
		claims.ACR, claims.AMR, claims.AuthTime = at.ACR, at.AMR, at.AuthTime.Unix()
	} else if c, ok := o.s.clients[at.ClientID]; ok {
		claims.Permissions = c.cfg.Permissions
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	key, err := o.SigningKey(ctx)
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

// tokenCrypto is zitadel's encryption of codes, which also passes minted
// access tokens through (see above).
type tokenCrypto struct{ op.Crypto }

func (c tokenCrypto) Encrypt(s string) (string, error) {
	if rest, ok := strings.CutPrefix(s, mintedPrefix); ok {
		token, _, _ := strings.Cut(rest, ":")
		return token, nil
	}
	return c.Crypto.Encrypt(s)
}
