package provider

import (
	"crypto/subtle"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/provider/config"
)

// client adapts a configured relying party to op.Client.
type client struct {
	cfg      config.Client
	loginURL func(id string) string
	idTTL    time.Duration
	now      func() time.Time // the provider's clock
	// insecure: the issuer itself is http (a laptop or a test), so the
	// registered http redirect URIs are accepted as registered. With an
	// https issuer zitadel's rule stands: http only for confidential
	// clients using the code flow.
	insecure bool
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                        { return c.cfg.ID }
func (c *client) PostLogoutRedirectURIs() []string     { return c.cfg.PostLogoutRedirectURIs }
func (c *client) LoginURL(id string) string            { return c.loginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer } // JWTs all the same: see accesstoken.go
func (c *client) DevMode() bool                        { return c.insecure }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }

// IDTokenLifetime is what zitadel adds to its wall clock for an ID
// token's exp: tokens.id_token_ttl, plus how far the provider's clock is
// ahead of the wall clock, so that exp is the provider's now plus the TTL
// (see onWallClock).
func (c *client) IDTokenLifetime() time.Duration { return c.idTTL + time.Until(c.now()) }

func (c *client) public() bool { return c.cfg.Secret == "" }

// RedirectURIs are the registered redirect URIs as zitadel compares them:
// it percent-decodes the requested URI first, so each is listed decoded
// too, lest a registered URI holding an escape (a%2Fb) never match itself.
// Which URI a request may name is decided before, byte for byte
// (registeredRedirect, in front of the authorization endpoint).
func (c *client) RedirectURIs() []string {
	out := slices.Clone(c.cfg.RedirectURIs)
	for _, u := range c.cfg.RedirectURIs {
		if decoded, err := url.QueryUnescape(u); err == nil && decoded != u {
			out = append(out, decoded)
		}
	}
	return out
}

// registeredRedirect reports whether uri is one of the client's redirect
// URIs, compared as strings (RFC 6749 §3.1.2.3, OAuth 2.1 §4.1.1).
func (c *client) registeredRedirect(uri string) bool { return slices.Contains(c.cfg.RedirectURIs, uri) }

func (c *client) ApplicationType() op.ApplicationType {
	if c.public() {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	out := make([]oidc.ResponseType, 0, len(c.cfg.ResponseTypes))
	for _, rt := range c.cfg.ResponseTypes {
		out = append(out, oidc.ResponseType(rt))
	}
	if len(out) == 0 {
		out = []oidc.ResponseType{oidc.ResponseTypeCode}
	}
	return out
}

func (c *client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.cfg.GrantTypes))
	for _, g := range c.cfg.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	if len(out) == 0 {
		out = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	}
	return out
}

func (c *client) hasGrant(g oidc.GrantType) bool { return slices.Contains(c.GrantTypes(), g) }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// signingAlg is the algorithm of this client's tokens: its own, or def
// (tokens.signing_alg) when it names none.
func (c *client) signingAlg(def string) string {
	if c.cfg.IDTokenSigningAlg != "" {
		return c.cfg.IDTokenSigningAlg
	}
	return def
}

// checkSecret compares in constant time.
func (c *client) checkSecret(secret string) bool {
	if c.public() {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(c.cfg.Secret)) == 1
}
