package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// HintVerifier checks the id_token_hint an identity provider that uses
// stepup as its external MFA (Entra ID External Authentication Methods,
// Okta's IdP authenticator) sends with its request (SPEC §11): signed by
// a key of the upstream's JWKS (found by its discovery, refetched on an
// unknown kid), issued by upstream.issuer, for stepup's client ID there
// (upstream.client_id). Expiry is not checked: Entra sends the hint
// expired by design; what it proves is who the IdP signed in, and the
// second factor stepup runs next is what the answer rests on.
type HintVerifier struct {
	Issuer   string // upstream.issuer
	ClientID string // upstream.client_id: the hint's aud
	// HTTP reaches the upstream; nil: a client with a 10 s timeout.
	HTTP *http.Client
	// Now is the provider's clock (nil: time.Now).
	Now func() time.Time

	keys lazy[oidc.KeySet] // from discovery, once it answered
}

// Hint is what a verified hint says of its user.
type Hint struct {
	// Subject is the hint's sub, which the answer's sub repeats.
	Subject string
	// Link names the upstream account for the local user's link
	// (Subject of the claims: Entra's tid and oid, else sub).
	Link string
	// Username is the hint's preferred_username, if any.
	Username string
	// Claims are all of the hint's claims (username_claim names a new
	// user by one of them).
	Claims map[string]any
}

// Why a hint is refused; HintError.Reason is one of these, for the audit
// log (never the hint itself).
var (
	ErrHintMalformed   = errors.New("the id_token_hint is not a signed JWT")
	ErrHintIssuer      = errors.New("the id_token_hint is from another issuer")
	ErrHintAudience    = errors.New("the id_token_hint is for another audience")
	ErrHintSignature   = errors.New("the id_token_hint's signature does not verify with the upstream's keys")
	ErrHintSubject     = errors.New("the id_token_hint names no user")
	ErrHintUnreachable = errors.New("the upstream's discovery or keys cannot be fetched")
)

// hintAlgs are the signatures a hint may carry: asymmetric ones only, so
// that no shared secret (HS256 with a public key as its secret) passes.
var hintAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// Verify checks raw and returns its user. An error wraps one of the
// ErrHint values, with the detail for the log.
func (v *HintVerifier) Verify(ctx context.Context, raw string) (Hint, error) {
	claims := new(oidc.IDTokenClaims)
	payload, err := oidc.ParseToken(raw, claims)
	if err != nil {
		return Hint{}, fmt.Errorf("%w: %v", ErrHintMalformed, err)
	}
	var all map[string]any
	if err := json.Unmarshal(payload, &all); err != nil {
		return Hint{}, fmt.Errorf("%w: %v", ErrHintMalformed, err)
	}
	if err := oidc.CheckIssuer(claims, v.Issuer); err != nil {
		return Hint{}, fmt.Errorf("%w: %v", ErrHintIssuer, err)
	}
	if err := oidc.CheckAudience(claims, v.ClientID); err != nil {
		return Hint{}, fmt.Errorf("%w: %v", ErrHintAudience, err)
	}
	keys, err := v.keySet(ctx)
	if err != nil {
		return Hint{}, err
	}
	if err := oidc.CheckSignature(ctx, raw, payload, claims, hintAlgs, keys); err != nil {
		if errors.Is(err, oidc.ErrParse) {
			return Hint{}, fmt.Errorf("%w: %v", ErrHintMalformed, err)
		}
		return Hint{}, fmt.Errorf("%w: %v", ErrHintSignature, err)
	}
	h := Hint{Subject: claims.Subject, Link: Subject(all), Username: claims.PreferredUsername, Claims: all}
	if h.Subject == "" || h.Link == "" {
		return Hint{}, ErrHintSubject
	}
	return h, nil
}

// keySet is the upstream's JWKS, found by discovery on first use; a
// failed discovery is tried again by the first hint RetryAfterFailure
// after it.
func (v *HintVerifier) keySet(ctx context.Context) (oidc.KeySet, error) {
	return v.keys.get(clock(v.Now), func() (oidc.KeySet, error) { return v.discover(ctx) })
}

func (v *HintVerifier) discover(ctx context.Context) (oidc.KeySet, error) {
	hc := v.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second) // as in Client.discover
	defer cancel()
	disc, err := client.Discover(dctx, v.Issuer, hc)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery of %s: %v", ErrHintUnreachable, v.Issuer, err)
	}
	if disc.JwksURI == "" {
		return nil, fmt.Errorf("%w: the discovery of %s names no jwks_uri", ErrHintUnreachable, v.Issuer)
	}
	return rp.NewRemoteKeySet(hc, disc.JwksURI), nil
}

// Reason is the short reason of a Verify error, for the audit log.
func Reason(err error) string {
	for _, e := range []error{ErrHintMalformed, ErrHintIssuer, ErrHintAudience, ErrHintSignature, ErrHintSubject, ErrHintUnreachable} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "the id_token_hint cannot be checked"
}
