package stepauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

const (
	testIssuer = "https://stepup.test"
	aal2URI    = "http://idmanagement.gov/ns/assurance/aal/2"
)

var (
	testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	keysMu  sync.Mutex
	keys    = map[string]crypto.Signer{}
)

// key returns a test key, the same one for a name within the run.
func key(t *testing.T, name string) crypto.Signer {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[name]; ok {
		return k
	}
	var k crypto.Signer
	var err error
	if strings.HasPrefix(name, "rsa") {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	keys[name] = k
	return k
}

// sign makes a compact JWS of claims with alg and key, typ at+jwt as
// stepup writes it.
func sign(t *testing.T, alg jose.SignatureAlgorithm, k any, claims map[string]any) string {
	t.Helper()
	return signTyped(t, "at+jwt", alg, k, claims)
}

// signTyped is sign with another typ header; "" leaves it out.
func signTyped(t *testing.T, typ jose.ContentType, alg jose.SignatureAlgorithm, k any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(typ)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// userClaims are an aal2 user's access token, authenticated 5 minutes ago.
func userClaims() map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"sub":       "alice",
		"aud":       "demo-app",
		"client_id": "demo-app",
		"exp":       testNow.Add(10 * time.Minute).Unix(),
		"iat":       testNow.Add(-time.Minute).Unix(),
		"nbf":       testNow.Add(-time.Minute).Unix(),
		"jti":       "at-1",
		"scope":     "openid profile",
		"acr":       "aal2",
		"amr":       []string{"pwd", "otp", "mfa"},
		"auth_time": testNow.Add(-5 * time.Minute).Unix(),
	}
}

// clientClaims are a client-credentials token of the admin automation client.
func clientClaims() map[string]any {
	return map[string]any{
		"iss":         testIssuer,
		"sub":         "automation",
		"aud":         "automation",
		"client_id":   "automation",
		"exp":         testNow.Add(10 * time.Minute).Unix(),
		"iat":         testNow.Add(-time.Minute).Unix(),
		"jti":         "at-2",
		"permissions": []string{"manage_mfa"},
	}
}

func with(c map[string]any, kv ...any) map[string]any {
	c = maps.Clone(c)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

func newTestVerifier(t *testing.T, edit func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{
		Issuer: testIssuer,
		Keys:   &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{key(t, "ec").Public(), key(t, "rsa").Public()}},
		Levels: DefaultLevels(),
		Now:    func() time.Time { return testNow },
		Revoked: func(_ context.Context, jti string) bool {
			return jti == "revoked-jti"
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// parseChallenge parses one Bearer challenge into its auth-params
// (RFC 9110 §11.3), unescaping quoted strings.
func parseChallenge(t *testing.T, h string) (scheme string, params map[string]string) {
	t.Helper()
	scheme, rest, _ := strings.Cut(h, " ")
	params = map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("challenge %q: no '=' in %q", h, rest)
		}
		name = strings.TrimSpace(name)
		var val strings.Builder
		if strings.HasPrefix(after, `"`) {
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' {
					i++
				}
				val.WriteByte(after[i])
			}
			if i == len(after) {
				t.Fatalf("challenge %q: unterminated quoted string", h)
			}
			rest = after[i+1:]
		} else {
			tok, tail, _ := strings.Cut(after, ",")
			val.WriteString(strings.TrimSpace(tok))
			rest = "," + tail
			if tail == "" {
				rest = ""
			}
		}
		if _, dup := params[name]; dup {
			t.Fatalf("challenge %q: %s twice", h, name)
		}
		params[name] = val.String()
		rest = strings.TrimSpace(rest)
		if rest != "" {
			if rest[0] != ',' {
				t.Fatalf("challenge %q: expected ',' at %q", h, rest)
			}
			rest = strings.TrimSpace(rest[1:])
		}
	}
	return scheme, params
}

func TestRequire(t *testing.T) {
	ec, rsaKey, other := key(t, "ec"), key(t, "rsa"), key(t, "other-ec")
	ecPub, _ := x509.MarshalPKIXPublicKey(ec.Public())
	ecJWK, _ := json.Marshal(jose.JSONWebKey{Key: ec.Public()})

	aal2 := Requirement{ACR: "aal2", MaxAge: 15 * time.Minute}
	admin := Requirement{ACR: "aal2", MaxAge: 15 * time.Minute, Permission: "manage_mfa", AllowClientCredentials: true}

	type want struct {
		status int
		scheme string            // "" when no WWW-Authenticate is expected
		params map[string]string // exact auth-params of the challenge
		header string            // when set, the exact WWW-Authenticate value
	}
	pass := want{status: http.StatusOK}
	invalidToken := func(desc string) want {
		return want{status: 401, scheme: "Bearer", params: map[string]string{"error": "invalid_token", "error_description": desc}}
	}
	stepUp := func(desc, acrValues, maxAge string) want {
		p := map[string]string{"error": "insufficient_user_authentication", "error_description": desc}
		if acrValues != "" {
			p["acr_values"] = acrValues
		}
		if maxAge != "" {
			p["max_age"] = maxAge
		}
		return want{status: 401, scheme: "Bearer", params: p}
	}
	forbidden := func(desc string) want {
		return want{status: 403, scheme: "Bearer", params: map[string]string{"error": "insufficient_scope", "error_description": desc}}
	}

	tests := []struct {
		name   string
		req    Requirement
		auth   []string // Authorization header values
		config func(*Config)
		want   want
	}{
		{name: "aal2 token on aal2 route", req: aal2, auth: bearer(sign(t, jose.ES256, ec, userClaims())), want: pass},
		{name: "RS256 token", req: aal2, auth: bearer(sign(t, jose.RS256, rsaKey, userClaims())), want: pass},
		{name: "aal3 satisfies aal2", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", "aal3"))), want: pass},
		{name: "phrh alias of aal3 satisfies aal2", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", "phrh"))), want: pass},
		{name: "aal2 alias accepted", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", aal2URI))), want: pass},
		{name: "route named by alias", req: Requirement{ACR: aal2URI}, auth: bearer(sign(t, jose.ES256, ec, userClaims())), want: pass},
		{name: "typ application/at+jwt", req: aal2, auth: bearer(signTyped(t, "application/at+jwt", jose.ES256, ec, userClaims())), want: pass},
		{name: "typ AT+JWT", req: aal2, auth: bearer(signTyped(t, "AT+JWT", jose.ES256, ec, userClaims())), want: pass},
		{name: "scheme is case-insensitive", req: aal2, auth: []string{"bearer " + sign(t, jose.ES256, ec, userClaims())}, want: pass},
		{name: "no requirement accepts aal1", req: Requirement{}, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", "aal1"))), want: pass},
		{name: "audience matches", req: aal2, config: func(c *Config) { c.Audience = "demo-app" },
			auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "aud", []string{"x", "demo-app"}))), want: pass},
		{name: "one of the audiences matches", req: aal2, config: func(c *Config) { c.Audiences = []string{"console", "demo-app"} },
			auth: bearer(sign(t, jose.ES256, ec, userClaims())), want: pass},
		{name: "leeway tolerates skew", req: aal2, config: func(c *Config) { c.Leeway = time.Minute },
			auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "exp", testNow.Add(-30*time.Second).Unix()))), want: pass},

		{name: "aal1 token on aal2 route", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", "aal1"))),
			want: want{status: 401,
				header: `Bearer error="insufficient_user_authentication", error_description="authentication level aal1 is below the required aal2", acr_values="aal2 http://idmanagement.gov/ns/assurance/aal/2", max_age=900`,
				scheme: "Bearer", params: map[string]string{
					"error":             "insufficient_user_authentication",
					"error_description": "authentication level aal1 is below the required aal2",
					"acr_values":        "aal2 " + aal2URI,
					"max_age":           "900",
				}}},
		{name: "aal2 token on aal3 route", req: Requirement{ACR: "phrh"}, auth: bearer(sign(t, jose.ES256, ec, userClaims())),
			want: stepUp("authentication level aal2 is below the required aal3", "aal3 phrh", "")},
		{name: "user token without acr", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", nil))),
			want: stepUp("the token names no authentication level; aal2 is required", "aal2 "+aal2URI, "900")},
		{name: "unknown acr", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", "gold"))),
			want: stepUp("authentication level gold is below the required aal2", "aal2 "+aal2URI, "900")},
		{name: "auth_time older than max_age", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "auth_time", testNow.Add(-16*time.Minute).Unix()))),
			want: stepUp("authentication is older than 15m0s", "aal2 "+aal2URI, "900")},
		{name: "auth_time old, max_age only", req: Requirement{MaxAge: 5 * time.Minute}, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "auth_time", testNow.Add(-6*time.Minute).Unix()))),
			want: stepUp("authentication is older than 5m0s", "", "300")},
		{name: "auth_time exactly max_age", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "auth_time", testNow.Add(-15*time.Minute).Unix()))), want: pass},
		{name: "no auth_time with max_age", req: Requirement{MaxAge: time.Hour}, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "auth_time", nil))),
			want: stepUp("the token has no auth_time; authentication within 1h0m0s is required", "", "3600")},
		{name: "low and old", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", "aal1", "auth_time", testNow.Add(-time.Hour).Unix()))),
			want: stepUp("authentication level aal1 is below the required aal2; authentication is older than 15m0s", "aal2 "+aal2URI, "900")},
		{name: "acr name escaped", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", `a"b\c`+"\n"))),
			want: stepUp(`authentication level a'b/c? is below the required aal2`, "aal2 "+aal2URI, "900")},

		{name: "no Authorization header", req: aal2, auth: nil,
			want: want{status: 401, scheme: "Bearer", header: "Bearer", params: map[string]string{}}},
		{name: "another scheme", req: aal2, auth: []string{"Basic YWxpY2U6cHc="},
			want: want{status: 401, scheme: "Bearer", header: "Bearer", params: map[string]string{}}},
		{name: "two Authorization headers", req: aal2, auth: []string{"Bearer a", "Bearer b"},
			want: want{status: 400, scheme: "Bearer", params: map[string]string{"error": "invalid_request", "error_description": "more than one Authorization header"}}},
		{name: "empty bearer token", req: aal2, auth: []string{"Bearer "}, want: invalidToken("empty token")},
		{name: "garbled token", req: aal2, auth: bearer("not.a.jwt"), want: invalidToken("not a signed JWT with an accepted algorithm")},
		{name: "JWE-shaped token", req: aal2, auth: bearer("a.b.c.d.e"), want: invalidToken("not a signed JWT with an accepted algorithm")},
		{name: "token too long", req: aal2, auth: bearer(strings.Repeat("a", maxTokenLen+1)), want: invalidToken("token too long")},
		{name: "expired", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "exp", testNow.Unix()))), want: invalidToken("token expired")},
		{name: "no exp", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "exp", nil))), want: invalidToken("no expiry")},
		{name: "not yet valid", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "nbf", testNow.Add(time.Minute).Unix()))), want: invalidToken("token not valid yet")},
		{name: "issued in the future", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "iat", testNow.Add(time.Minute).Unix()))), want: invalidToken("token issued in the future")},
		{name: "wrong issuer", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "iss", "https://evil.test"))), want: invalidToken("wrong issuer")},
		{name: "wrong audience", req: aal2, config: func(c *Config) { c.Audience = "payments" },
			auth: bearer(sign(t, jose.ES256, ec, userClaims())), want: invalidToken("token not meant for this audience")},
		{name: "none of the audiences", req: aal2, config: func(c *Config) { c.Audiences = []string{"console", "bot"} },
			auth: bearer(sign(t, jose.ES256, ec, userClaims())), want: invalidToken("token not meant for this audience")},
		{name: "signed by another key", req: aal2, auth: bearer(sign(t, jose.ES256, other, userClaims())), want: invalidToken("signature not valid")},
		{name: "tampered payload", req: aal2, auth: bearer(tamper(t, sign(t, jose.ES256, ec, with(userClaims(), "acr", "aal1")), "acr", "aal3")), want: invalidToken("signature not valid")},
		{name: "alg none", req: aal2, auth: bearer(unsigned(t, userClaims())), want: invalidToken("not a signed JWT with an accepted algorithm")},
		{name: "HS256 keyed with the public key (DER)", req: aal2, auth: bearer(sign(t, jose.HS256, ecPub, userClaims())), want: invalidToken("not a signed JWT with an accepted algorithm")},
		{name: "HS256 keyed with the public JWK", req: aal2, auth: bearer(sign(t, jose.HS256, ecJWK, userClaims())), want: invalidToken("not a signed JWT with an accepted algorithm")},
		{name: "algorithm not configured", req: aal2, config: func(c *Config) { c.Algorithms = []string{"RS256"} },
			auth: bearer(sign(t, jose.ES256, ec, userClaims())), want: invalidToken("not a signed JWT with an accepted algorithm")},
		{name: "logout token typ", req: aal2, auth: bearer(signTyped(t, "logout+jwt", jose.ES256, ec, userClaims())), want: invalidToken("not an access token (typ must be at+jwt)")},
		{name: "typ JWT (an ID token, say)", req: aal2, auth: bearer(signTyped(t, "JWT", jose.ES256, ec, userClaims())), want: invalidToken("not an access token (typ must be at+jwt)")},
		{name: "no typ", req: aal2, auth: bearer(signTyped(t, "", jose.ES256, ec, userClaims())), want: invalidToken("not an access token (typ must be at+jwt)")},
		{name: "ID token (no jti)", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "jti", nil, "nonce", "n"))), want: invalidToken("no jti")},
		{name: "no client_id", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "client_id", nil))), want: invalidToken("no client_id")},
		{name: "no sub", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "sub", nil))), want: invalidToken("no subject")},
		{name: "malformed claim", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "amr", "pwd"))), want: invalidToken("claims malformed")},
		{name: "revoked", req: aal2, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "jti", "revoked-jti"))), want: invalidToken("token revoked")},

		{name: "client credentials allowed", req: admin, auth: bearer(sign(t, jose.ES256, ec, clientClaims())), want: pass},
		{name: "client credentials refused", req: aal2, auth: bearer(sign(t, jose.ES256, ec, clientClaims())),
			want: forbidden("no permission: client-credentials tokens are not accepted here; a user's token is required")},
		{name: "client without the permission", req: admin, auth: bearer(sign(t, jose.ES256, ec, with(clientClaims(), "permissions", nil))),
			want: forbidden("no permission: the token lacks the manage_mfa permission")},
		{name: "user without the permission", req: admin, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "acr", "aal1"))),
			want: forbidden("no permission: the token lacks the manage_mfa permission")},
		{name: "user with the permission", req: admin, auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "permissions", []string{"manage_mfa"}))), want: pass},
		{name: "admin with the permission steps up", req: admin,
			auth: bearer(sign(t, jose.ES256, ec, with(userClaims(), "permissions", []string{"manage_mfa"}, "auth_time", testNow.Add(-20*time.Minute).Unix()))),
			want: stepUp("authentication is older than 15m0s", "aal2 "+aal2URI, "900")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, tt.config)
			var got *Claims
			h := v.Require(tt.req, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = ClaimsFrom(r.Context())
				w.WriteHeader(http.StatusOK)
			}))
			r := httptest.NewRequest(http.MethodGet, "/api", nil)
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			if w.Code != tt.want.status {
				t.Fatalf("status %d, want %d; WWW-Authenticate %q; body %s", w.Code, tt.want.status, w.Header().Get("WWW-Authenticate"), w.Body)
			}
			if tt.want.status == http.StatusOK {
				if got == nil {
					t.Fatal("handler saw no claims")
				}
				if h := w.Header().Get("WWW-Authenticate"); h != "" {
					t.Errorf("WWW-Authenticate %q on success", h)
				}
				return
			}
			if got != nil {
				t.Fatal("handler was called")
			}
			hdr := w.Header().Values("WWW-Authenticate")
			if len(hdr) != 1 {
				t.Fatalf("WWW-Authenticate %q, want one", hdr)
			}
			if tt.want.header != "" && hdr[0] != tt.want.header {
				t.Errorf("WWW-Authenticate\n got %s\nwant %s", hdr[0], tt.want.header)
			}
			scheme, params := parseChallenge(t, hdr[0])
			if scheme != tt.want.scheme || !maps.Equal(params, tt.want.params) {
				t.Errorf("challenge %s %v, want %s %v", scheme, params, tt.want.scheme, tt.want.params)
			}
			checkProblem(t, w, tt.want.status, tt.want.params["error_description"])
		})
	}
}

func checkProblem(t *testing.T, w *httptest.ResponseRecorder, status int, detail string) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	var p map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	want := map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": float64(status), "detail": p["detail"]}
	if d, _ := p["detail"].(string); detail != "" && descriptionText(d) != detail {
		t.Errorf("problem detail %q, want %q", d, detail)
	}
	if !maps.Equal(p, want) {
		t.Errorf("problem %v, want %v", p, want)
	}
}

func TestRequireClaims(t *testing.T) {
	v := newTestVerifier(t, nil)
	tests := []struct {
		name   string
		req    Requirement
		claims map[string]any
		want   Claims
	}{
		{name: "user", req: Requirement{ACR: "aal2"}, claims: with(userClaims(), "aud", []string{"demo-app", "api"}), want: Claims{
			Issuer: testIssuer, Subject: "alice", Audience: []string{"demo-app", "api"}, ClientID: "demo-app", JTI: "at-1",
			IssuedAt: testNow.Add(-time.Minute), Expiry: testNow.Add(10 * time.Minute),
			ACR: "aal2", AMR: []string{"pwd", "otp", "mfa"}, AuthTime: testNow.Add(-5 * time.Minute),
			Scopes: []string{"openid", "profile"},
		}},
		{name: "client", req: Requirement{AllowClientCredentials: true}, claims: with(clientClaims(), "scope", []string{"a", "b"}), want: Claims{
			Issuer: testIssuer, Subject: "automation", Audience: []string{"automation"}, ClientID: "automation", JTI: "at-2",
			IssuedAt: testNow.Add(-time.Minute), Expiry: testNow.Add(10 * time.Minute),
			Scopes: []string{"a", "b"}, Permissions: []string{"manage_mfa"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Claims
			h := v.Require(tt.req, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = ClaimsFrom(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+sign(t, jose.ES256, key(t, "ec"), tt.claims))
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got == nil {
				t.Fatal("no claims")
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if !bytes.Equal(gj, wj) {
				t.Errorf("claims\n got %s\nwant %s", gj, wj)
			}
			if got.IsClient() != (tt.name == "client") {
				t.Errorf("IsClient() = %v", got.IsClient())
			}
		})
	}
	if _, ok := ClaimsFrom(context.Background()); ok {
		t.Error("ClaimsFrom on an empty context reported claims")
	}
}

func TestRemoteKeySet(t *testing.T) {
	k := key(t, "rsa-remote")
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwks)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	v := newTestVerifier(t, func(c *Config) {
		c.Keys = NewRemoteKeySet(context.Background(), srv.URL)
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(userClaims())
	jws, _ := signer.Sign(payload)
	good, _ := jws.CompactSerialize()
	if c, err := v.Verify(context.Background(), good); err != nil || c.Subject != "alice" {
		t.Fatalf("Verify = %v, %v", c, err)
	}

	h := v.Require(Requirement{ACR: "aal2"}, http.NotFoundHandler())
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+sign(t, jose.RS256, key(t, "rsa-stranger"), userClaims()))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", w.Code)
	}
	if !strings.Contains(logs.String(), "signature not valid") {
		t.Errorf("log %q lacks the reason", logs.String())
	}
}

func TestVerifyErrors(t *testing.T) {
	v := newTestVerifier(t, nil)
	_, err := v.Verify(context.Background(), sign(t, jose.ES256, key(t, "other-ec"), userClaims()))
	if !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify error %v does not wrap ErrInvalidToken", err)
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	ks := &oidc.StaticKeySet{}
	tests := map[string]Config{
		"no issuer":       {Keys: ks},
		"no keys":         {Issuer: testIssuer},
		"HS256":           {Issuer: testIssuer, Keys: ks, Algorithms: []string{"HS256"}},
		"none":            {Issuer: testIssuer, Keys: ks, Algorithms: []string{"none"}},
		"no algorithms":   {Issuer: testIssuer, Keys: ks, Algorithms: []string{}},
		"negative leeway": {Issuer: testIssuer, Keys: ks, Leeway: -time.Second},
	}
	for name, cfg := range tests {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: NewVerifier succeeded", name)
		}
	}
}

func TestRequirePanics(t *testing.T) {
	v := newTestVerifier(t, nil)
	tests := map[string]func(){
		"unknown level":    func() { v.Require(Requirement{ACR: "gold"}, http.NotFoundHandler()) },
		"negative max_age": func() { v.Require(Requirement{MaxAge: -time.Second}, http.NotFoundHandler()) },
		"nil handler":      func() { v.Require(Requirement{}, nil) },
	}
	for name, f := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]string{
		"aal2":          `"aal2"`,
		`a"b`:           `"a\"b"`,
		`a\b`:           `"a\\b"`,
		"a\nb\x7fé":     `"a?b???"`,
		"tab\tis fine ": "\"tab\tis fine \"",
	}
	for in, want := range tests {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWriteProblem(t *testing.T) {
	w := httptest.NewRecorder()
	WriteProblem(w, http.StatusForbidden, "No permission", `needs "manage_mfa"`)
	if w.Code != http.StatusForbidden || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
	want := `{"type":"about:blank","title":"No permission","status":403,"detail":"needs \"manage_mfa\""}` + "\n"
	if w.Body.String() != want {
		t.Errorf("body %s, want %s", w.Body, want)
	}
}

func bearer(token string) []string { return []string{"Bearer " + token} }

// unsigned makes an alg "none" JWT.
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

// tamper replaces one claim of a signed token, keeping the signature.
func tamper(t *testing.T, token, claim string, value any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	c[claim] = value
	raw, _ = json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}
