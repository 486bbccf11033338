package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stepup-mfa/stepup/plugins/launch"
	"github.com/stepup-mfa/stepup/provider"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/upstream"
)

func newServeCommand() *cobra.Command {
	var demo bool
	var demoListen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the provider",
		Long: `Run the OpenID Connect provider.

With no --config it uses built-in defaults: SQLite under ./stepup-data/,
listening on 127.0.0.1:8080 with issuer http://localhost:8080.
--demo also creates a demo user, an administrator and an example client,
serves the example application (examples/relyingparty) at that client's
redirect URI (http://localhost:9000/callback; --demo-listen moves it),
and prints where to start.

Each enabled method runs as a plugin subprocess: a built-in one as the
stepup-NAME binary beside stepup when make build made both, checked
against the sha256 make build recorded, otherwise as stepup itself
("stepup plugin NAME"), checked against its sha256 at start; an external
one as the file its path names, checked against its sha256. Every start,
also after a crash, checks the file again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The config loads before stepup takes the signals over, so that
			// SIGINT or SIGTERM still ends a start that is loading.
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			var app *demoApp
			if demo {
				if app, err = listenDemo(demoListen); err != nil {
					return err
				}
				defer app.ln.Close()
				addDemoClient(&cfg, app.url)
			}
			return serve(ctx, cmd, cfg, app)
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "seed a demo user, an admin and an example client, and serve the example application")
	cmd.Flags().StringVar(&demoListen, "demo-listen", defaultDemoListen, "host:port of the example application with --demo")
	return cmd
}

// serve runs the provider, and demo beside it when not nil.
func serve(ctx context.Context, cmd *cobra.Command, cfg config.Config, demo *demoApp) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(provider.GCPercent)
	}
	a, err := openAppWith(cmd, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	store, secrets, log := a.store, a.secrets, a.log
	// zitadel logs through slog.Default(), and net/http through the log
	// package, which slog.SetDefault redirects: every line in log.format.
	slog.SetDefault(log)
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the stepup executable to run built-in methods: %w", err)
	}
	methods, err := launch.Methods(openCtx, launch.FromConfig(cfg), a.launchOptions(self))
	if err != nil {
		return err
	}
	defer methods.Close()
	mailer, err := notify.New(cfg, log)
	if err != nil {
		return err
	}
	srv, err := provider.New(openCtx, cfg, provider.Options{Store: store, Secrets: secrets, Logger: log, Now: a.now, Methods: methods, Mailer: mailer})
	if err != nil {
		return err
	}
	// Say so rather than ignore what the configuration asks for.
	if cfg.Upstream != nil {
		log.Info("first factor at the upstream identity provider", "issuer", cfg.Upstream.Issuer,
			"redirect_uri", strings.TrimSuffix(cfg.Issuer, "/")+upstream.CallbackPath, "local_passwords", cfg.Upstream.LocalPasswords)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w (is another stepup running? set listen in the config)", cfg.Listen, err)
	}
	hs := newHTTPServer(srv, serveLimits)
	go purgeLoop(ctx, a)
	// The notifications queued with the changes they follow, delivered
	// after commit (by this replica or any other of the store).
	go srv.Outbox().Run(ctx, outboxEvery)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(shutdownCtx)
	}()
	if demo != nil { // seeded once the address is ours, so that what it prints is true
		if err := seedDemo(ctx, a); err != nil {
			ln.Close()
			return err
		}
	}
	log.Info("stepup ready", "issuer", cfg.Issuer, "listen", ln.Addr().String(), "storage", cfg.Storage.Driver)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	if demo != nil { // the demo application discovers the provider now serving
		if err := demo.start(ctx, cfg.Issuer, ln.Addr().String(), log); err != nil {
			hs.Close()
			<-served
			return err
		}
		printDemo(cmd.OutOrStdout(), cfg.Issuer, demo.url)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpLimits bound what one connection may hold of the server, so that
// slow or idle clients cannot pile up connections and goroutines.
type httpLimits struct {
	ReadHeader time.Duration // to read a request's header
	Read       time.Duration // to read a whole request, body included
	Write      time.Duration // from the end of the header to the end of the answer
	Idle       time.Duration // a keep-alive connection waiting for its next request
	HeaderSize int           // bytes of request line and header
}

// serveLimits are stepup serve's: a request is a small form or a token
// call, sent in well under Read; Write leaves a page time for a slow
// method plugin (their calls time out sooner).
var serveLimits = httpLimits{
	ReadHeader: 10 * time.Second,
	Read:       30 * time.Second,
	Write:      60 * time.Second,
	Idle:       2 * time.Minute,
	HeaderSize: 64 << 10,
}

// newHTTPServer is the server stepup serve runs h with, held to lim.
func newHTTPServer(h http.Handler, lim httpLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeader,
		ReadTimeout:       lim.Read,
		WriteTimeout:      lim.Write,
		IdleTimeout:       lim.Idle,
		MaxHeaderBytes:    lim.HeaderSize,
	}
}

// outboxEvery is how often stepup serve looks for notifications to
// deliver: a queued mail goes out within about this long.
const outboxEvery = time.Second

// purgeLoop deletes expired rows so the database does not grow without
// bound (DEPENDENCIES.md: 1M expired rows per table cost disk, not speed).
func purgeLoop(ctx context.Context, a *app) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := a.store.PurgeExpired(ctx, a.now())
			if err != nil {
				a.log.Warn("purge expired rows", "err", err)
			} else if n > 0 {
				a.log.Info("purged expired rows", "rows", n)
			}
		}
	}
}
