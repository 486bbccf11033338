package protocol

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol/signing"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// Storage implements op.Storage (and the optional interfaces stepup
// needs) over storage.Store. It is the only place zitadel/oidc meets the
// store. Its fields are its dependencies, all required.
type Storage struct {
	Store   storage.Store
	Clients map[string]*Client
	Keys    *signing.KeyRing
	// Codes seals authorization codes (and passes minted access tokens).
	Codes TokenCrypto
	// Now is the provider's clock.
	Now    func() time.Time
	Issuer string
	Tokens config.Tokens
	// Audit records a security event (the provider's audit log); Events
	// fills events for the write they go with, so that a change and its
	// event are one write (the audit log's Complete).
	Audit  func(context.Context, storage.Event)
	Events func(context.Context, ...storage.Event) []storage.Event
	// Bind gives a new request its browser binding (the login's).
	Bind func(*AuthRequest)
}

var (
	_ op.Storage                   = (*Storage)(nil)
	_ op.ClientCredentialsStorage  = (*Storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*Storage)(nil)
)

// ErrUnmet is the OIDC error for an essential acr that cannot be met.
func ErrUnmet(desc string) *oidc.Error {
	return &oidc.Error{ErrorType: "unmet_authentication_requirements", Description: desc}
}

func (o *Storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	c, ok := o.Clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidClient()
	}
	if req.ResponseType == oidc.ResponseTypeCode && c.Public() && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription(descPKCERequired)
	}
	// Discovery offers S256 alone; plain (also the default when no method
	// is named, RFC 7636 §4.3) would put the verifier itself in the URL.
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription(descPKCES256)
	}
	// The stores keep microseconds: so truncated, ar is the row as stored,
	// and an update of it needs no decoding (AsStored).
	now := o.Now().Truncate(time.Microsecond)
	data := AuthRequestData{
		RedirectURI:         req.RedirectURI,
		State:               req.State,
		Nonce:               req.Nonce,
		Scopes:              req.Scopes,
		ResponseType:        req.ResponseType,
		ResponseMode:        req.ResponseMode,
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod,
		Prompt:              req.Prompt,
		MaxAge:              req.MaxAge,
		ACRValues:           req.ACRValues,
		LoginHint:           req.LoginHint,
		HintSubject:         hintSubject,
	}
	if x := reqctx.From(ctx).ExternalMFA; x != nil || c.Config().ExternalMFA {
		// Only the login's interceptor, having verified the hint, sets
		// x, and only for an external-MFA client (provider/login/externalmfa.go).
		if x == nil || !c.Config().ExternalMFA {
			return nil, oidc.ErrInvalidRequest().WithDescription(descHintRequired)
		}
		data.HintSubject = x.UserID
		data.ExternalMFA = &ExternalMFA{Subject: x.Subject, AMR: x.AMR}
	}
	if cr := reqctx.From(ctx).ACR; cr != nil {
		if cr.Essential {
			data.ACRValues, data.EssentialACR = cr.Values, true
		} else if len(data.ACRValues) == 0 {
			data.ACRValues = cr.Values
		}
	}
	ar := &AuthRequest{
		Stored: storage.AuthRequest{ID: NewID(16), ClientID: req.ClientID, CreatedAt: now, ExpiresAt: now.Add(o.Tokens.AuthRequestTTL)},
		Data:   data,
	}
	o.Bind(ar)
	ar.Stored = ar.Encode()
	if createdInPlace(ctx, ar) {
		return ar, nil // the page served in place stores it (provider/login/authorize.go)
	}
	if err := o.Store.CreateAuthRequest(ctx, ar.Stored); err != nil {
		return nil, err
	}
	return ar, nil
}

func (o *Storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := o.Store.GetAuthRequest(ctx, id)
	noteOutage(ctx, err)
	if err != nil {
		return nil, err
	}
	return DecodeAuthRequest(r)
}

// Protocol errors the client reads (error_description).
const (
	descPKCERequired = "code_challenge is required: this is a public client, use PKCE with S256"
	descPKCES256     = "code_challenge_method must be S256: plain, or no method (which means plain), is not supported"
	descHintRequired = "this client uses stepup as its external MFA: send the user's id_token_hint, signed by the upstream identity provider"

	descCodeRefused  = "the authorization code is invalid, expired or already used"
	descCodeReplayed = "the authorization code was already used: the tokens issued for it are revoked; start a new authorization"
)

// Reasons a code is refused, in its audit event.
const (
	reasonNotSealed = "not a code of this provider"
	reasonUsed      = "already used"
	reasonGone      = "already used, expired or unknown"
)

// AuthRequestByCode reads the request of a code. The code is the
// request's ID sealed with the provider's key (zitadel's scheme,
// TokenCrypto); the request must be done and live. Storing the tokens
// redeems it (storeTokens): a code works once, even when two token requests
// race with it, and nothing but the request is stored. A refused code is
// audited: a replayed one may have been intercepted (RFC 6749 §10.5).
//
// A code redeemed before comes back as a replayedCode, its request as it
// was redeemed, so that zitadel checks this use as it checked the first
// (PKCE, client authentication, redirect_uri): a use that passes is the
// code's second use by its client, which revokes what the first was given
// (RFC 6749 §4.1.2); one that fails revokes nothing, so that a stolen code
// alone cannot end the client's grant.
func (o *Storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	id, err := o.Codes.Decrypt(code)
	if err != nil {
		return nil, o.refuseCode(ctx, reasonNotSealed)
	}
	r, err := o.Store.GetAuthRequest(ctx, id)
	noteOutage(ctx, err)
	if errors.Is(err, storage.ErrNotFound) {
		return o.redeemedBefore(ctx, id)
	}
	// An expired request is not found: the store judges by our clock.
	if err == nil && !r.Done {
		return nil, o.refuseCode(ctx, reasonGone)
	}
	if err != nil {
		return nil, err
	}
	ar, err := DecodeAuthRequest(r)
	if err != nil {
		return nil, err
	}
	ar.ByCode = true
	return ar, nil
}

// replayedCode is the request of a code that was redeemed before (see
// AuthRequestByCode); storeTokens refuses it.
type replayedCode struct{ *AuthRequest }

// redeemedBefore returns the request of a code whose redemption is on
// record, refused already: zitadel refuses it, or storeTokens does.
func (o *Storage) redeemedBefore(ctx context.Context, id string) (op.AuthRequest, error) {
	rc, err := o.Store.GetRedeemedCode(ctx, id)
	noteOutage(ctx, err)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, o.refuseCode(ctx, reasonGone)
	}
	if err != nil {
		return nil, err
	}
	ar, err := DecodeAuthRequest(storage.AuthRequest{ID: rc.RequestID, ClientID: rc.ClientID, UserID: rc.UserID,
		Done: true, Data: rc.Data})
	if err != nil {
		return nil, err
	}
	ar.ByCode = true
	o.refuseCode(ctx, reasonUsed)
	return replayedCode{ar}, nil
}

// refuseCode audits a refused code and says why to the client.
func (o *Storage) refuseCode(ctx context.Context, reason string) error {
	clientID := reqctx.From(ctx).ClientID
	o.Audit(ctx, storage.Event{Type: "token.code_refused", Actor: "client:" + clientID, ClientID: clientID,
		Outcome: "failure", Details: map[string]string{"reason": reason}})
	return oidc.ErrInvalidGrant().WithDescription(descCodeRefused)
}

// refuseReplay answers the second use of code id by the client it was
// issued to: the tokens of its grant are revoked, and the replay audited
// (its refusal too, unless refused says that was done). Without a record
// of the redemption the code is merely gone.
func (o *Storage) refuseReplay(ctx context.Context, id string, refused bool) error {
	rc, n, err := o.Store.RevokeCodeGrant(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return o.refuseCode(ctx, reasonGone)
	}
	if err != nil {
		return err
	}
	if !refused {
		o.refuseCode(ctx, reasonUsed)
	}
	o.Audit(ctx, storage.Event{Type: "token.code_replayed", Actor: "client:" + rc.ClientID, UserID: rc.UserID,
		ClientID: rc.ClientID, Outcome: "failure", Details: map[string]string{"revoked_tokens": strconv.FormatInt(n, 10)}})
	return oidc.ErrInvalidGrant().WithDescription(descCodeReplayed)
}

// SaveAuthCode stores nothing: the code zitadel made is the request's ID,
// sealed (see AuthRequestByCode).
func (o *Storage) SaveAuthCode(context.Context, string, string) error { return nil }

func (o *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	if strings.HasPrefix(id, GoneRequestPrefix) {
		return nil // redeemed already, or a refresh grant posing as an auth request
	}
	return o.Store.DeleteAuthRequest(ctx, id)
}

// grantOf extracts what a token request carries.
func grantOf(req op.TokenRequest) (grant, bool) {
	if r, ok := req.(replayedCode); ok {
		req = r.AuthRequest
	}
	switch r := req.(type) {
	case *AuthRequest:
		return grant{clientID: r.Stored.ClientID, subject: r.Data.Subject, scopes: r.Data.Scopes,
			audience: r.GetAudience(), acr: r.Data.ACR, amr: r.Data.AMR, authTime: r.Data.AuthTime}, true
	case *refreshRequest:
		return r.g, true
	case *clientCredentialsRequest:
		return grant{clientID: r.clientID, subject: r.clientID, scopes: r.scopes, audience: r.GetAudience()}, true
	}
	return grant{}, false
}

func (o *Storage) accessToken(g grant, now time.Time, refreshID string) storage.AccessToken {
	userID := g.subject
	if g.subject == g.clientID && g.acr == "" {
		userID = "" // client credentials
	}
	return storage.AccessToken{
		ID: NewID(16), ClientID: g.clientID, UserID: userID, Scopes: g.scopes, Audience: g.audience,
		ACR: g.acr, AMR: g.amr, AuthTime: g.authTime, RefreshTokenID: refreshID,
		CreatedAt: now, ExpiresAt: now.Add(o.Tokens.AccessTokenTTL),
	}
}

// storeTokens stores the tokens a response issues for req, in one write
// with what they spend: a code's request (redeemed once; a request another
// token request redeemed first is a replay) or the refresh token current
// (rotated once). Nothing to spend: a client credentials grant. A replayed
// code stores nothing and revokes its grant.
func (o *Storage) storeTokens(ctx context.Context, req op.TokenRequest, current string, rt *storage.RefreshToken, at storage.AccessToken) error {
	if r, ok := req.(replayedCode); ok {
		return o.refuseReplay(ctx, r.Stored.ID, true)
	}
	switch ar, _ := req.(*AuthRequest); {
	case current != "":
		err := o.Store.RotateRefreshToken(ctx, tokenHash(current), *rt, &at)
		if errors.Is(err, storage.ErrNotFound) {
			return oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid, expired or already used")
		}
		return err
	case ar != nil && ar.ByCode:
		err := o.Store.RedeemAuthRequest(ctx, ar.Stored.ID, rt, at)
		if errors.Is(err, storage.ErrNotFound) {
			// Another token request redeemed it first.
			return o.refuseReplay(ctx, ar.Stored.ID, false)
		}
		return err
	case rt != nil:
		return o.Store.CreateRefreshToken(ctx, *rt, &at)
	default:
		return o.Store.CreateAccessToken(ctx, at)
	}
}

func (o *Storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, ok := grantOf(req)
	if !ok {
		return "", time.Time{}, fmt.Errorf("unsupported token request %T", req)
	}
	at := o.accessToken(g, o.Now(), "")
	if err := o.storeTokens(ctx, req, "", nil, at); err != nil {
		return "", time.Time{}, err
	}
	token, err := o.mintAccessToken(ctx, at, g.subject)
	return token, OnWallClock(o.Now(), at.ExpiresAt), err
}

func (o *Storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	g, ok := grantOf(req)
	if !ok {
		return "", "", time.Time{}, fmt.Errorf("unsupported token request %T", req)
	}
	now := o.Now()
	value := NewID(32)
	rt := storage.RefreshToken{
		Hash: tokenHash(value), ID: NewID(12), ClientID: g.clientID, UserID: g.subject,
		Scopes: g.scopes, Audience: g.audience, ACR: g.acr, AMR: g.amr, AuthTime: g.authTime,
		CreatedAt: now, ExpiresAt: now.Add(o.Tokens.RefreshTokenTTL),
	}
	at := o.accessToken(g, now, rt.ID)
	if err := o.storeTokens(ctx, req, current, &rt, at); err != nil {
		return "", "", time.Time{}, err
	}
	token, err := o.mintAccessToken(ctx, at, g.subject)
	return token, value, OnWallClock(o.Now(), at.ExpiresAt), err
}

func (o *Storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	rt, err := o.Store.GetRefreshToken(ctx, tokenHash(token))
	noteOutage(ctx, err)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid, expired or already used, or its user is inactive")
	}
	if err != nil {
		return nil, err
	}
	// The store reports a deactivated user's token as not found.
	return &refreshRequest{g: grant{
		id: rt.ID, clientID: rt.ClientID, subject: rt.UserID, scopes: rt.Scopes, audience: rt.Audience,
		acr: rt.ACR, amr: rt.AMR, authTime: rt.AuthTime, refreshHash: rt.Hash,
	}}, nil
}

// TerminateSession ends the browser session that asked to log out, once
// the logout is confirmed by a hint or by the user (its ID reaches us
// through endSessionNow, see provider/login/logout.go).
func (o *Storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	sid := reqctx.From(ctx).SessionID
	if sid == "" {
		return nil
	}
	sess, err := o.Store.GetSession(ctx, sid)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if userID != "" && sess.UserID != userID {
		return nil // the hint names someone else: leave this browser's session alone
	}
	ended := o.Events(ctx, storage.Event{Type: "session.ended", UserID: sess.UserID, ClientID: clientID, Outcome: "success"})
	return o.Store.DeleteSession(ctx, sid, ended...)
}

// refreshTokenRef begins the token ID GetRefreshTokenInfo gives zitadel
// for a refresh token, which zitadel hands RevokeToken with the user, as it
// hands an access token's jti: the prefix tells the two apart.
const refreshTokenRef = "rt:"

// RevokeToken revokes an access token (its jti) or a refresh token (named
// by GetRefreshTokenInfo, or as presented when zitadel could not tell).
// Revoking a refresh token also revokes every token of its grant, the
// access tokens issued with it and its rotations (RFC 7009 §2.1).
// Unknown tokens are not an error (RFC 7009 §2.2).
func (o *Storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if hash, ok := strings.CutPrefix(tokenOrID, refreshTokenRef); ok {
		return o.revokeRefreshToken(ctx, hash, clientID)
	}
	if userID != "" { // an access token's jti
		at, err := o.Store.GetAccessToken(ctx, tokenOrID)
		noteOutage(ctx, err)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // RFC 7009: unknown tokens are not an error
		}
		if err != nil {
			return oidc.ErrServerError()
		}
		if at.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
		}
		revoked := o.Events(ctx, storage.Event{Type: "token.revoked", Actor: "client:" + clientID, UserID: at.UserID, ClientID: clientID,
			Outcome: "success", Details: map[string]string{"token": "access_token"}})
		if err := o.Store.DeleteAccessToken(ctx, tokenOrID, revoked...); err != nil {
			return oidc.ErrServerError()
		}
		return nil
	}
	return o.revokeRefreshToken(ctx, tokenHash(tokenOrID), clientID)
}

// revokeRefreshToken revokes the refresh token with hash and the rest of
// its grant.
func (o *Storage) revokeRefreshToken(ctx context.Context, hash, clientID string) *oidc.Error {
	rt, err := o.Store.GetRefreshToken(ctx, hash)
	noteOutage(ctx, err)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError()
	}
	if rt.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	// The event goes with the presented token's delete; the rest of its
	// grant follows (a failure there is the client's error to retry).
	revoked := o.Events(ctx, storage.Event{Type: "token.revoked", Actor: "client:" + clientID, UserID: rt.UserID, ClientID: clientID,
		Outcome: "success", Details: map[string]string{"token": "refresh_token"}})
	if err := o.Store.DeleteRefreshToken(ctx, hash, revoked...); err != nil {
		return oidc.ErrServerError()
	}
	if rt.GrantID != "" {
		if _, _, err := o.Store.RevokeCodeGrant(ctx, rt.GrantID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return oidc.ErrServerError()
		}
	}
	return nil
}

func (o *Storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	rt, err := o.Store.GetRefreshToken(ctx, tokenHash(token))
	noteOutage(ctx, err)
	if err != nil || rt.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.UserID, refreshTokenRef + rt.Hash, nil
}

// SigningKey is the key of the client's algorithm (login.Handler.Intercept
// puts the client in the request's reqctx), or of tokens.signing_alg.
func (o *Storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := o.Tokens.SigningAlg
	if id := reqctx.From(ctx).ClientID; id != "" {
		if c, ok := o.Clients[id]; ok {
			alg = c.SigningAlg(alg)
		}
	}
	return o.Keys.Signing(ctx, alg)
}

// SignatureAlgorithms lists tokens.signing_alg first: discovery's
// id_token_signing_alg_values_supported, whose first entry relying
// parties take for the default.
// mintAccessToken signs at with the key of the client's algorithm, by the
// provider's clock (see signing.MintAccessToken).
func (o *Storage) mintAccessToken(ctx context.Context, at storage.AccessToken, subject string) (string, error) {
	key, err := o.SigningKey(ctx)
	if err != nil {
		return "", err
	}
	var permissions []string
	if c, ok := o.Clients[at.ClientID]; ok {
		permissions = c.Config().Permissions
	}
	token, err := signing.MintAccessToken(key, o.Issuer, o.Now(), at, subject, permissions)
	if err != nil {
		return "", err
	}
	return mintedPrefix + token, nil
}

func (o *Storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(o.Tokens.SigningAlg)}
	for _, alg := range signing.Algs {
		if alg != o.Tokens.SigningAlg {
			algs = append(algs, jose.SignatureAlgorithm(alg))
		}
	}
	return algs, nil
}

func (o *Storage) KeySet(ctx context.Context) ([]op.Key, error) { return o.Keys.Published(ctx) }

func (o *Storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := o.Clients[id]
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client_id")
	}
	return c, nil
}

func (o *Storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := o.Clients[id]
	if !ok || !c.CheckSecret(secret) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

func (o *Storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	if err := o.AuthorizeClientIDSecret(ctx, id, secret); err != nil {
		return nil, err
	}
	c := o.Clients[id]
	if !c.HasGrant(oidc.GrantTypeClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client_credentials is not among this client's grant_types")
	}
	return c, nil
}

func (o *Storage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	return &clientCredentialsRequest{clientID: id, scopes: scopes}, nil
}

// SetUserinfoFromScopes is deprecated in zitadel; SetUserinfoFromRequest does the work.
func (o *Storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (o *Storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if ar, ok := req.(*AuthRequest); ok && ar.Data.ExternalMFA != nil {
		// The identity provider knows its user; the answer says only
		// who (the hint's sub) and how (acr, amr).
		ui.Subject = ar.Data.ExternalMFA.Subject
		return nil
	}
	return o.userinfo(ctx, ui, req.GetSubject(), scopes)
}

func (o *Storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	at, err := o.Store.GetAccessToken(ctx, tokenID)
	noteOutage(ctx, err)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("the access token is revoked or expired")
	}
	if at.UserID == "" {
		return oidc.ErrAccessDenied().WithDescription("a client-credentials token has no user info")
	}
	return o.userinfo(ctx, ui, at.UserID, at.Scopes)
}

func (o *Storage) SetIntrospectionFromToken(ctx context.Context, ir *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	at, err := o.Store.GetAccessToken(ctx, tokenID)
	noteOutage(ctx, err)
	if err != nil {
		return oidc.ErrInvalidRequest().WithDescription("token is not active")
	}
	ui := new(oidc.UserInfo)
	if at.UserID != "" {
		if err := o.userinfo(ctx, ui, at.UserID, at.Scopes); err != nil {
			return err
		}
	} else {
		ui.Subject = at.ClientID
	}
	ir.SetUserInfo(ui)
	ir.Scope = at.Scopes
	ir.ClientID = at.ClientID
	if at.UserID != "" {
		ir.AuthTime = oidc.FromTime(at.AuthTime)
		ir.AuthenticationMethodsReferences = at.AMR
		if ir.Claims == nil {
			ir.Claims = map[string]any{}
		}
		ir.Claims["acr"] = at.ACR
	}
	return nil
}

func (o *Storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (o *Storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidRequest().WithDescription("JWT profile grants are not supported")
}

func (o *Storage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}

func (o *Storage) Health(ctx context.Context) error { return o.Store.Ping(ctx) }

// createdInPlace records ar, not yet stored, in the request's slot, if it
// has one, and says whether it did.
func createdInPlace(ctx context.Context, ar *AuthRequest) bool {
	slot := reqctx.From(ctx).InPlace
	if slot != nil {
		ar.Unsaved, slot.Request = true, ar
	}
	return slot != nil
}

// CreatedInPlace is the request the authorization endpoint created into
// slot (createdInPlace), or nil: the one reader of the slot's Request,
// which only this package writes.
func CreatedInPlace(slot *reqctx.InPlace) *AuthRequest {
	if slot == nil {
		return nil
	}
	ar, _ := slot.Request.(*AuthRequest)
	return ar
}

// noteOutage tells the request (reqctx.Outage) that the store could not
// answer, so that edge answers a retry instead of the verdict zitadel
// draws from the failed lookup (invalid_grant "invalid code", an inactive
// token).
func noteOutage(ctx context.Context, err error) {
	if err != nil && storage.Unavailable(err) {
		reqctx.From(ctx).Outage.Note()
	}
}
