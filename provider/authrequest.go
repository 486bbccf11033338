package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// authRequestData is the part of an authorization request the store keeps
// as opaque JSON: the parameters as parsed, and the login's outcome.
type authRequestData struct {
	RedirectURI         string                   `json:"redirect_uri"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	Scopes              []string                 `json:"scopes"`
	ResponseType        oidc.ResponseType        `json:"response_type"`
	ResponseMode        oidc.ResponseMode        `json:"response_mode,omitempty"`
	CodeChallenge       string                   `json:"code_challenge,omitempty"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"code_challenge_method,omitempty"`
	Prompt              []string                 `json:"prompt,omitempty"`
	MaxAge              *uint                    `json:"max_age,omitempty"`
	ACRValues           []string                 `json:"acr_values,omitempty"`
	EssentialACR        bool                     `json:"essential_acr,omitempty"`
	LoginHint           string                   `json:"login_hint,omitempty"`
	HintSubject         string                   `json:"hint_subject,omitempty"`
	// Binding is the hash of the cookie of the browser that started the
	// request (see binding.go).
	Binding string `json:"binding,omitempty"`

	// Challenges are the method challenges begun for this request, by
	// method, so that any replica can verify the response.
	Challenges map[string]challenge `json:"challenges,omitempty"`
	// Return is set on stepup's own requests (the account page): where
	// to go when the login is done, instead of an OIDC client.
	Return string `json:"return,omitempty"`

	// Outcome, set when the login is done.
	Subject  string    `json:"sub,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	AMR      []string  `json:"amr,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
}

// challenge is a begun method challenge: what the page shows (no secret).
// It belongs to the user it was begun for: another user who signs in on
// the same request gets a challenge of their own.
type challenge struct {
	UserID    string            `json:"user_id"`
	ID        string            `json:"id"`
	Prompt    string            `json:"prompt"`
	Fields    []web.FormField   `json:"fields"`
	Public    map[string]string `json:"public,omitempty"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// authRequest implements op.AuthRequest over a stored request.
type authRequest struct {
	stored storage.AuthRequest
	data   authRequestData
	// byCode marks a request read to redeem its code: issuing its tokens
	// removes it (RedeemAuthRequest), and GetID says so to
	// DeleteAuthRequest.
	byCode bool
	// unsaved marks a request the authorization endpoint created for the
	// login page it serves in place, which stores it (see authorize.go).
	unsaved bool
	// binding is the value of the browser's cookie for a request just
	// created (bind), to be set on the response; never stored.
	binding string
}

var _ op.AuthRequest = (*authRequest)(nil)

func decodeAuthRequest(r storage.AuthRequest) (*authRequest, error) {
	ar := &authRequest{stored: r}
	if err := json.Unmarshal(r.Data, &ar.data); err != nil {
		return nil, fmt.Errorf("auth request %s: %w", r.ID, err)
	}
	return ar, nil
}

// asStored is the request as cur, its row read inside an update, holds
// it: a copy of a when cur is the row a was decoded from, as it is unless
// another replica or tab changed the request in between, else cur
// decoded. The copy spares a JSON decode on the store's writer; its
// Challenges map is its own, so an update may change it.
func (a *authRequest) asStored(cur storage.AuthRequest) (*authRequest, error) {
	if !sameRow(a.stored, cur) {
		return decodeAuthRequest(cur)
	}
	next := &authRequest{stored: cur, data: a.data}
	next.data.Challenges = maps.Clone(a.data.Challenges)
	return next, nil
}

func sameRow(a, b storage.AuthRequest) bool {
	return a.ID == b.ID && a.ClientID == b.ClientID && a.SessionID == b.SessionID && a.UserID == b.UserID &&
		a.Done == b.Done && a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && bytes.Equal(a.Data, b.Data)
}

func (a *authRequest) encode() storage.AuthRequest {
	out := a.stored
	out.Data, _ = json.Marshal(a.data)
	return out
}

func (a *authRequest) GetID() string {
	if a.byCode {
		return goneRequestPrefix + a.stored.ID
	}
	return a.stored.ID
}

func (a *authRequest) GetACR() string         { return a.data.ACR }
func (a *authRequest) GetAMR() []string       { return a.data.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.stored.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.data.AuthTime }
func (a *authRequest) GetClientID() string    { return a.stored.ClientID }
func (a *authRequest) GetNonce() string       { return a.data.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.data.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return a.data.ResponseType
}
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.data.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.data.Scopes }
func (a *authRequest) GetState() string                   { return a.data.State }
func (a *authRequest) GetSubject() string                 { return a.data.Subject }
func (a *authRequest) Done() bool                         { return a.stored.Done }

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.data.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.data.CodeChallenge, Method: a.data.CodeChallengeMethod}
}

func (a *authRequest) hasPrompt(p string) bool {
	for _, have := range a.data.Prompt {
		if have == p {
			return true
		}
	}
	return false
}

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

// goneRequestPrefix begins the GetID of a token request whose auth
// request is not (or no longer) stored once its tokens are: a redeemed
// code's, or a refresh grant's. zitadel "deletes the auth request" after issuing tokens for
// anything that implements op.AuthRequest; DeleteAuthRequest skips these.
const goneRequestPrefix = "gone:"

// refreshRequest is a refresh-token grant. It also implements
// op.AuthRequest so that zitadel puts acr into the new ID token, which it
// otherwise drops on refresh.
type refreshRequest struct{ g grant }

var (
	_ op.RefreshTokenRequest = (*refreshRequest)(nil)
	_ op.AuthRequest         = (*refreshRequest)(nil)
)

// GetID names the grant, not an auth request (see goneRequestPrefix).
func (r *refreshRequest) GetID() string                         { return goneRequestPrefix + r.g.id }
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

// formTarget is the CSP source a login page needs in form-action: Chromium
// and Safari check form-action against every redirect a form submission
// leads to, and the last form of a login ends in a redirect to the client.
// It is the redirect URI's origin (http, https) or scheme (a native app's
// "com.example.app:"); "" when the login returns to stepup's own page or
// the URI does not fit in a CSP source.
func (a *authRequest) formTarget() string {
	if a.data.Return != "" {
		return ""
	}
	u, err := url.Parse(a.data.RedirectURI)
	if err != nil || !cspToken.MatchString(u.Scheme) {
		return ""
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" || !cspToken.MatchString(u.Host) {
			return ""
		}
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}

// cspToken is what a scheme or host may hold to be put in a CSP header.
var cspToken = regexp.MustCompile(`^[A-Za-z0-9.+\-:\[\]]+$`)
