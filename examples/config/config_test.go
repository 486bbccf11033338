// Package config_test keeps the example configurations loading: each is
// read with provider/config.Load (which validates it) exactly as
// `stepup serve --config FILE` would.
package config_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	pin "github.com/stepup-mfa/stepup/examples/customplugin"
	"github.com/stepup-mfa/stepup/plugins"
	"github.com/stepup-mfa/stepup/provider/config"
)

// cleanEnv blanks every STEPUP_* variable Load reads (an empty variable is
// ignored), so that the machine's environment cannot change the result.
func cleanEnv(t *testing.T) {
	t.Helper()
	for name := range config.EnvVars() {
		t.Setenv(name, "")
	}
}

func load(t *testing.T, file string) config.Config {
	t.Helper()
	c, err := config.Load(file, plugins.Builtins)
	if err != nil {
		t.Fatalf("Load(%s): %v", file, err)
	}
	if err := c.Validate(plugins.Builtins); err != nil {
		t.Fatalf("Validate(%s): %v", file, err)
	}
	return c
}

func client(t *testing.T, c config.Config, id string) config.Client {
	t.Helper()
	for _, cl := range c.Clients {
		if cl.ID == id {
			return cl
		}
	}
	t.Fatalf("no client %q", id)
	return config.Client{}
}

func TestProduction(t *testing.T) {
	cleanEnv(t)
	c := load(t, "stepup.yaml")
	if !strings.HasPrefix(c.Issuer, "https://") || c.Storage.Driver != "postgres" || c.Listen != "0.0.0.0:8080" {
		t.Errorf("issuer %q, storage %q, listen %q", c.Issuer, c.Storage.Driver, c.Listen)
	}
	if u, err := url.Parse(c.Storage.DSN); err != nil || u.Scheme != "postgres" {
		t.Errorf("storage.dsn %q: %v", c.Storage.DSN, err)
	} else if _, set := u.User.Password(); set {
		t.Errorf("the file's DSN %q carries a password", c.Storage.DSN)
	}

	web := client(t, c, "bank-web")
	if web.Secret == "" || !slices.Equal(web.RedirectURIs, []string{"https://bank.example.com/callback"}) ||
		!slices.Equal(web.GrantTypes, []string{"authorization_code", "refresh_token"}) || len(web.Permissions) != 0 {
		t.Errorf("web application %+v", web)
	}
	bot := client(t, c, "helpdesk-bot")
	if bot.Secret == "" || !slices.Equal(bot.GrantTypes, []string{"client_credentials"}) ||
		!slices.Equal(bot.Permissions, []string{"manage_mfa"}) || len(bot.RedirectURIs) != 0 {
		t.Errorf("admin bot %+v", bot)
	}

	if c.Methods["sms"].IsEnabled() || !c.Methods["totp"].IsEnabled() || c.Methods["webauthn"].Priority != 80 {
		t.Errorf("methods %+v", c.Methods)
	}
	if tc := c.Methods["tempcode"]; tc.Duration("max_ttl", 0) != 8*time.Hour || tc.Int("digits", 0) != 8 {
		t.Errorf("tempcode %+v", tc)
	}
	if c.Lockout != (config.Lockout{MaxFailures: 5, MaxFailuresPerUser: 100, Duration: 30 * time.Minute}) {
		t.Errorf("lockout %+v", c.Lockout)
	}
	if c.Admin != (config.Admin{MaxAuthAge: 10 * time.Minute, RequiredACR: "aal2"}) {
		t.Errorf("admin %+v", c.Admin)
	}
	if c.Log.Format != "json" || c.SMTP.Addr == "" || c.SMTP.Password != "" {
		t.Errorf("log %+v, smtp addr %q (password set in the file: %v)", c.Log, c.SMTP.Addr, c.SMTP.Password != "")
	}
}

// TestProductionSecretsFromEnvironment: the secrets the file leaves out
// come from STEPUP_* variables.
func TestProductionSecretsFromEnvironment(t *testing.T) {
	cleanEnv(t)
	const dsn = "postgres://stepup:s3cret@db.internal:5432/stepup?sslmode=verify-full"
	t.Setenv("STEPUP_STORAGE_DSN", dsn)
	t.Setenv("STEPUP_SMTP_PASSWORD", "mail-relay-password")
	t.Setenv("STEPUP_LOCKOUT_MAX_FAILURES", "7")
	c := load(t, "stepup.yaml")
	if c.Storage.DSN != dsn || c.SMTP.Password != "mail-relay-password" || c.Lockout.MaxFailures != 7 {
		t.Fatalf("dsn %q, smtp password set %v, max_failures %d", c.Storage.DSN, c.SMTP.Password != "", c.Lockout.MaxFailures)
	}
	// A bad value is refused with the variable's name.
	t.Setenv("STEPUP_LOCKOUT_DURATION", "soon")
	var ce *config.Error
	if _, err := config.Load("stepup.yaml", plugins.Builtins); !errors.As(err, &ce) || !strings.Contains(err.Error(), "STEPUP_LOCKOUT_DURATION") {
		t.Fatalf("a bad duration in the environment: %v", err)
	}
}

// TestProductionPluginSettings hands the pin entry's settings to the
// example plugin as stepup hands them (PluginSettings): the plugin
// accepts them.
func TestProductionPluginSettings(t *testing.T) {
	cleanEnv(t)
	c := load(t, "stepup.yaml")
	mc, ok := c.Methods["pin"]
	if !ok || !mc.IsEnabled() || !strings.HasPrefix(mc.Path, "/") || len(mc.SHA256) != 64 || mc.Priority != 50 {
		t.Fatalf("pin method %+v", mc)
	}
	settings := mc.PluginSettings()
	if err := pin.New().Configure(settings); err != nil {
		t.Fatalf("the plugin refuses the example's settings %v: %v", settings, err)
	}
}

func TestDemo(t *testing.T) {
	cleanEnv(t)
	c := load(t, "demo.yaml")
	if c.Issuer != "http://localhost:8080" || c.Storage.Driver != "sqlite" || !strings.HasPrefix(c.Storage.DSN, "./stepup-data/") {
		t.Errorf("issuer %q, storage %+v", c.Issuer, c.Storage)
	}
	// The client that examples/relyingparty uses with its defaults.
	app := client(t, c, "demo-app")
	if app.Secret != "" || !slices.Contains(app.RedirectURIs, "http://localhost:9000/callback") ||
		!slices.Equal(app.GrantTypes, []string{"authorization_code", "refresh_token"}) {
		t.Errorf("demo-app %+v", app)
	}
	for _, name := range plugins.BuiltinNames() {
		if !c.Methods[name].IsEnabled() {
			t.Errorf("built-in method %s is off in the demo", name)
		}
	}
	if tc := c.Methods["tempcode"]; tc.Duration("max_ttl", 0) != 4*time.Hour || tc.Duration("min_ttl", 0) != time.Hour {
		t.Errorf("tempcode keeps its other defaults: %+v", tc)
	}
	if c.Lockout.MaxFailures != 3 || !c.TrustedBrowser.Enabled || c.Log.Level != "debug" {
		t.Errorf("lockout %+v, trusted browser %+v, log %+v", c.Lockout, c.TrustedBrowser, c.Log)
	}
}
