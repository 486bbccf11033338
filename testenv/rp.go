package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// RP is an independent relying party: coreos/go-oidc for discovery and ID
// token verification, x/oauth2 for the code flow. It shares nothing with
// the provider's OIDC library.
type RP struct {
	t        testing.TB
	Provider *oidc.Provider
	OAuth    oauth2.Config
	Verifier *oidc.IDTokenVerifier
	HTTP     *http.Client
}

// NewRP discovers the provider and configures a client. Its verifier
// accepts ID tokens signed with the client's configured algorithm only,
// and judges their expiry by the Env's clock.
func (e *Env) NewRP(t testing.TB, clientID, secret string) *RP {
	t.Helper()
	tr := keepAliveTransport()
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	ctx := oidc.ClientContext(context.Background(), hc)
	p, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	algs := []string{e.Config.Tokens.SigningAlg} // the client's algorithm, and only that
	for _, c := range e.Config.Clients {
		if c.ID == clientID && c.IDTokenSigningAlg != "" {
			algs = []string{c.IDTokenSigningAlg}
		}
	}
	return &RP{t: t, Provider: p, HTTP: hc,
		OAuth:    oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: RedirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}},
		Verifier: p.Verifier(&oidc.Config{ClientID: clientID, SupportedSigningAlgs: algs, Now: e.Clock.Now}),
	}
}

// AuthRequest is one authorization request the RP started.
type AuthRequest struct {
	URL      string
	State    string
	Nonce    string
	Verifier string // PKCE
}

// AuthURL builds an authorization URL with state, nonce and PKCE S256, plus
// any extra parameters (acr_values, prompt, max_age, claims, ...).
func (rp *RP) AuthURL(extra url.Values) AuthRequest {
	ar := AuthRequest{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(ar.Nonce), oauth2.S256ChallengeOption(ar.Verifier)}
	for k, vs := range extra {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	ar.URL = rp.OAuth.AuthCodeURL(ar.State, opts...)
	return ar
}

// Tokens is what a code exchange or refresh returned, verified.
type Tokens struct {
	OAuth   *oauth2.Token
	RawID   string
	IDToken *oidc.IDToken
	Claims  IDClaims
}

// IDClaims are the ID token claims the tests look at.
type IDClaims struct {
	Subject  string   `json:"sub"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce"`
	Username string   `json:"preferred_username"`
}

// Exchange redeems a code at the token endpoint and verifies the ID token.
func (rp *RP) Exchange(code string, ar AuthRequest) (*Tokens, error) {
	ctx := oidc.ClientContext(context.Background(), rp.HTTP)
	tok, err := rp.OAuth.Exchange(ctx, code, oauth2.VerifierOption(ar.Verifier))
	if err != nil {
		return nil, err
	}
	return rp.verify(ctx, tok)
}

// Refresh uses the refresh token and verifies the new ID token.
func (rp *RP) Refresh(refreshToken string) (*Tokens, error) {
	ctx := oidc.ClientContext(context.Background(), rp.HTTP)
	tok, err := rp.OAuth.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, err
	}
	return rp.verify(ctx, tok)
}

func (rp *RP) verify(ctx context.Context, tok *oauth2.Token) (*Tokens, error) {
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.Verifier.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	out := &Tokens{OAuth: tok, RawID: raw, IDToken: idt}
	if err := idt.Claims(&out.Claims); err != nil {
		return nil, err
	}
	return out, nil
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
