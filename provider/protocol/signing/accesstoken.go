package signing

import (
	"encoding/json"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Access tokens are JWTs after RFC 9068, typed "at+jwt" as its section
// 2.1 requires; zitadel signs JWT access tokens only with typ "JWT", so
// stepup mints them itself (see protocol/accesstoken.go for how zitadel
// is handed them).

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
// acr). It returns the compact JWS.
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
	return token, nil
}
