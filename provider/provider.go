package provider

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/provider/account"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/adminapi"
	"github.com/stepup-mfa/stepup/provider/adminpage"
	"github.com/stepup-mfa/stepup/provider/audit"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/login"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/metrics"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/protocol/edge"
	"github.com/stepup-mfa/stepup/provider/protocol/signing"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/secrets"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/upstream"
)

// Server is one stepup replica: an OpenID Connect provider over a Store.
// It is an http.Handler.
type Server struct {
	handler http.Handler
	keys    *signing.KeyRing
	now     func() time.Time
	outbox  *notify.Worker
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

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	now := o.Now
	o.Now = func() time.Time { return now().UTC() }
}

// New builds a Server, creating signing keys when the store has none.
func New(ctx context.Context, cfg config.Config, o Options) (*Server, error) {
	o.defaults()
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	if cfg.Tokens.SigningAlg == "" { // a Config built in code, not loaded
		cfg.Tokens.SigningAlg = signing.AlgRS256
	}
	secure := issuer.Scheme == "https"
	var br *browser.Browser // the sign-out link asks it; made below, with pages
	pages := newPages(cfg, o.Logger, func(r *http.Request) bool { return br.SessionID(r) != "" })
	policy := policyFromConfig(cfg)
	series := metrics.New(o.Methods)
	set := methods.Load(o.Methods, cfg.Methods, o.Logger, series)
	auditLog := &audit.Log{Store: o.Store, Log: o.Logger, Now: o.Now}
	outbox := &notify.Worker{Store: o.Store, Sender: o.Mailer, Now: o.Now, Log: o.Logger,
		Backoff: cfg.Notify.RetryAfter, MaxAttempts: cfg.Notify.MaxAttempts}

	publishFor := max(cfg.Tokens.IDTokenTTL, cfg.Tokens.AccessTokenTTL)
	keys := signing.NewKeyRing(o.Store, o.Secrets, o.Now, publishFor+time.Minute)
	if slices.ContainsFunc(cfg.Clients, func(c config.Client) bool { return c.ExternalMFA }) {
		keys.SetPrepublish(signing.ExternalMFAPrepublish) // Entra ID caches the JWKS for 24 h
	}
	if err := keys.EnsureSigningKeys(ctx, o.Now()); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(cfg.Issuer, "/")
	clients := map[string]*protocol.Client{}
	for _, cc := range cfg.Clients {
		clients[cc.ID] = protocol.NewClient(cc, cfg.Tokens.IDTokenTTL, o.Now, !secure,
			func(id string) string { return base + "/login?id=" + url.QueryEscape(id) })
	}
	br = &browser.Browser{Store: o.Store, Cookies: browser.NewCookies(o.Secrets, cfg.Session.TTL, secure), Now: o.Now,
		SessionTTL: cfg.Session.TTL, RequestTTL: cfg.Tokens.AuthRequestTTL, Secure: secure, Web: pages}
	trust := &browser.Trust{Store: o.Store, Now: o.Now, Policy: policy, Config: cfg.TrustedBrowser, Secure: secure}
	guards := &edge.Guards{Clients: clients, Audit: auditLog.Record, Log: o.Logger, Pages: pages}
	signin := &login.Handler{Config: cfg, Store: o.Store, Now: o.Now, Log: o.Logger, Web: pages, Audit: auditLog,
		Metrics: series, Browser: br, Methods: set, Policy: policy, Hasher: hasher(cfg), Clients: clients,
		Gate: password.NewGate(cmp.Or(cfg.Passwords.MaxConcurrent, runtime.NumCPU()), cfg.Passwords.QueueWait), Trust: trust}
	if u := cfg.Upstream; u != nil && u.TrustIDTokenHint { // external MFA (SPEC §11)
		signin.Hints = &upstream.HintVerifier{Issuer: u.Issuer, ClientID: u.ClientID, Now: o.Now}
	}

	// zitadel logs through slog.Default(), not a logger of ours: stepup
	// serve makes that its own (op.WithLogger does nothing). No CORS from
	// zitadel: its default answers every origin with credentials, on pages
	// too (see protocol/cors.go).
	opts := []op.Option{op.WithHttpInterceptors(guards.Errors, signin.Intercept), op.WithCORSOptions(nil)}
	if issuer.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	var cryptoKey [32]byte
	copy(cryptoKey[:], o.Secrets.DataKey)
	codes := protocol.TokenCrypto{Crypto: op.NewAES256GCMCrypto(cryptoKey, "")}
	opts = append(opts, op.WithCrypto(codes))
	oidcStorage := &protocol.Storage{Store: o.Store, Clients: clients, Keys: keys, Codes: codes, Now: o.Now,
		Issuer: cfg.Issuer, Tokens: cfg.Tokens, Audit: auditLog.Record, Events: auditLog.Complete, Bind: browser.Bind}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          []string{"openid", "profile", "email", "phone", "offline_access"},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr",
			"azp", "at_hash", "c_hash", "preferred_username", "email", "phone_number"},
	}, oidcStorage, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	signin.OP = provider
	if cfg.Upstream != nil {
		signin.Upstream = &upstream.Client{Config: *cfg.Upstream, RedirectURI: base + upstream.CallbackPath, Now: o.Now}
		signin.Accounts = &upstream.Accounts{Config: *cfg.Upstream, Store: o.Store, Audit: auditLog, Now: o.Now}
	}

	adminSvc := newAdmin(cfg, o, set, auditLog)
	s := &Server{keys: keys, now: o.Now, outbox: outbox}
	s.handler, err = mount(routes{
		cfg: cfg, secure: secure, secrets: o.Secrets, web: pages, store: o.Store, metrics: series, methods: set,
		op: provider, storage: oidcStorage, guards: guards, policy: policy,
		login: signin, account: &account.Handler{Config: cfg, Store: o.Store, Now: o.Now, Log: o.Logger, Web: pages, Audit: auditLog,
			Browser: br, Methods: set, Policy: policy, Secrets: o.Secrets, Trust: trust},
		adminAPI: &adminapi.Handler{Config: cfg, Store: o.Store, Now: o.Now, Log: o.Logger, Audit: auditLog, Admin: adminSvc,
			Policy: policy, Clients: clients, Keys: keys},
		adminPage: &adminpage.Handler{Config: cfg, Store: o.Store, Now: o.Now, Web: pages, Audit: auditLog, Admin: adminSvc,
			Browser: br, Methods: set, Policy: policy},
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NewAdmin is the administration's operations on the store and the
// launched methods of o, audited like the admin API's: what the offline
// commands (stepup user, stepup temp-code issue) run without a Server.
func NewAdmin(cfg config.Config, o Options) *admin.Service {
	o.defaults()
	return newAdmin(cfg, o, methods.Load(o.Methods, cfg.Methods, o.Logger, nil),
		&audit.Log{Store: o.Store, Log: o.Logger, Now: o.Now})
}

func newAdmin(cfg config.Config, o Options, set *methods.Set, auditLog *audit.Log) *admin.Service {
	var ms []admin.Method
	for _, m := range set.All() {
		ms = append(ms, m)
	}
	return &admin.Service{Store: o.Store, Hasher: hasher(cfg), Now: o.Now, Log: o.Logger, Methods: ms, Audit: auditLog.Admin,
		Event: auditLog.AdminEvent, WithEvents: adminCommit,
		RemovedMail: func(ctx context.Context, u storage.User, method string) *storage.Mail {
			return notify.Queued(notify.MethodRemoved(u.Email, u.Username, set.DisplayName(method), o.Now(), reqctx.From(ctx).RemoteAddr), "method removed", u.ID)
		}}
}

func hasher(cfg config.Config) password.Hasher {
	a := cfg.Passwords.Argon2
	return password.Hasher{MemoryKiB: a.MemoryKiB, Iterations: a.Iterations, Parallelism: a.Parallelism}
}

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
