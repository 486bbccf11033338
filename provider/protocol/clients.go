package protocol

import (
	"crypto/subtle"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol/signing"
)

// Client adapts a configured relying party to op.Client, and answers
// what the provider asks of it beyond zitadel.
type Client struct {
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

// NewClient adapts cfg: ID tokens live idTTL by the provider's clock now;
// insecure allows http redirect URIs (an http issuer); loginURL is the
// login page of an auth request's ID.
func NewClient(cfg config.Client, idTTL time.Duration, now func() time.Time, insecure bool, loginURL func(id string) string) *Client {
	return &Client{cfg: cfg, idTTL: idTTL, now: now, insecure: insecure, loginURL: loginURL}
}

// Config returns the client's configuration.
func (c *Client) Config() config.Client { return c.cfg }

var _ op.Client = (*Client)(nil)

func (c *Client) GetID() string                        { return c.cfg.ID }
func (c *Client) PostLogoutRedirectURIs() []string     { return c.cfg.PostLogoutRedirectURIs }
func (c *Client) LoginURL(id string) string            { return c.loginURL(id) }
func (c *Client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer } // JWTs all the same: see accesstoken.go
func (c *Client) DevMode() bool                        { return c.insecure }
func (c *Client) IsScopeAllowed(string) bool           { return false }
func (c *Client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *Client) ClockSkew() time.Duration             { return 0 }

// IDTokenLifetime is what zitadel adds to its wall clock for an ID
// token's exp: tokens.id_token_ttl, plus how far the provider's clock is
// ahead of the wall clock, so that exp is the provider's now plus the TTL
// (see OnWallClock).
func (c *Client) IDTokenLifetime() time.Duration { return c.idTTL + time.Until(c.now()) }

// Public reports whether the client has no secret (PKCE required).
func (c *Client) Public() bool { return c.cfg.Secret == "" }

// RedirectURIs are the registered redirect URIs as zitadel compares them:
// it percent-decodes the requested URI first, so each is listed decoded
// too, lest a registered URI holding an escape (a%2Fb) never match itself.
// Which URI a request may name is decided before, byte for byte
// (RegisteredRedirect, in front of the authorization endpoint).
func (c *Client) RedirectURIs() []string {
	out := slices.Clone(c.cfg.RedirectURIs)
	for _, u := range c.cfg.RedirectURIs {
		if decoded, err := url.QueryUnescape(u); err == nil && decoded != u {
			out = append(out, decoded)
		}
	}
	return out
}

// RegisteredRedirect reports whether uri is one of the client's redirect
// URIs, compared as strings (RFC 6749 §3.1.2.3, OAuth 2.1 §4.1.1).
func (c *Client) RegisteredRedirect(uri string) bool { return slices.Contains(c.cfg.RedirectURIs, uri) }

func (c *Client) ApplicationType() op.ApplicationType {
	if c.Public() {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *Client) AuthMethod() oidc.AuthMethod {
	if c.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *Client) ResponseTypes() []oidc.ResponseType {
	out := make([]oidc.ResponseType, 0, len(c.cfg.ResponseTypes))
	for _, rt := range c.cfg.ResponseTypes {
		out = append(out, oidc.ResponseType(rt))
	}
	if len(out) == 0 && c.cfg.ExternalMFA {
		out = []oidc.ResponseType{oidc.ResponseTypeIDTokenOnly}
	}
	if len(out) == 0 {
		out = []oidc.ResponseType{oidc.ResponseTypeCode}
	}
	return out
}

func (c *Client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.cfg.GrantTypes))
	for _, g := range c.cfg.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	if len(out) == 0 {
		out = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	}
	return out
}

// HasGrant reports whether the client may use grant g.
func (c *Client) HasGrant(g oidc.GrantType) bool { return slices.Contains(c.GrantTypes(), g) }

func (c *Client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *Client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// SigningAlg is the algorithm of this client's tokens: its own, or def
// (tokens.signing_alg) when it names none.
func (c *Client) SigningAlg(def string) string {
	if c.cfg.ExternalMFA {
		return signing.AlgRS256 // what Entra ID verifies (SPEC §11); config refuses another
	}
	if c.cfg.IDTokenSigningAlg != "" {
		return c.cfg.IDTokenSigningAlg
	}
	return def
}

// CheckSecret reports whether secret is the client's; it compares in constant time.
func (c *Client) CheckSecret(secret string) bool {
	if c.Public() {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(c.cfg.Secret)) == 1
}
