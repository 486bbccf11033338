package main

import (
	"context"
	"fmt"
	"log/slog"

	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stepup-mfa/stepup/plugins"
	"github.com/stepup-mfa/stepup/plugins/launch"
	"github.com/stepup-mfa/stepup/provider"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/secrets"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/postgres"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

// app is what every subcommand starts from: the configuration, the store
// and the secrets, and the clock by which the store, the provider and the
// methods judge time.
type app struct {
	cfg     config.Config
	store   storage.Store
	secrets *secrets.Secrets
	log     *slog.Logger
	now     func() time.Time
}

func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	return config.Load(path, plugins.Builtins)
}

// openApp loads the configuration and opens the store; the caller closes
// the store.
func openApp(cmd *cobra.Command) (*app, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return openAppWith(cmd, cfg)
}

// openAppWith opens the store and the secrets for a configuration the
// caller has loaded (and perhaps amended); the caller closes the store.
func openAppWith(cmd *cobra.Command, cfg config.Config) (*app, error) {
	log := newLogger(cfg, cmd.ErrOrStderr())
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	defer cancel()
	now := time.Now
	store, err := openStore(ctx, cfg, now)
	if err != nil {
		return nil, err
	}
	if n, err := admin.FillSkeletons(ctx, store); err != nil {
		store.Close()
		return nil, err
	} else if n > 0 {
		log.Info("usernames given their look-alike form", "users", n)
	}
	secrets, err := secrets.Load(cfg.Keys.SecretFile)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &app{cfg: cfg, store: store, secrets: secrets, log: log, now: now}, nil
}

// openStore opens the configured store, judging expiry by now.
func openStore(ctx context.Context, cfg config.Config, now func() time.Time) (storage.Store, error) {
	switch cfg.Storage.Driver {
	case "sqlite":
		return sqlite.Open(ctx, cfg.Storage.DSN, storage.WithClock(now))
	case "postgres":
		return postgres.Open(ctx, cfg.Storage.DSN, storage.WithClock(now))
	}
	return nil, fmt.Errorf("config: storage.driver %q is not supported: use sqlite or postgres", cfg.Storage.Driver)
}

func newLogger(cfg config.Config, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.Log.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// oneLine is err as main prints it before exiting non-zero: one line, the
// lines of a multi-line error joined with "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// launchOptions say how the methods of a are started, self being the
// stepup executable. The methods' mail (sdk.SendMail) goes where the
// provider's does (smtp, else the outbox); a mail configuration that
// cannot be used leaves them without, and stepup serve stops on it anyway.
func (a *app) launchOptions(self string) launch.Options {
	mailer, err := notify.New(a.cfg, a.log)
	if err != nil {
		a.log.Warn("methods send no mail", "err", err)
	}
	return launch.Options{Self: self, Backend: provider.PluginBackend(a.store, mailer), Key: a.secrets.PluginKey,
		OnRefused: provider.AuditRefused(a.store, a.log, a.now), Logger: a.log, Now: a.now}
}
