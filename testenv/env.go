package testenv

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/launch"
	"github.com/stepup-mfa/stepup/provider"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/secrets"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/postgres"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
	"github.com/stepup-mfa/stepup/provider/username"
)

// Clients every Env registers.
const (
	PublicClient       = "public-app"       // PKCE required
	ConfidentialClient = "confidential-app" // secret ConfidentialSecret
	ConfidentialSecret = "confidential-secret-for-tests"
	RS256Client        = "rs256-app" // public, RS256 ID tokens
	AdminBot           = "admin-bot" // client_credentials with manage_mfa
	// AdminConsole is the public client (PKCE) administrators sign in
	// at to call the admin API: it holds manage_mfa, so its tokens are
	// accepted there.
	AdminConsole   = "admin-console"
	AdminBotSecret = "admin-bot-secret-for-tests"
	RedirectURI    = "http://rp.test/callback"
	PostLogoutURI  = "http://rp.test/logged-out"
)

// ClockStart is where every Env's clock starts: a fixed instant, so that
// no test depends on today's date, and far ahead of the wall clock, which
// zitadel still reads in a few places (see Clock).
var ClockStart = time.Date(2100, time.January, 1, 0, 0, 0, 0, time.UTC)

// Clock is the settable clock an Env's provider, store and method plugins
// all run on. It reads ClockStart when the Env starts and runs at the pace
// of the machine's monotonic clock, so that of two events the later has
// the later time, as the provider expects (a login completed before a
// request was created is older than the request); a test moves it
// further with Advance. A zero Clock starts when first read.
//
// Everything stepup decides by time follows it: the expiry of requests,
// codes, sessions and tokens, rate limits and lockouts, TOTP steps,
// auth_time, the iat, nbf and exp of access tokens, and the exp and
// expires_in of a token response. The RP of NewRP verifies ID tokens by
// it too. What stays on the wall clock: an ID token's iat (zitadel stamps
// it and takes no clock); zitadel's own checks of an access token's exp at
// userinfo, introspection and revocation, and of an id_token_hint's, which
// is why the clock starts ahead of the wall clock (the provider refuses an
// expired token at those endpoints all the same, by its store, on this
// clock); the age limit gorilla/securecookie puts on the session cookie
// (the session behind the cookie expires on this clock); the certificates
// of the plugins' mTLS; and the names of the outbox's files.
type Clock struct {
	mu       sync.Mutex
	started  time.Time // the machine's clock, with its monotonic reading, at ClockStart
	advanced time.Duration
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started.IsZero() {
		c.started = time.Now()
	}
	return ClockStart.Add(time.Since(c.started) + c.advanced)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.advanced += d
	c.mu.Unlock()
}

// Env is one running provider.
type Env struct {
	URL     string // issuer
	Config  config.Config
	Store   storage.Store
	Secrets *secrets.Secrets
	Server  *provider.Server
	Clock   *Clock
	HTTP    *httptest.Server
	Logs    *LogBuffer
	Methods *host.Registry // nil without WithMethods
	Outbox  string         // where notifications land
	// Upstream is the upstream IdP of WithUpstream; nil without.
	Upstream *Upstream

	// browsers is the connection pool every Browser of this Env shares,
	// as the tabs of one browser do.
	browsers *http.Transport
	hashes   sync.Map // password -> its hash, shared by the users that have it
}

type options struct {
	postgresDSN string
	postgres    bool
	configure   []func(*config.Config)
	secretFile  string
	methods     []string
	// upstream: WithUpstream, its section edited by upstreamConfig.
	upstream       bool
	upstreamConfig func(*config.Upstream)
}

// Option changes how New builds an Env.
type Option func(*options)

// WithPostgres runs the Env on the machine's PostgreSQL (a fresh schema).
func WithPostgres() Option { return func(o *options) { o.postgres = true } }

// WithPostgresDSN runs the Env on an existing PostgreSQL schema: two Envs
// on one DSN (and one secret file) are two replicas of one deployment.
func WithPostgresDSN(dsn string) Option {
	return func(o *options) { o.postgres, o.postgresDSN = true, dsn }
}

// WithSecretFile shares keys.secret_file between replicas.
func WithSecretFile(path string) Option { return func(o *options) { o.secretFile = path } }

// WithMethods launches the named built-in methods as real plugin
// subprocesses (the others are disabled); the host's clock is the Env's.
func WithMethods(names ...string) Option { return func(o *options) { o.methods = names } }

// WithConfig edits the configuration before the server starts.
func WithConfig(fn func(*config.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, fn) }
}

// New starts a provider and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	clock := &Clock{started: time.Now()}
	dir := t.TempDir()
	cfg := config.Default(plugins.Builtins)
	cfg.Issuer = "http://" + ln.Addr().String()
	cfg.Listen = ln.Addr().String()
	cfg.Keys.SecretFile = filepath.Join(dir, "secret.key")
	cfg.Outbox.Dir = filepath.Join(dir, "outbox")
	if o.secretFile != "" {
		cfg.Keys.SecretFile = o.secretFile
	}
	// Cheap hashing keeps the suite fast; the production parameters are
	// exercised by the password package's own tests.
	cfg.Passwords.Argon2 = config.Argon2{MemoryKiB: 64, Iterations: 1, Parallelism: 1}
	cfg.Clients = []config.Client{
		{ID: PublicClient, RedirectURIs: []string{RedirectURI}, PostLogoutRedirectURIs: []string{PostLogoutURI},
			GrantTypes: []string{"authorization_code", "refresh_token"}},
		{ID: ConfidentialClient, Secret: ConfidentialSecret, RedirectURIs: []string{RedirectURI},
			PostLogoutRedirectURIs: []string{PostLogoutURI},
			GrantTypes:             []string{"authorization_code", "refresh_token", "client_credentials"},
			ResponseTypes:          []string{"code", "id_token"}},
		{ID: RS256Client, RedirectURIs: []string{RedirectURI}, IDTokenSigningAlg: "RS256",
			GrantTypes: []string{"authorization_code", "refresh_token"}},
		{ID: AdminBot, Secret: AdminBotSecret, GrantTypes: []string{"client_credentials"}, Permissions: []string{"manage_mfa"}},
		{ID: AdminConsole, RedirectURIs: []string{RedirectURI}, GrantTypes: []string{"authorization_code"}, Permissions: []string{"manage_mfa"}},
	}
	if o.postgres {
		cfg.Storage.Driver = "postgres"
		cfg.Storage.DSN = o.postgresDSN
		if cfg.Storage.DSN == "" {
			cfg.Storage.DSN = PostgresDSN(t)
		}
	} else {
		cfg.Storage.Driver, cfg.Storage.DSN = "sqlite", filepath.Join(dir, "stepup.db")
	}
	if len(o.methods) > 0 {
		for name, mc := range cfg.Methods {
			off := false
			if !slices.Contains(o.methods, name) {
				mc.Enabled = &off
				cfg.Methods[name] = mc
			}
		}
	}
	var up *Upstream
	if o.upstream {
		up = NewUpstream(t, cfg.Issuer, func() time.Time { return clock.Now() })
		cfg.Upstream = up.Config()
		if o.upstreamConfig != nil {
			o.upstreamConfig(cfg.Upstream)
		}
	}
	for _, fn := range o.configure {
		fn(&cfg)
	}
	if err := cfg.Validate(plugins.Builtins); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var store storage.Store
	if cfg.Storage.Driver == "postgres" {
		store, err = postgres.Open(ctx, cfg.Storage.DSN, storage.WithClock(clock.Now))
	} else {
		store, err = sqlite.Open(ctx, cfg.Storage.DSN, storage.WithClock(clock.Now))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	secrets, err := secrets.Load(cfg.Keys.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	logs := &LogBuffer{}
	var logOut io.Writer = logs
	if os.Getenv("STEPUP_TEST_LOG") != "" {
		logOut = io.MultiWriter(logs, os.Stderr)
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	outbox := cfg.Outbox.Dir
	mailer, err := notify.New(cfg, logger) // SMTP when smtp.addr is set, else the outbox
	if err != nil {
		t.Fatal(err)
	}
	var methods *host.Registry
	if len(o.methods) > 0 {
		self, err := StepupBinary()
		if err != nil {
			t.Fatal(err)
		}
		methods, err = launch.Methods(ctx, launch.FromConfig(cfg), MailingLaunchOptions(self, store, secrets, mailer, logger, clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { methods.Close() })
	}
	endpointsMu.Lock() // see NewUpstream
	srv, err := provider.New(ctx, cfg, provider.Options{Store: store, Secrets: secrets, Now: clock.Now,
		Logger: logger, Methods: methods, Mailer: mailer})
	endpointsMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// The owner runs the outbox, as stepup serve does.
	deliver, stopDelivery := context.WithCancel(context.Background())
	delivered := make(chan struct{})
	go func() { defer close(delivered); srv.Outbox().Run(deliver, 20*time.Millisecond) }()
	t.Cleanup(func() { stopDelivery(); <-delivered })
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)
	browsers := keepAliveTransport()
	t.Cleanup(browsers.CloseIdleConnections)
	return &Env{URL: cfg.Issuer, Config: cfg, Store: store, Secrets: secrets, Server: srv, Clock: clock, HTTP: hs, Logs: logs,
		Methods: methods, Outbox: outbox, Upstream: up, browsers: browsers}
}

// keepAliveTransport is a client connection pool that keeps its
// connections to the provider for reuse, however many requests run at
// once, as browsers and relying parties do. http.DefaultTransport keeps
// only two idle connections per host, so under concurrent load it would
// open (and the provider accept) a new TCP connection for most requests.
func keepAliveTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 0, 1024 // 0: no limit across hosts
	return tr
}

// AddUser creates an active user with a password.
func (e *Env) AddUser(t testing.TB, name, pw string, perms ...string) storage.User {
	t.Helper()
	hash := e.passwordHash(t, pw)
	now := e.Clock.Now()
	u := storage.User{ID: "u-" + name, Username: name, Skeleton: username.Skeleton(name), Email: name + "@example.com", PasswordHash: hash,
		Active: true, Permissions: perms, CreatedAt: now, UpdatedAt: now}
	if err := e.Store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// passwordHash hashes pw once per Env: Argon2 is slow by design, and a
// benchmark adds thousands of users with one password.
func (e *Env) passwordHash(t testing.TB, pw string) string {
	if h, ok := e.hashes.Load(pw); ok {
		return h.(string)
	}
	p := e.Config.Passwords.Argon2
	hash, err := password.Hasher{MemoryKiB: p.MemoryKiB, Iterations: p.Iterations, Parallelism: p.Parallelism}.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	e.hashes.Store(pw, hash)
	return hash
}

// LogBuffer collects the server's log lines so tests can check that no
// secret reaches them.
type LogBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

var _ http.Handler = (*provider.Server)(nil)

// LaunchOptions say how a test starts methods as stepup serve does:
// self is the stepup executable (StepupBinary), and the plugins keep their
// data in store under keys from secrets, a refused file audited there.
// They send no mail (sdk.SendMail answers sdk.ErrUnavailable); see
// MailingLaunchOptions.
func LaunchOptions(self string, store storage.Store, secrets *secrets.Secrets, log *slog.Logger, now func() time.Time) launch.Options {
	return MailingLaunchOptions(self, store, secrets, nil, log, now)
}

// MailingLaunchOptions are LaunchOptions whose methods mail the users of
// store through mailer (an Env's: its outbox, or SMTP).
func MailingLaunchOptions(self string, store storage.Store, secrets *secrets.Secrets, mailer notify.Sender, log *slog.Logger, now func() time.Time) launch.Options {
	return launch.Options{Self: self, Backend: provider.PluginBackend(store, mailer), Key: secrets.PluginKey,
		OnRefused: provider.AuditRefused(store, log, now), Logger: log, Now: now}
}
