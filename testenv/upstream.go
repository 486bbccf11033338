package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	exstorage "github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/upstream"
)

// The upstream identity provider of WithUpstream: zitadel/oidc's example
// OpenID provider (example/server/exampleop, its login page and its
// in-memory storage), which nobody here wrote, serving on a port of its
// own. Its users sign in with UpstreamPassword.
const (
	UpstreamClientID     = "stepup"
	UpstreamClientSecret = "upstream-secret"
	UpstreamPassword     = "verysecure"
)

// Upstream is a running upstream IdP. Its knobs make it misbehave the
// ways a test needs; they are read at each request.
type Upstream struct {
	URL string // its issuer
	// Users are its accounts by ID; AddUser adds one.
	users *upstreamUsers
	st    *upstreamStorage
	HTTP  *httptest.Server
}

// UpstreamOptions are how an Upstream behaves; the zero value is a
// well-behaved IdP sending amr ["pwd"].
type UpstreamOptions struct {
	// AMR replaces the amr of its ID tokens (nil: the example's ["pwd"];
	// empty non-nil: none at all).
	AMR []string
	// WrongNonce: its ID tokens carry another nonce than stepup sent.
	WrongNonce bool
	// ForeignKeys: its JWKS publishes a key that did not sign its tokens.
	ForeignKeys bool
	// Refuse: it answers authorization requests with access_denied.
	Refuse bool
	// RotatedKey: it signs with a new key (a new kid), publishing the
	// old one beside it, as an IdP rotating its keys does.
	RotatedKey bool
	// AuthTimeAgo puts its auth_time this long before the clock's now (a
	// session at the upstream that prompt=login did not renew).
	AuthTimeAgo time.Duration
	// IDTokenClaims, when set, rewrites the claims of the ID tokens its
	// token endpoint answers with, which it signs again with its own key:
	// a token for another audience or from another issuer, validly
	// signed.
	IDTokenClaims func(claims map[string]any)
}

// Set changes how the upstream behaves from the next request on.
func (u *Upstream) Set(o UpstreamOptions) {
	u.st.mu.Lock()
	u.st.opts = o
	u.st.mu.Unlock()
}

// AddUser adds an account; username is what it sends as
// preferred_username.
func (u *Upstream) AddUser(id, username, email string) {
	u.users.mu.Lock()
	defer u.users.mu.Unlock()
	u.users.m[id] = &exstorage.User{ID: id, Username: username, Password: UpstreamPassword, FirstName: "Test", LastName: "User",
		Email: email, EmailVerified: true, PreferredLanguage: language.English}
}

// SetName changes the first and last name of account id, which the
// upstream sends as its name claim ("Test User" by default).
func (u *Upstream) SetName(id, first, last string) {
	u.users.mu.Lock()
	defer u.users.mu.Unlock()
	if a := u.users.m[id]; a != nil {
		a.FirstName, a.LastName = first, last
	}
}

// NewUpstream starts an upstream IdP that knows stepup (at issuer) as its
// client UpstreamClientID, with one user "alice" (ID "u-alice"). Its
// auth_time is read from now, the Env's clock (the rest of its stamps
// are zitadel's, on the wall clock).
func NewUpstream(t testing.TB, stepupIssuer string, now func() time.Time) *Upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	users := &upstreamUsers{m: map[string]*exstorage.User{}}
	client := exstorage.WebClient(UpstreamClientID, UpstreamClientSecret, stepupIssuer+upstream.CallbackPath)
	st := &upstreamStorage{Storage: exstorage.NewStorageWithClients(users, map[string]*exstorage.Client{UpstreamClientID: client}), now: now,
		postLogout: stepupIssuer + upstream.LogoutReturnPath}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	// SetupServer sets the default logger, and its provider's option
	// WithCustomAuthEndpoint("auth") changes zitadel's shared
	// op.DefaultEndpoints, which every provider made after it would use:
	// both are put back, and no provider is made meanwhile (endpointsMu,
	// held by New around provider.New). Its legacy server (wrapServer)
	// keeps a copy of the endpoints for its routes and discovery; its
	// login page computes the callback from the restored ones
	// (/authorize/callback), which callbackAlias sends to /auth/callback.
	endpointsMu.Lock()
	prevLog, prevEndpoints := slog.Default(), *op.DefaultEndpoints
	router := exampleop.SetupServer(issuer, st, logger, true)
	*op.DefaultEndpoints = prevEndpoints
	slog.SetDefault(prevLog)
	endpointsMu.Unlock()
	hs := httptest.NewUnstartedServer(callbackAlias(st.rewriteIDTokens(router)))
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)
	u := &Upstream{URL: issuer, users: users, st: st, HTTP: hs}
	u.AddUser("u-alice", "alice", "alice@example.com")
	return u
}

// Config is the upstream section that points stepup at u.
func (u *Upstream) Config() *config.Upstream {
	return &config.Upstream{Issuer: u.URL, ClientID: UpstreamClientID, ClientSecret: UpstreamClientSecret}
}

// WithUpstream runs the Env with an upstream IdP as its first factor
// (Env.Upstream), configured by fn when it is not nil: integrators get a
// running stepup with an upstream in one call.
func WithUpstream(fn func(*config.Upstream)) Option {
	return func(o *options) { o.upstream, o.upstreamConfig = true, fn }
}

// SignInUpstream follows p, the page that sent the browser to the
// upstream, through the upstream's login as the account username, and
// returns the page the upstream's answer ends on (at stepup, or a
// callback to the relying party).
func (b *Browser) SignInUpstream(p *Page, u *Upstream, username string) *Page {
	b.t.Helper()
	p = b.followOn(p, u.URL)
	if p.Location != nil || !strings.Contains(p.URL.String(), u.URL) {
		return p // the upstream answered without a login page (an error)
	}
	f := p.Form(b.t, "username")
	p = b.Submit(p, f, map[string]string{"username": username, "password": UpstreamPassword})
	return b.followOn(p, u.URL)
}

// followOn follows redirects to the upstream's host (the browser follows
// those to stepup by itself) until a page that is not a redirect there.
func (b *Browser) followOn(p *Page, base string) *Page {
	for i := 0; p.Location != nil && strings.HasPrefix(p.Location.String(), base) && i < 10; i++ {
		p = b.Get(p.Location.String())
	}
	return p
}

// rewriteIDTokens passes requests to next, rewriting the ID token of a
// token response as IDTokenClaims says, signed again with the key the
// upstream signs with.
func (s *upstreamStorage) rewriteIDTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rewrite := s.options().IDTokenClaims
		if rewrite == nil || r.URL.Path != "/oauth/token" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var resp map[string]any
		if raw, ok := func() (string, bool) {
			if json.Unmarshal(body, &resp) != nil {
				return "", false
			}
			raw, ok := resp["id_token"].(string)
			return raw, ok
		}(); ok {
			if signed, err := s.resign(r.Context(), raw, rewrite); err == nil {
				resp["id_token"] = signed
				body, _ = json.Marshal(resp)
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// resign returns the ID token raw with its claims rewritten, signed with
// the upstream's own key under its own kid.
func (s *upstreamStorage) resign(ctx context.Context, raw string, rewrite func(map[string]any)) (string, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return "", err
	}
	rewrite(claims)
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	key, err := s.SigningKey(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.SignatureAlgorithm(), Key: jose.JSONWebKey{Key: key.Key(), KeyID: key.ID()}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	signed, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return signed.CompactSerialize()
}

// endpointsMu keeps a provider from being made while zitadel's
// DefaultEndpoints are changed (NewUpstream).
var endpointsMu sync.Mutex

func callbackAlias(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/authorize/callback" {
			r.URL.Path = "/auth/callback"
		}
		next.ServeHTTP(w, r)
	})
}

type upstreamUsers struct {
	mu sync.Mutex
	m  map[string]*exstorage.User
}

func (s *upstreamUsers) GetUserByID(id string) *exstorage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id]
}

func (s *upstreamUsers) GetUserByUsername(name string) *exstorage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.m {
		if u.Username == name {
			return u
		}
	}
	return nil
}

func (s *upstreamUsers) ExampleClientID() string { return "service" }

// upstreamStorage is the example's storage with the knobs of
// UpstreamOptions: its auth requests answer amr and auth_time as
// told, and its key set may hold a stranger's key or a rotated one.
type upstreamStorage struct {
	*exstorage.Storage
	now        func() time.Time
	postLogout string // stepup's return from the upstream's logout, registered for its client
	mu         sync.Mutex
	opts       UpstreamOptions
	next       *rotatedKey // RotatedKey's
}

// GetClientByClientID is the example's client, with stepup's return from
// logout registered, as a deployment registers it.
func (s *upstreamStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return registeredLogout{Client: c, uri: s.postLogout}, nil
}

// registeredLogout is a client whose post-logout redirect URI is uri.
type registeredLogout struct {
	op.Client
	uri string
}

func (c registeredLogout) PostLogoutRedirectURIs() []string {
	return append(c.Client.PostLogoutRedirectURIs(), c.uri)
}

// rotatedKey is both the signing key and its published half.
type rotatedKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *rotatedKey) ID() string                                  { return k.id }
func (k *rotatedKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *rotatedKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k *rotatedKey) Use() string                                 { return "sig" }

// Key is the private key to sign with (op.SigningKey); the key set
// publishes publicHalf.
func (k *rotatedKey) Key() any { return k.key }

type publicHalf struct{ *rotatedKey }

func (k publicHalf) Key() any { return &k.key.PublicKey }

func (s *upstreamStorage) options() UpstreamOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

func (s *upstreamStorage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	o := s.options()
	if o.Refuse {
		return nil, oidc.ErrAccessDenied().WithDescription("the test upstream refuses")
	}
	if o.WrongNonce {
		req.Nonce = "not-the-nonce-stepup-sent"
	}
	ar, err := s.Storage.CreateAuthRequest(ctx, req, userID)
	if err != nil {
		return nil, err
	}
	return s.wrap(ar), nil
}

func (s *upstreamStorage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	ar, err := s.Storage.AuthRequestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.wrap(ar), nil
}

func (s *upstreamStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	ar, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	return s.wrap(ar), nil
}

func (s *upstreamStorage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	return s.Storage.CreateAccessToken(ctx, unwrap(r))
}

func (s *upstreamStorage) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, current string) (string, string, time.Time, error) {
	return s.Storage.CreateAccessAndRefreshTokens(ctx, unwrap(r), current)
}

func (s *upstreamStorage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	if s.options().RotatedKey {
		return s.rotated(), nil
	}
	return s.Storage.SigningKey(ctx)
}

// rotated is the key the upstream signs with once RotatedKey is set.
func (s *upstreamStorage) rotated() *rotatedKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		s.next = &rotatedKey{id: "rotated-1", key: k}
	}
	return s.next
}

func (s *upstreamStorage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.Storage.KeySet(ctx)
	if err == nil && s.options().RotatedKey {
		keys = append(keys, publicHalf{s.rotated()})
	}
	if err != nil || !s.options().ForeignKeys {
		return keys, err
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		out = append(out, foreignKey{signing: k, pub: &stranger.PublicKey})
	}
	return out, nil
}

func (s *upstreamStorage) wrap(ar op.AuthRequest) op.AuthRequest {
	o := s.options()
	return &upstreamRequest{AuthRequest: ar, opts: o, authTime: s.now().Add(-o.AuthTimeAgo)}
}

func unwrap(r op.TokenRequest) op.TokenRequest {
	if w, ok := r.(*upstreamRequest); ok {
		return w.AuthRequest
	}
	return r
}

type upstreamRequest struct {
	op.AuthRequest
	opts     UpstreamOptions
	authTime time.Time
}

func (r *upstreamRequest) GetAMR() []string {
	if r.opts.AMR != nil {
		return r.opts.AMR
	}
	return r.AuthRequest.GetAMR()
}

func (r *upstreamRequest) GetAuthTime() time.Time {
	if r.AuthRequest.GetAuthTime().IsZero() {
		return time.Time{}
	}
	return r.authTime
}

// foreignKey publishes a stranger's public key under the signing key's kid.
type foreignKey struct {
	signing op.Key
	pub     *rsa.PublicKey
}

func (k foreignKey) ID() string                         { return k.signing.ID() }
func (k foreignKey) Algorithm() jose.SignatureAlgorithm { return k.signing.Algorithm() }
func (k foreignKey) Use() string                        { return k.signing.Use() }
func (k foreignKey) Key() any                           { return k.pub }
