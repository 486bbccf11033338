package reqctx

import (
	"context"
	"sync/atomic"
)

// Values are the request-scoped values of one request. The zero value is
// a request that has none yet.
type Values struct {
	// RemoteAddr is the client's address, without the port, for the
	// audit log and the lockout.
	RemoteAddr string
	// ClientID is the client an authorization or token request names, or
	// the client a login completes for: it picks the signing algorithm.
	ClientID string
	// SessionID is the browser session end_session is ending.
	SessionID string
	// ACR is the acr member of the authorization request's claims
	// parameter; nil when it has none.
	ACR *ACRClaim
	// ExternalMFA is what the verified id_token_hint of an external-MFA
	// client's authorization request says; nil for any other request.
	ExternalMFA *ExternalMFA
	// Actor is who calls the admin API or the admin page, or the
	// break-glass command.
	Actor Actor
	// InPlace, when set, receives the auth request the authorization
	// endpoint created, so that the login page is served in place of the
	// redirect to it.
	InPlace *InPlace
	// Outage, when set, is told that the store could not answer during
	// the request, so that no verdict (invalid_grant, an inactive token)
	// is given on a lookup that never happened.
	Outage *Outage
}

// Outage records that the store was unreachable during one request. A nil
// *Outage records nothing.
type Outage struct{ seen atomic.Bool }

// Note records the outage.
func (o *Outage) Note() {
	if o != nil {
		o.seen.Store(true)
	}
}

// Seen reports whether Note was called.
func (o *Outage) Seen() bool { return o != nil && o.seen.Load() }

// ACRClaim is the acr member of the claims request parameter (OIDC Core
// §5.5.1), for the ID token or userinfo.
type ACRClaim struct {
	Essential bool     `json:"essential"`
	Value     string   `json:"value"`
	Values    []string `json:"values"`
}

// ExternalMFA is an external-MFA request's user, as its id_token_hint
// named them (SPEC §11).
type ExternalMFA struct {
	UserID  string   // the local user linked to the hint's account
	Subject string   // the hint's sub, which the answer's sub repeats
	AMR     []string // the amr values the claims parameter accepts; empty: any
}

// Actor is who administers: a user, a client, or the break-glass command.
type Actor struct {
	Name     string // the username, "client:ID", or the break-glass actor
	UserID   string // empty for a client or the command
	ClientID string // the client whose token the call carries, if any
}

// InPlace is the slot the authorization endpoint fills with the request
// it created. Request is the protocol's auth request; nil until created.
type InPlace struct {
	Request any
}

type key struct{}

// From returns the values of ctx; the zero Values when it has none.
func From(ctx context.Context) Values {
	v, _ := ctx.Value(key{}).(Values)
	return v
}

// With returns ctx carrying v in place of its values.
func With(ctx context.Context, v Values) context.Context {
	return context.WithValue(ctx, key{}, v)
}

// Update returns ctx carrying its values as change leaves them.
func Update(ctx context.Context, change func(*Values)) context.Context {
	v := From(ctx)
	change(&v)
	return With(ctx, v)
}
