package protocol

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// grant is what a token carries forward from the authentication: the
// refresh grant re-issues exactly these (SPEC §4).
type grant struct {
	id       string
	clientID string
	subject  string
	scopes   []string
	audience []string
	acr      string
	amr      []string
	authTime time.Time
	// refresh token this request came with (refresh grant only)
	refreshHash string
}

// refreshRequest is a refresh-token grant. It also implements
// op.AuthRequest so that zitadel puts acr into the new ID token, which it
// otherwise drops on refresh.
type refreshRequest struct{ g grant }

var (
	_ op.RefreshTokenRequest = (*refreshRequest)(nil)
	_ op.AuthRequest         = (*refreshRequest)(nil)
)

// GetID names the grant, not an auth request (see GoneRequestPrefix).
func (r *refreshRequest) GetID() string                         { return GoneRequestPrefix + r.g.id }
func (r *refreshRequest) GetACR() string                        { return r.g.acr }
func (r *refreshRequest) GetAMR() []string                      { return r.g.amr }
func (r *refreshRequest) GetAudience() []string                 { return r.g.audience }
func (r *refreshRequest) GetAuthTime() time.Time                { return r.g.authTime }
func (r *refreshRequest) GetClientID() string                   { return r.g.clientID }
func (r *refreshRequest) GetScopes() []string                   { return r.g.scopes }
func (r *refreshRequest) GetSubject() string                    { return r.g.subject }
func (r *refreshRequest) SetCurrentScopes(s []string)           { r.g.scopes = s }
func (r *refreshRequest) GetCodeChallenge() *oidc.CodeChallenge { return nil }
func (r *refreshRequest) GetNonce() string                      { return "" }
func (r *refreshRequest) GetRedirectURI() string                { return "" }
func (r *refreshRequest) GetResponseType() oidc.ResponseType    { return oidc.ResponseTypeCode }
func (r *refreshRequest) GetResponseMode() oidc.ResponseMode    { return "" }
func (r *refreshRequest) GetState() string                      { return "" }
func (r *refreshRequest) Done() bool                            { return true }

// clientCredentialsRequest is a client_credentials grant: no user.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
}

func (c *clientCredentialsRequest) GetSubject() string    { return c.clientID }
func (c *clientCredentialsRequest) GetAudience() []string { return []string{c.clientID} }
func (c *clientCredentialsRequest) GetScopes() []string   { return c.scopes }
