package provider

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/metrics"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/secrets"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// Server is one stepup replica: an OpenID Connect provider over a Store.
// It is an http.Handler.
type Server struct {
	cfg     config.Config
	store   storage.Store
	secrets *secrets.Secrets
	log     *slog.Logger
	now     func() time.Time
	clients map[string]*protocol.Client
	keys    *protocol.KeyRing
	policy  authflow.Policy
	hasher  password.Hasher
	cookies *sessions.CookieStore
	secure  bool // issuer is https: Secure cookies
	op      op.OpenIDProvider
	metrics *metrics.Metrics
	guards  *protocol.Guards
	// storage is the op.Storage zitadel runs on.
	storage *protocol.Storage
	handler http.Handler
	web     web.Pages
	// pages are stepup's own pages, behind CSRF protection.
	pages http.Handler

	// algPerClient: some client signs with other than tokens.signing_alg,
	// so the algorithm depends on the client (see intercept).
	algPerClient bool
	// codes seals authorization codes (and passes minted access tokens
	// through): zitadel's crypto, which AuthRequestByCode opens.
	codes protocol.TokenCrypto

	registry *host.Registry
	methods  map[string]*method
	mailer   notify.Sender
	// notifying counts the notifications being sent in the background.
	notifying sync.WaitGroup
}

// GCPercent is the garbage-collection target stepup serve runs with (when
// GOGC is not set): the heap is small (tens of MiB), and collecting it
// four times less often than Go's default buys about 10-15 % of request
// throughput on a 2-core machine. The benchmarks use the same value.
const GCPercent = 400

// Options are the dependencies a Server takes besides its configuration.
type Options struct {
	Store   storage.Store
	Secrets *secrets.Secrets
	Logger  *slog.Logger // default slog.Default(); zitadel logs to slog.Default() regardless
	// Now is the provider's clock, by which it decides and stamps
	// everything (default time.Now; tests set a clock). Store must have
	// been opened with the same one (storage.WithClock).
	Now func() time.Time
	// Methods are the launched verification-method plugins; nil: none
	// (only aal1 can be reached).
	Methods *host.Registry
	// Mailer sends notifications; nil: they are only logged.
	Mailer notify.Sender
}

// New builds a Server, creating signing keys when the store has none.
func New(ctx context.Context, cfg config.Config, o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	s := &Server{
		cfg: cfg, store: o.Store, secrets: o.Secrets, log: o.Logger,
		now:     func() time.Time { return o.Now().UTC() },
		clients: map[string]*protocol.Client{},
		hasher: password.Hasher{MemoryKiB: cfg.Passwords.Argon2.MemoryKiB,
			Iterations: cfg.Passwords.Argon2.Iterations, Parallelism: cfg.Passwords.Argon2.Parallelism},
		secure: issuer.Scheme == "https",
	}
	s.web = web.Pages{Log: o.Logger}
	s.policy = policyFromConfig(cfg)
	s.registry, s.mailer = o.Methods, o.Mailer
	s.loadMethods()
	s.metrics = metrics.New(s.registry)
	publishFor := cfg.Tokens.IDTokenTTL
	if cfg.Tokens.AccessTokenTTL > publishFor {
		publishFor = cfg.Tokens.AccessTokenTTL
	}
	s.keys = protocol.NewKeyRing(o.Store, o.Secrets, s.now, publishFor+time.Minute)
	if err := s.keys.EnsureSigningKeys(ctx, s.now()); err != nil {
		return nil, err
	}
	s.cookies = sessions.NewCookieStore(o.Secrets.CookieHash, o.Secrets.CookieBlock)
	for _, c := range s.cookies.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(cookieValues{})
		}
	}
	s.cookies.MaxAge(int(cfg.Session.TTL.Seconds()))
	s.cookies.Options.HttpOnly = true
	s.cookies.Options.SameSite = http.SameSiteLaxMode
	s.cookies.Options.Secure = s.secure
	s.cookies.Options.Path = "/"

	if s.cfg.Tokens.SigningAlg == "" { // a Config built in code, not loaded
		s.cfg.Tokens.SigningAlg = protocol.AlgRS256
	}
	base := strings.TrimSuffix(cfg.Issuer, "/")
	for _, cc := range cfg.Clients {
		s.algPerClient = s.algPerClient || (cc.IDTokenSigningAlg != "" && cc.IDTokenSigningAlg != s.cfg.Tokens.SigningAlg)
		s.clients[cc.ID] = protocol.NewClient(cc, cfg.Tokens.IDTokenTTL, s.now, !s.secure,
			func(id string) string { return base + "/login?id=" + url.QueryEscape(id) })
	}

	s.guards = &protocol.Guards{Clients: s.clients, Audit: s.audit, Log: s.log, Pages: s.web}

	// zitadel logs through slog.Default(), not a logger of ours: stepup
	// serve makes that its own (op.WithLogger does nothing). No CORS from
	// zitadel: its default answers every origin with credentials, on pages
	// too (see protocol/cors.go).
	opts := []op.Option{op.WithHttpInterceptors(s.guards.Errors, s.intercept), op.WithCORSOptions(nil)}
	if issuer.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	var cryptoKey [32]byte
	copy(cryptoKey[:], o.Secrets.DataKey)
	s.codes = protocol.TokenCrypto{Crypto: op.NewAES256GCMCrypto(cryptoKey, "")}
	opts = append(opts, op.WithCrypto(s.codes))
	s.storage = &protocol.Storage{Store: s.store, Clients: s.clients, Keys: s.keys, Codes: s.codes, Now: s.now,
		Issuer: s.cfg.Issuer, Tokens: s.cfg.Tokens, Audit: s.audit, Userinfo: s.fillUserinfo, Bind: bind}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          []string{"openid", "profile", "email", "phone", "offline_access"},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr",
			"azp", "at_hash", "c_hash", "preferred_username", "email", "phone_number"},
	}, s.storage, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	s.op = provider
	s.handler = s.routes()
	return s, nil
}

// WaitNotifications returns once every notification the Server has
// started sending in the background (the email of SPEC §6 when a method is
// added) has been handed over or has failed. A request has started its
// notifications by the time its response is written, so a test can tell,
// after a request, that it sent none.
func (s *Server) WaitNotifications() { s.notifying.Wait() }

// ServeHTTP serves every route of the provider.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// RotateSigningKeys creates new signing keys and retires the old ones,
// which stay published until tokens they signed have expired.
func (s *Server) RotateSigningKeys(ctx context.Context) ([]string, error) {
	return s.keys.Rotate(ctx, s.now())
}

func policyFromConfig(cfg config.Config) authflow.Policy {
	var p authflow.Policy
	for _, name := range cfg.LevelOrder() {
		p.Levels = append(p.Levels, authflow.Level{Name: name, Names: cfg.ACR[name]})
	}
	return p
}

// audit appends an event, filling time and address; a failure to audit is
// logged loudly but does not fail the user's request.
func (s *Server) audit(ctx context.Context, e storage.Event) {
	e = s.auditEvents(ctx, e)[0]
	if err := s.store.AppendEvent(ctx, e); err != nil {
		s.log.Error("audit event not recorded", "type", e.Type, "user", e.UserID, "err", err)
	}
}

// auditEvents completes events for the audit log (time, remote address,
// actor) and logs each; the caller stores them with its own write.
func (s *Server) auditEvents(ctx context.Context, events ...storage.Event) []storage.Event {
	for i := range events {
		e := &events[i]
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		if e.RemoteAddr == "" {
			e.RemoteAddr = reqctx.From(ctx).RemoteAddr
		}
		if e.Actor == "" {
			e.Actor = e.UserID
		}
		s.log.Info("audit", "type", e.Type, "user", e.UserID, "client", e.ClientID, "outcome", e.Outcome, "remote", e.RemoteAddr)
	}
	return events
}
