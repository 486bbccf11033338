package upstream

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/stepup-mfa/stepup/provider/config"
)

// The paths stepup serves for the upstream: the redirect URI registered
// at the upstream (under /login, where a request's binding cookie is
// sent), and where the upstream returns after logging out.
const (
	CallbackPath     = "/login/upstream/callback"
	LogoutReturnPath = "/logout/upstream"
)

// Client is stepup as an OpenID Connect client of the upstream identity
// provider: the authorization URL it sends a browser to, and the code
// exchange that turns the callback into a verified Identity. Discovery
// runs on first use, not at start, so that stepup serves while the
// upstream is down; a failed discovery is tried again by the first
// sign-in RetryAfterFailure after it, and the ones before are refused at
// once.
// The upstream's keys come from its jwks_uri through zitadel's remote key
// set, which fetches them again when a token names a kid it has not seen
// (a rotation at the upstream).
type Client struct {
	Config config.Upstream
	// RedirectURI is stepup's issuer + CallbackPath.
	RedirectURI string
	// HTTP reaches the upstream; nil: a client with a 10 s timeout.
	HTTP *http.Client
	// Now is the provider's clock (nil: time.Now).
	Now func() time.Time

	party lazy[rp.RelyingParty]
}

// Pending is what a sign-in at the upstream must come back with: the
// state and nonce sent, and the PKCE verifier. The login stores it on the
// authorization request (bound to the browser, expiring with it) and
// takes it once: a second callback for the same request finds none.
type Pending struct {
	// StateHash is the SHA-256 of the state sent: the store never holds
	// the value an attacker would need to forge a callback.
	StateHash string `json:"state_hash"`
	Nonce     string `json:"nonce"`
	Verifier  string `json:"verifier"`
	// Started is when the browser was sent upstream.
	Started time.Time `json:"started"`
}

// NewPending starts a sign-in at the upstream: the Pending to store and
// the state to send.
func NewPending(now time.Time) (Pending, string) {
	state := random()
	return Pending{StateHash: hash(state), Nonce: random(), Verifier: random(), Started: now}, state
}

// StateMatches says, in constant time, whether a callback's state is the
// one sent.
func (p Pending) StateMatches(state string) bool {
	return p.StateHash != "" && subtle.ConstantTimeCompare([]byte(hash(state)), []byte(p.StateHash)) == 1
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthParams are what stepup passes on of its own client's request.
type AuthParams struct {
	LoginHint   string
	PromptLogin bool
	MaxAge      *uint
}

type nonceKey struct{}

// relyingParty returns the upstream's client, running discovery until it
// succeeds.
func (c *Client) relyingParty(ctx context.Context) (rp.RelyingParty, error) {
	return c.party.get(clock(c.Now), func() (rp.RelyingParty, error) { return c.discover(ctx) })
}

func (c *Client) discover(ctx context.Context) (rp.RelyingParty, error) {
	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	// Not the sign-in's cancellation: the sign-ins waiting on this
	// discovery would take a browser gone away for an upstream down.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	party, err := rp.NewRelyingPartyOIDC(ctx, c.Config.Issuer, c.Config.ClientID, c.Config.ClientSecret, c.RedirectURI,
		c.Config.RequestScopes(), rp.WithHTTPClient(httpClient),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string {
			n, _ := ctx.Value(nonceKey{}).(string)
			return n
		})))
	if err != nil {
		return nil, &Error{Kind: Unreachable, Err: fmt.Errorf("discovery at %s: %w", c.Config.Issuer, err)}
	}
	return party, nil
}

// AuthURL is where to send the browser to sign in at the upstream:
// code flow with PKCE (S256), the state and nonce of p, and the request's
// login_hint, prompt=login and max_age passed on.
func (c *Client) AuthURL(ctx context.Context, p Pending, state string, ap AuthParams) (string, error) {
	party, err := c.relyingParty(ctx)
	if err != nil {
		return "", err
	}
	opts := []rp.AuthURLOpt{rp.WithCodeChallenge(oidc.NewSHACodeChallenge(p.Verifier)), rp.AuthURLOpt(rp.WithURLParam("nonce", p.Nonce))}
	if ap.LoginHint != "" {
		opts = append(opts, rp.AuthURLOpt(rp.WithURLParam("login_hint", ap.LoginHint)))
	}
	if ap.PromptLogin {
		opts = append(opts, rp.WithPrompt(oidc.PromptLogin))
	}
	if ap.MaxAge != nil {
		opts = append(opts, rp.AuthURLOpt(rp.WithURLParam("max_age", strconv.FormatUint(uint64(*ap.MaxAge), 10))))
	}
	return rp.AuthURL(state, party, opts...), nil
}

// Identity is who the upstream says signed in, verified.
type Identity struct {
	// Issuer is the ID token's iss; Subject the link's name for the user
	// (Subject of its claims).
	Issuer, Subject string
	// Claims are the ID token's claims, with the userinfo endpoint's for
	// what the ID token leaves out.
	Claims map[string]any
	// AMR are the upstream's amr values; AuthTime its auth_time (zero when
	// it sent none).
	AMR      []string
	AuthTime time.Time
	// IDToken is the ID token itself, which ending the upstream's session
	// sends back as its id_token_hint.
	IDToken string
}

// Exchange redeems the callback's code with p's verifier and verifies the
// ID token: signature by the upstream's keys, iss, aud, azp, exp, iat and
// p's nonce (zitadel's rp verifier). Then it asks the userinfo endpoint,
// when the upstream has one, for the claims the ID token left out.
func (c *Client) Exchange(ctx context.Context, code string, p Pending) (Identity, error) {
	party, err := c.relyingParty(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = context.WithValue(ctx, nonceKey{}, p.Nonce)
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, party, rp.WithCodeVerifier(p.Verifier))
	if err != nil {
		return Identity{}, classifyExchange(err)
	}
	claims := tokens.IDTokenClaims
	id := Identity{Issuer: claims.Issuer, Claims: map[string]any{}, AMR: claims.AuthenticationMethodsReferences, IDToken: tokens.IDToken}
	for k, v := range claims.Claims {
		id.Claims[k] = v
	}
	if t := claims.AuthTime.AsTime(); claims.AuthTime != 0 {
		id.AuthTime = t.UTC()
	}
	if party.UserinfoEndpoint() != "" && tokens.AccessToken != "" {
		info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, tokens.TokenType, claims.Subject, party)
		if err != nil {
			return Identity{}, &Error{Kind: Refused, Err: fmt.Errorf("userinfo: %w", err)}
		}
		for k, v := range info.Claims {
			if _, ok := id.Claims[k]; !ok {
				id.Claims[k] = v
			}
		}
	}
	if id.Subject = Subject(id.Claims); id.Subject == "" {
		return Identity{}, &Error{Kind: InvalidToken, Err: errors.New("the ID token names no subject")}
	}
	return id, nil
}

// classifyExchange tells a token the upstream refused to give (its
// error) and one stepup refused to take (verification) from a network
// failure.
func classifyExchange(err error) error {
	var re *oauth2RetrieveError
	switch {
	case errors.As(err, &re):
		return &Error{Kind: Refused, Err: err}
	case isNetwork(err):
		return &Error{Kind: Unreachable, Err: err}
	}
	return &Error{Kind: InvalidToken, Err: err}
}

// EndSessionURL is the upstream's RP-initiated logout, returning to
// returnTo with state, with the ID token of the sign-in it ends as
// id_token_hint when there is one; "" when the upstream offers none.
func (c *Client) EndSessionURL(ctx context.Context, returnTo, state, idTokenHint string) (string, error) {
	party, err := c.relyingParty(ctx)
	if err != nil {
		return "", err
	}
	end := party.GetEndSessionEndpoint()
	if end == "" {
		return "", nil
	}
	u, err := url.Parse(end)
	if err != nil {
		return "", &Error{Kind: Unreachable, Err: fmt.Errorf("end_session_endpoint: %w", err)}
	}
	q := u.Query()
	q.Set("client_id", c.Config.ClientID)
	q.Set("post_logout_redirect_uri", returnTo)
	q.Set("state", state)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint) // without it, Keycloak and others ask the user to confirm
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
