package protocol

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

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// AuthRequestData is the part of an authorization request the store keeps
// as opaque JSON: the parameters as parsed, and the login's outcome.
type AuthRequestData struct {
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
	// request (see package browser).
	Binding string `json:"binding,omitempty"`

	// Challenges are the method challenges begun for this request, by
	// method, so that any replica can verify the response.
	Challenges map[string]Challenge `json:"challenges,omitempty"`
	// ExternalMFA is set on the requests of an external-MFA client: the
	// hint's user runs the second factor only (see ExternalMFA).
	ExternalMFA *ExternalMFA `json:"external_mfa,omitempty"`
	// Return is set on stepup's own requests (the account page): where
	// to go when the login is done, instead of an OIDC client.
	Return string `json:"return,omitempty"`
	// Upstream is the pending sign-in at the upstream identity provider
	// (upstream.Pending, opaque here): taken once by its callback.
	Upstream json.RawMessage `json:"upstream,omitempty"`

	// Outcome, set when the login is done.
	Subject  string    `json:"sub,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	AMR      []string  `json:"amr,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
}

// ExternalMFA is what an external-MFA request answers with besides its
// level (SPEC §11): HintSubject is the local user, Subject the ID token's
// sub, the hint's own; AMR the amr values the request accepts, of which
// the answer names the one method used.
type ExternalMFA struct {
	Subject string   `json:"sub"`
	AMR     []string `json:"amr,omitempty"`
}

// Challenge is a begun method Challenge: what the page shows (no secret).
// It belongs to the user it was begun for: another user who signs in on
// the same request gets a Challenge of their own.
type Challenge struct {
	UserID    string            `json:"user_id"`
	ID        string            `json:"id"`
	Prompt    string            `json:"prompt"`
	Fields    []sdk.Field       `json:"fields"`
	Public    map[string]string `json:"public,omitempty"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// AuthRequest implements op.AuthRequest over a stored request.
type AuthRequest struct {
	// Stored is the row; Data, its Data decoded.
	Stored storage.AuthRequest
	Data   AuthRequestData
	// ByCode marks a request read to redeem its code: issuing its tokens
	// removes it (RedeemAuthRequest), and GetID says so to
	// DeleteAuthRequest.
	ByCode bool
	// Unsaved marks a request the authorization endpoint created for the
	// login page it serves in place, which stores it (see provider/login/authorize.go).
	Unsaved bool
	// Binding is the value of the browser's cookie for a request just
	// created (bind), to be set on the response; never stored.
	Binding string
}

var _ op.AuthRequest = (*AuthRequest)(nil)

// GoneRequestPrefix begins the GetID of a token request whose auth
// request is not (or no longer) stored once its tokens are: a redeemed
// code's, or a refresh grant's. zitadel "deletes the auth request" after
// issuing tokens for anything that implements op.AuthRequest;
// DeleteAuthRequest skips these.
const GoneRequestPrefix = "gone:"

// DecodeAuthRequest reads a stored request.
func DecodeAuthRequest(r storage.AuthRequest) (*AuthRequest, error) {
	ar := &AuthRequest{Stored: r}
	if err := json.Unmarshal(r.Data, &ar.Data); err != nil {
		return nil, fmt.Errorf("auth request %s: %w", r.ID, err)
	}
	return ar, nil
}

// AsStored is the request as cur, its row read inside an update, holds
// it: a copy of a when cur is the row a was decoded from, as it is unless
// another replica or tab changed the request in between, else cur
// decoded. The copy spares a JSON decode on the store's writer; its
// Challenges map is its own, so an update may change it.
func (a *AuthRequest) AsStored(cur storage.AuthRequest) (*AuthRequest, error) {
	if !sameRow(a.Stored, cur) {
		return DecodeAuthRequest(cur)
	}
	next := &AuthRequest{Stored: cur, Data: a.Data}
	next.Data.Challenges = maps.Clone(a.Data.Challenges)
	return next, nil
}

func sameRow(a, b storage.AuthRequest) bool {
	return a.ID == b.ID && a.ClientID == b.ClientID && a.SessionID == b.SessionID && a.UserID == b.UserID &&
		a.Done == b.Done && a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && bytes.Equal(a.Data, b.Data)
}

// Encode is the request as the store keeps it.
func (a *AuthRequest) Encode() storage.AuthRequest {
	out := a.Stored
	out.Data, _ = json.Marshal(a.Data)
	return out
}

// GetID and the other getters are op.AuthRequest's.
func (a *AuthRequest) GetID() string {
	if a.ByCode {
		return GoneRequestPrefix + a.Stored.ID
	}
	return a.Stored.ID
}

func (a *AuthRequest) GetACR() string         { return a.Data.ACR }
func (a *AuthRequest) GetAMR() []string       { return a.Data.AMR }
func (a *AuthRequest) GetAudience() []string  { return []string{a.Stored.ClientID} }
func (a *AuthRequest) GetAuthTime() time.Time { return a.Data.AuthTime }
func (a *AuthRequest) GetClientID() string    { return a.Stored.ClientID }
func (a *AuthRequest) GetNonce() string       { return a.Data.Nonce }
func (a *AuthRequest) GetRedirectURI() string { return a.Data.RedirectURI }
func (a *AuthRequest) GetResponseType() oidc.ResponseType {
	return a.Data.ResponseType
}
func (a *AuthRequest) GetResponseMode() oidc.ResponseMode { return a.Data.ResponseMode }
func (a *AuthRequest) GetScopes() []string                { return a.Data.Scopes }
func (a *AuthRequest) GetState() string                   { return a.Data.State }
func (a *AuthRequest) GetSubject() string                 { return a.Data.Subject }
func (a *AuthRequest) Done() bool                         { return a.Stored.Done }

func (a *AuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.Data.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.Data.CodeChallenge, Method: a.Data.CodeChallengeMethod}
}

// HasPrompt reports whether the request asked for prompt p.
func (a *AuthRequest) HasPrompt(p string) bool {
	for _, have := range a.Data.Prompt {
		if have == p {
			return true
		}
	}
	return false
}

// FormTarget is the CSP source a login page needs in form-action: Chromium
// and Safari check form-action against every redirect a form submission
// leads to, and the last form of a login ends in a redirect to the client.
// It is the redirect URI's origin (http, https) or scheme (a native app's
// "com.example.app:"); "" when the login returns to stepup's own page or
// the URI does not fit in a CSP source.
func (a *AuthRequest) FormTarget() string {
	if a.Data.Return != "" {
		return ""
	}
	u, err := url.Parse(a.Data.RedirectURI)
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
