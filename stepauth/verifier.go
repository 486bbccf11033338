package stepauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken is wrapped by every error Verify returns: the token is
// missing, malformed, badly signed, from another issuer, for another
// audience, expired or revoked.
var ErrInvalidToken = errors.New("stepauth: invalid access token")

// maxTokenLen bounds the work a stranger can ask of us; stepup's tokens
// are well under 2 KiB.
const maxTokenLen = 16 << 10

// Config describes the tokens a Verifier accepts.
type Config struct {
	// Issuer is the provider's issuer URL; a token's iss must equal it.
	Issuer string
	// Keys verifies signatures, usually NewRemoteKeySet(ctx, jwksURI).
	Keys KeySet
	// Audience, when set, must be one of the token's aud values.
	// stepup's access tokens name the client they were issued to.
	Audience string
	// Audiences, when set, are accepted audiences besides Audience: a
	// token's aud must hold one of them. A resource server that accepts
	// the tokens of several clients lists them here.
	Audiences []string
	// Levels orders the acr names; Requirement.ACR must be one of them.
	Levels Levels
	// Algorithms lists the accepted JWS algorithms; nil means ES256 and RS256.
	// Symmetric algorithms and "none" are never accepted.
	Algorithms []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Leeway tolerates clock skew in the exp, nbf, iat and auth_time checks.
	Leeway time.Duration
	// Revoked, when set, is asked about every token that is otherwise
	// valid; true refuses it. It should answer true when it cannot tell.
	Revoked func(ctx context.Context, jti string) bool
	// CheckRevoked, when set, is asked instead of Revoked and may say it
	// cannot tell (an error: the store is down). The request is then
	// refused with 503 and Retry-After, and no verdict on the token; an
	// error wrapping ErrUnavailable from Keys does the same.
	CheckRevoked func(ctx context.Context, jti string) (bool, error)
	// Logger, when set, receives one Info record per refused request, with
	// the reason and any underlying error; nil logs nothing.
	Logger *slog.Logger
}

// Verifier checks access tokens against a Config. It is safe for
// concurrent use.
type Verifier struct {
	cfg  Config
	algs []jose.SignatureAlgorithm
}

// NewVerifier checks cfg and returns a Verifier for it.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("stepauth: Config.Issuer is empty")
	}
	if cfg.Keys == nil {
		return nil, errors.New("stepauth: Config.Keys is nil")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("stepauth: Config.Leeway is negative")
	}
	names := cfg.Algorithms
	if names == nil {
		names = []string{string(jose.ES256), string(jose.RS256)}
	}
	if len(names) == 0 {
		return nil, errors.New("stepauth: Config.Algorithms is empty")
	}
	v := &Verifier{cfg: cfg}
	for _, n := range names {
		alg := jose.SignatureAlgorithm(n)
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
			jose.ES256, jose.ES384, jose.ES512, jose.EdDSA:
			v.algs = append(v.algs, alg)
		default:
			return nil, fmt.Errorf("stepauth: algorithm %q is not an accepted asymmetric JWS algorithm", n)
		}
	}
	v.cfg.Algorithms = slices.Clone(names)
	return v, nil
}

// tokenError is an invalid token: desc is safe to show the caller, cause
// is for the log only.
type tokenError struct {
	desc  string
	cause error
}

func (e *tokenError) Error() string {
	if e.cause != nil {
		return ErrInvalidToken.Error() + ": " + e.desc + ": " + e.cause.Error()
	}
	return ErrInvalidToken.Error() + ": " + e.desc
}

func (e *tokenError) Is(target error) bool { return target == ErrInvalidToken }
func (e *tokenError) Unwrap() error        { return e.cause }

// ErrUnavailable: the verifier cannot tell now whether the token is good
// (its keys or its revocation list cannot be read). Require answers 503
// with Retry-After, never a verdict on the token.
var ErrUnavailable = errors.New("stepauth: cannot check tokens right now")

func invalid(desc string, cause error) error { return &tokenError{desc: desc, cause: cause} }

// rawClaims is the JSON shape of stepup's access tokens (RFC 9068 plus acr,
// amr, auth_time and permissions).
type rawClaims struct {
	Issuer      string           `json:"iss"`
	Subject     string           `json:"sub"`
	Audience    jwt.Audience     `json:"aud"`
	Expiry      *jwt.NumericDate `json:"exp"`
	IssuedAt    *jwt.NumericDate `json:"iat"`
	NotBefore   *jwt.NumericDate `json:"nbf"`
	JTI         string           `json:"jti"`
	ClientID    string           `json:"client_id"`
	ACR         string           `json:"acr"`
	AMR         []string         `json:"amr"`
	AuthTime    *jwt.NumericDate `json:"auth_time"`
	Scope       scopeList        `json:"scope"`
	Permissions []string         `json:"permissions"`
}

// scopeList reads scope as RFC 9068 writes it, one space-separated string,
// and also as a JSON array, as some servers write it.
type scopeList []string

func (s *scopeList) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = strings.Fields(str)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("scope is neither a string nor a list of strings")
	}
	*s = list
	return nil
}

// Verify checks a compact-serialized access token: typ at+jwt, an accepted
// algorithm, a signature from the key set, iss, exp, nbf, iat, aud when configured, the
// presence of sub, client_id and jti (RFC 9068 §2.2), and the Revoked hook.
// It does not check the authentication level; Require does. Every error it
// returns wraps ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, invalid("empty token", nil)
	}
	if len(token) > maxTokenLen {
		return nil, invalid("token too long", nil)
	}
	jws, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		return nil, invalid("not a signed JWT with an accepted algorithm", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("not a signed JWT", nil)
	}
	// RFC 9068 §4: the type is what tells an access token from an ID token
	// or any other JWT the same keys sign.
	typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string)
	switch strings.ToLower(typ) {
	case "at+jwt", "application/at+jwt":
	default:
		return nil, invalid("not an access token (typ must be at+jwt)", fmt.Errorf("typ %q", typ))
	}
	payload, err := v.cfg.Keys.VerifySignature(ctx, token)
	if errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	if err != nil {
		return nil, invalid("signature not valid", err)
	}
	var rc rawClaims
	if err := json.Unmarshal(payload, &rc); err != nil {
		return nil, invalid("claims malformed", err)
	}
	if rc.Issuer != v.cfg.Issuer {
		return nil, invalid("wrong issuer", fmt.Errorf("iss %q", rc.Issuer))
	}
	now, leeway := v.cfg.Now(), v.cfg.Leeway
	if rc.Expiry == nil {
		return nil, invalid("no expiry", nil)
	}
	if !now.Before(rc.Expiry.Time().Add(leeway)) {
		return nil, invalid("token expired", nil)
	}
	if rc.NotBefore != nil && now.Add(leeway).Before(rc.NotBefore.Time()) {
		return nil, invalid("token not valid yet", nil)
	}
	if rc.IssuedAt != nil && now.Add(leeway).Before(rc.IssuedAt.Time()) {
		return nil, invalid("token issued in the future", nil)
	}
	if want := v.audiences(); want != nil && !slices.ContainsFunc(want, func(a string) bool { return slices.Contains(rc.Audience, a) }) {
		return nil, invalid("token not meant for this audience", fmt.Errorf("aud %q", []string(rc.Audience)))
	}
	switch {
	case rc.Subject == "":
		return nil, invalid("no subject", nil)
	case rc.ClientID == "":
		return nil, invalid("no client_id", nil)
	case rc.JTI == "":
		// ID tokens carry no jti; requiring it keeps them out.
		return nil, invalid("no jti", nil)
	}
	if v.cfg.CheckRevoked != nil {
		revoked, err := v.cfg.CheckRevoked(ctx, rc.JTI)
		if err != nil {
			return nil, fmt.Errorf("%w: revocation: %w", ErrUnavailable, err)
		}
		if revoked {
			return nil, invalid("token revoked", nil)
		}
	} else if v.cfg.Revoked != nil && v.cfg.Revoked(ctx, rc.JTI) {
		return nil, invalid("token revoked", nil)
	}
	c := &Claims{
		Issuer:      rc.Issuer,
		Subject:     rc.Subject,
		Audience:    []string(rc.Audience),
		ClientID:    rc.ClientID,
		JTI:         rc.JTI,
		Expiry:      rc.Expiry.Time(),
		ACR:         rc.ACR,
		AMR:         rc.AMR,
		Scopes:      []string(rc.Scope),
		Permissions: rc.Permissions,
	}
	if rc.IssuedAt != nil {
		c.IssuedAt = rc.IssuedAt.Time()
	}
	if rc.AuthTime != nil {
		c.AuthTime = rc.AuthTime.Time()
	}
	return c, nil
}

// audiences is what a token's aud must hold one of; nil accepts any.
func (v *Verifier) audiences() []string {
	if v.cfg.Audience == "" {
		return v.cfg.Audiences
	}
	return append([]string{v.cfg.Audience}, v.cfg.Audiences...)
}
