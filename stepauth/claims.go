package stepauth

import (
	"context"
	"slices"
	"time"
)

// Claims are the verified claims of an RFC 9068 access token.
type Claims struct {
	Issuer   string
	Subject  string   // the user, or the client itself for client credentials
	Audience []string // aud, as a list even when the token holds one string
	ClientID string   // client_id: the client the token was issued to
	JTI      string   // jti: the token's unique id
	IssuedAt time.Time
	Expiry   time.Time

	ACR      string    // acr exactly as the token names it; "" for client credentials
	AMR      []string  // amr (RFC 8176)
	AuthTime time.Time // auth_time; zero when the token has none

	Scopes      []string // scope, split on spaces
	Permissions []string // permissions, such as "manage_mfa"
}

// IsClient reports whether the token was issued by a client-credentials
// grant: its subject is the client itself and it names no acr.
func (c *Claims) IsClient() bool {
	return c.Subject == c.ClientID && c.ACR == ""
}

// HasPermission reports whether the token carries permission p.
func (c *Claims) HasPermission(p string) bool {
	return slices.Contains(c.Permissions, p)
}

type claimsKey struct{}

// ClaimsFrom returns the claims Require put into a request's context.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// ContextWithClaims returns ctx carrying c, as Require does after verifying a
// token. It lets an application's tests call its handlers without tokens.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}
