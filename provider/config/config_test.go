package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stepup-mfa/stepup/plugins"
)

// cleanEnv blanks every STEPUP_* variable Load reads (an empty variable
// is ignored), so the machine's environment cannot leak into a test.
func cleanEnv(t *testing.T) {
	t.Helper()
	for name := range EnvVars() {
		t.Setenv(name, "")
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stepup.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadText(t *testing.T, text string) (Config, error) {
	t.Helper()
	cleanEnv(t)
	return Load(writeConfig(t, text), testMethods)
}

func mustLoad(t *testing.T, text string) Config {
	t.Helper()
	c, err := loadText(t, text)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	return ce
}

func TestDefault(t *testing.T) {
	c := Default(testMethods)
	if err := c.Validate(testMethods); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"issuer", c.Issuer, "http://localhost:8080"},
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"storage", c.Storage, Storage{Driver: "sqlite", DSN: "./stepup-data/stepup.db"}},
		{"secret_file", c.Keys.SecretFile, "./stepup-data/secret.key"},
		{"clients", len(c.Clients), 0},
		{"upstream", c.Upstream == nil, true},
		{"acr", c.ACR, map[string][]string{
			"aal1": {"aal1"},
			"aal2": {"aal2", "http://idmanagement.gov/ns/assurance/aal/2"},
			"aal3": {"aal3", "phrh"},
		}},
		{"argon2", c.Passwords.Argon2, Argon2{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}},
		{"lockout", c.Lockout, Lockout{MaxFailures: 10, MaxFailuresPerUser: 100, Duration: 15 * time.Minute}},
		{"trusted_browser", c.TrustedBrowser, TrustedBrowser{Enabled: false, Days: 30}},
		{"admin", c.Admin, Admin{MaxAuthAge: 15 * time.Minute, RequiredACR: "aal2"}},
		{"notify", c.Notify.MethodAddedEmail, true},
		{"smtp", c.SMTP, SMTP{}},
		{"tokens", c.Tokens, Tokens{
			SigningAlg:     "RS256",
			AccessTokenTTL: 15 * time.Minute, IDTokenTTL: time.Hour, RefreshTokenTTL: 720 * time.Hour,
			AuthRequestTTL: 30 * time.Minute, CodeTTL: time.Minute, KeyRotation: 75 * time.Minute,
		}},
		{"session", c.Session.TTL, 12 * time.Hour},
		{"log", c.Log, Log{Level: "info", Format: "text"}},
		{"level order", c.LevelOrder(), []string{"aal1", "aal2", "aal3"}},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}

	// Every built-in of the registry, enabled, with the defaults the
	// method states; among them SPEC §3's.
	if got := slices.Sorted(maps.Keys(c.Methods)); !slices.Equal(got, plugins.BuiltinNames()) {
		t.Errorf("default methods %v, want the built-ins %v", got, plugins.BuiltinNames())
	}
	for _, name := range plugins.BuiltinNames() {
		priority, settings, _ := plugins.BuiltinDefaults(name)
		m := c.Methods[name]
		if !m.IsEnabled() || m.Priority != priority || m.Path != "" || !maps.Equal(m.PluginSettings(), withPriority(settings, priority)) {
			t.Errorf("method %s = enabled %v priority %d settings %v; want the method's %d %v", name, m.IsEnabled(), m.Priority, m.Settings, priority, settings)
		}
	}
	for _, want := range []struct {
		name     string
		priority int
		settings map[string]any
	}{
		{"totp", 60, map[string]any{}},
		{"tempcode", 100, map[string]any{"digits": 8, "min_ttl": "1h", "max_ttl": "24h", "per_hour": 6}},
	} {
		if m := c.Methods[want.name]; m.Priority != want.priority || !reflect.DeepEqual(m.Settings, want.settings) {
			t.Errorf("method %s = priority %d settings %#v; want %d %#v", want.name, m.Priority, m.Settings, want.priority, want.settings)
		}
	}

	// Each call is independent.
	a, b := Default(testMethods), Default(testMethods)
	*a.Methods["totp"].Enabled = false
	a.Methods["tempcode"].Settings["digits"] = 6
	if !b.Methods["totp"].IsEnabled() || b.Methods["tempcode"].Int("digits", 0) != 8 {
		t.Error("Default() calls share maps or pointers")
	}
}

func TestLoadWithoutFile(t *testing.T) {
	cleanEnv(t)
	c, err := Load("", testMethods)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default(testMethods)) {
		t.Errorf("Load(\"\") = %+v, want Default()", c)
	}
	t.Setenv("STEPUP_LISTEN", ":9999")
	if c, err = Load("", testMethods); err != nil || c.Listen != ":9999" {
		t.Errorf("Load(\"\") with STEPUP_LISTEN: listen %q, %v", c.Listen, err)
	}
}

func TestLoadEmptyAndNullSections(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "---\n", "methods:\nacr:\nclients:\nstorage:\n"} {
		c := mustLoad(t, text)
		if !reflect.DeepEqual(c.ACR, Default(testMethods).ACR) || !reflect.DeepEqual(c.Methods, Default(testMethods).Methods) || c.Storage != Default(testMethods).Storage {
			t.Errorf("%q: got acr %v methods %v storage %v; want defaults", text, c.ACR, c.Methods, c.Storage)
		}
	}
}

func TestLoadFileOverrides(t *testing.T) {
	c := mustLoad(t, `
issuer: https://login.example.com
listen: ":8443"
storage:
  driver: postgres
  dsn: postgres://stepup@127.0.0.1:5432/stepup
keys: {secret_file: /var/lib/stepup/secret.key}
clients:
  - id: web
    redirect_uris: [https://app.example.com/cb]
  - id: bot
    secret: s3cret
    grant_types: [client_credentials]
    permissions: [manage_mfa]
    id_token_signed_response_alg: RS256
upstream:
  issuer: https://idp.example.com
  client_id: stepup
  trust_id_token_hint: true
passwords: {argon2: {memory_kib: 64, iterations: 1}}
lockout: {max_failures: 3}
trusted_browser: {enabled: true, days: 7}
admin: {required_acr: phrh, max_auth_age: 5m}
notify: {method_added_email: false}
smtp: {addr: "smtp.example.com:587", from: "Stepup <stepup@example.com>"}
tokens: {signing_alg: ES256, id_token_ttl: 2h, refresh_token_ttl: 1h30m}
session: {ttl: 90m}
log: {level: debug, format: json}
`)
	checks := []struct {
		name      string
		got, want any
	}{
		{"issuer", c.Issuer, "https://login.example.com"},
		{"listen", c.Listen, ":8443"},
		{"storage", c.Storage, Storage{Driver: "postgres", DSN: "postgres://stepup@127.0.0.1:5432/stepup"}},
		{"secret_file", c.Keys.SecretFile, "/var/lib/stepup/secret.key"},
		{"client web", c.Clients[0], Client{
			ID: "web", RedirectURIs: []string{"https://app.example.com/cb"},
			GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
			IDTokenSigningAlg: "ES256", // tokens.signing_alg below
		}},
		{"client bot", c.Clients[1], Client{
			ID: "bot", Secret: "s3cret", GrantTypes: []string{"client_credentials"},
			Permissions: []string{"manage_mfa"}, IDTokenSigningAlg: "RS256",
		}},
		{"upstream", *c.Upstream, Upstream{Issuer: "https://idp.example.com", ClientID: "stepup", TrustIDTokenHint: true}},
		// Keys left out of a section keep their defaults.
		{"argon2", c.Passwords.Argon2, Argon2{MemoryKiB: 64, Iterations: 1, Parallelism: 1}},
		{"lockout", c.Lockout, Lockout{MaxFailures: 3, MaxFailuresPerUser: 100, Duration: 15 * time.Minute}},
		{"trusted_browser", c.TrustedBrowser, TrustedBrowser{Enabled: true, Days: 7}},
		{"admin", c.Admin, Admin{MaxAuthAge: 5 * time.Minute, RequiredACR: "phrh"}},
		{"notify", c.Notify.MethodAddedEmail, false},
		{"smtp", c.SMTP, SMTP{Addr: "smtp.example.com:587", From: "Stepup <stepup@example.com>"}},
		{"tokens", c.Tokens, Tokens{
			SigningAlg:     "ES256",
			AccessTokenTTL: 15 * time.Minute, IDTokenTTL: 2 * time.Hour, RefreshTokenTTL: 90 * time.Minute,
			AuthRequestTTL: 30 * time.Minute, CodeTTL: time.Minute, KeyRotation: 2*time.Hour + 15*time.Minute,
		}},
		{"session", c.Session.TTL, 90 * time.Minute},
		{"log", c.Log, Log{Level: "debug", Format: "json"}},
		{"methods untouched", c.Methods, Default(testMethods).Methods},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// TestClientSigningAlg: a client that names no algorithm gets
// tokens.signing_alg, RS256 unless set; one that names it keeps it.
func TestClientSigningAlg(t *testing.T) {
	for _, tc := range []struct{ tokens, want string }{
		{"", "RS256"},
		{"tokens: {signing_alg: ES256}\n", "ES256"},
		{"tokens: {signing_alg: RS256}\n", "RS256"},
	} {
		c := mustLoad(t, tc.tokens+`clients:
  - {id: plain, redirect_uris: [https://app.example.com/cb]}
  - {id: ec, redirect_uris: [https://app.example.com/cb], id_token_signed_response_alg: ES256}
  - {id: rsa, redirect_uris: [https://app.example.com/cb], id_token_signed_response_alg: RS256}
`)
		got := []string{c.Clients[0].IDTokenSigningAlg, c.Clients[1].IDTokenSigningAlg, c.Clients[2].IDTokenSigningAlg}
		if want := []string{tc.want, "ES256", "RS256"}; !slices.Equal(got, want) {
			t.Errorf("%q: clients' algorithms = %v, want %v", tc.tokens, got, want)
		}
	}
	_, err := loadText(t, "tokens: {signing_alg: HS256}\n")
	if ce := asError(t, err); ce.Key != "tokens.signing_alg" || !strings.Contains(ce.Msg, "use RS256 or ES256") {
		t.Errorf("HS256: %v", err)
	}
}

func withPriority(settings map[string]string, priority int) map[string]string {
	out := maps.Clone(settings)
	if priority != 0 {
		out["priority"] = strconv.Itoa(priority)
	}
	return out
}

// testMethods is this build's registry with two planned names of its
// own, so that the tests of a planned method (named in a file, not built)
// hold however many built-ins the build has.
var testMethods = plannedToo{plugins.Builtins}

const plannedA, plannedB = "hologram", "sundial"

type plannedToo struct{ plugins.Registry }

func (p plannedToo) Planned(name string) bool {
	return name == plannedA || name == plannedB || p.Registry.Planned(name)
}

func TestMethodsMergeOverDefaults(t *testing.T) {
	c := mustLoad(t, `
methods:
  totp: {priority: 70}
  tempcode: {digits: 6, max_ttl: 12h}
  hologram: {enabled: false, gateway: {kind: twilio, account: AC1}}
  sundial:
  myplugin:
    path: /opt/stepup/plugins/myplugin
    sha256: "`+strings.Repeat("ab", 32)+`"
    priority: 50
    color: blue
    retries: 3
`)
	totp := c.Methods["totp"]
	if !totp.IsEnabled() || totp.Priority != 70 {
		t.Errorf("totp = enabled %v priority %d; want true, 70", totp.IsEnabled(), totp.Priority)
	}
	tc := c.Methods["tempcode"]
	want := map[string]any{"digits": 6, "min_ttl": "1h", "max_ttl": "12h", "per_hour": 6}
	if !tc.IsEnabled() || tc.Priority != 100 || !reflect.DeepEqual(tc.Settings, want) {
		t.Errorf("tempcode = %v %d %#v; want settings %#v", tc.IsEnabled(), tc.Priority, tc.Settings, want)
	}
	// Planned methods, not built: they have no defaults, the file's keys
	// are all there is, and nothing checks them.
	a := c.Methods[plannedA]
	if a.IsEnabled() || a.Priority != 0 || !reflect.DeepEqual(a.Settings, map[string]any{"gateway": map[string]any{"kind": "twilio", "account": "AC1"}}) {
		t.Errorf("%s = %v %d %#v", plannedA, a.IsEnabled(), a.Priority, a.Settings)
	}
	if b, ok := c.Methods[plannedB]; !ok || !b.IsEnabled() || b.Priority != 0 || len(b.Settings) != 0 || !c.MethodNamed(plannedB) {
		t.Errorf("%s: null entry = %#v (%v), want an empty entry the file names", plannedB, b, ok)
	}
	p := c.Methods["myplugin"]
	if !p.IsEnabled() || p.Priority != 50 || p.Path != "/opt/stepup/plugins/myplugin" ||
		p.String("color", "") != "blue" || p.Int("retries", 0) != 3 {
		t.Errorf("myplugin = %#v", p)
	}
	for _, name := range plugins.PlannedNames() {
		if m, ok := c.Methods[name]; ok {
			t.Errorf("%s, planned and not named in the file, is configured: %#v", name, m)
		}
	}
}

func TestPluginSettings(t *testing.T) {
	m := MethodConfig{Priority: 70, Settings: map[string]any{
		"n": 8, "s": "1h", "b": true, "f": 1.5, "nested": map[string]any{"kind": "outbox"}, "list": []any{"a", 1},
	}}
	want := map[string]string{"n": "8", "s": "1h", "b": "true", "f": "1.5", "nested": `{"kind":"outbox"}`, "list": `["a",1]`, "priority": "70"}
	if got := m.PluginSettings(); !maps.Equal(got, want) {
		t.Errorf("PluginSettings() = %v, want %v", got, want)
	}
	// A value a method states comes back to it as it stated it.
	for _, s := range []string{"8", "1h", "true", "stepup", "", "08", "a: b", `{"kind":"outbox"}`, "[1,2]", "#x", "1e3"} {
		if got := settingString(yamlValue(s)); got != s {
			t.Errorf("yamlValue(%q) reaches the method as %q", s, got)
		}
	}
	if v := yamlValue("8"); v != 8 {
		t.Errorf("yamlValue(8) = %#v, want the int a file gives", v)
	}
}

func TestSettingsHelpers(t *testing.T) {
	m := MethodConfig{Settings: map[string]any{
		"n": 8, "n64": int64(9), "f": 10.0, "half": 1.5, "s": "text",
		"ttl": "1h30m", "d": 2 * time.Second, "bare": "3600", "num": 3600,
	}}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"Int n", m.Int("n", -1), 8},
		{"Int int64", m.Int("n64", -1), 9},
		{"Int whole float", m.Int("f", -1), 10},
		{"Int fraction", m.Int("half", -1), -1},
		{"Int string", m.Int("s", -1), -1},
		{"Int missing", m.Int("nope", -1), -1},
		{"Duration string", m.Duration("ttl", 0), 90 * time.Minute},
		{"Duration value", m.Duration("d", 0), 2 * time.Second},
		{"Duration no unit", m.Duration("bare", time.Minute), time.Minute},
		{"Duration number", m.Duration("num", time.Minute), time.Minute},
		{"Duration missing", m.Duration("nope", time.Minute), time.Minute},
		{"String", m.String("s", "def"), "text"},
		{"String not string", m.String("n", "def"), "def"},
		{"String missing", m.String("nope", "def"), "def"},
		{"nil settings", MethodConfig{}.Int("n", 4), 4},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestDurations(t *testing.T) {
	c := mustLoad(t, `
lockout: {duration: 1h30m}
admin: {max_auth_age: "90s"}
tokens: {access_token_ttl: 5m, id_token_ttl: 10m, key_rotation: 2h}
session: {ttl: 24h}
`)
	for _, tc := range []struct {
		name      string
		got, want time.Duration
	}{
		{"lockout.duration", c.Lockout.Duration, 90 * time.Minute},
		{"admin.max_auth_age", c.Admin.MaxAuthAge, 90 * time.Second},
		{"tokens.access_token_ttl", c.Tokens.AccessTokenTTL, 5 * time.Minute},
		{"tokens.key_rotation (explicit)", c.Tokens.KeyRotation, 2 * time.Hour},
		{"session.ttl", c.Session.TTL, 24 * time.Hour},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if c := mustLoad(t, "tokens: {access_token_ttl: 5m, id_token_ttl: 10m}\n"); c.Tokens.KeyRotation != 15*time.Minute {
		t.Errorf("derived key_rotation = %v, want 15m", c.Tokens.KeyRotation)
	}
}

func TestFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		key      string
		line     int
		contains string
	}{
		{"misspelled top-level key", "isuer: http://x\n", "isuer", 1, `did you mean "issuer"?`},
		{"misspelled nested key", "storage:\n  driver: sqlite\n  dns: x.db\n", "storage.dns", 3, `did you mean "storage.dsn"?`},
		{"unknown key lists the section", "lockout:\n  cooldown_period: 5m\n", "lockout.cooldown_period", 2, "the keys in lockout are max_failures, max_failures_per_user, duration"},
		{"key inside a client", "clients:\n  - id: a\n    redirect_uri: [http://a/cb]\n", "clients[0].redirect_uri", 3, `did you mean "clients[0].redirect_uris"?`},
		{"key inside argon2", "passwords:\n  argon2:\n    memory: 10\n", "passwords.argon2.memory", 3, "unknown key"},
		{"key inside upstream", "upstream:\n  issuer: https://idp\n  clientid: x\n", "upstream.clientid", 3, `did you mean "upstream.client_id"?`},
		{"bad duration", "lockout:\n  duration: 15x\n", "lockout.duration", 2, `"15x" but must be a duration`},
		{"duration without unit", "lockout:\n  duration: 900\n", "lockout.duration", 2, "must be a duration"},
		{"bad integer", "lockout: {max_failures: ten}\n", "lockout.max_failures", 1, "must be a whole number"},
		{"uint8 overflow", "passwords: {argon2: {parallelism: 300}}\n", "passwords.argon2.parallelism", 1, "from 0 to 255"},
		{"negative uint", "passwords: {argon2: {memory_kib: -1}}\n", "passwords.argon2.memory_kib", 1, "from 0 to 4294967295"},
		{"bad bool", "notify: {method_added_email: maybe}\n", "notify.method_added_email", 1, "true or false"},
		{"scalar for a section", "storage: sqlite\n", "storage", 1, "must be a mapping"},
		{"list for the file", "- issuer: x\n", "", 1, "the file is a list but must be a mapping"},
		{"scalar for a list", "clients:\n  - id: a\n    redirect_uris: http://a/cb\n", "clients[0].redirect_uris", 3, "must be a list"},
		{"list for a string", "issuer: [a, b]\n", "issuer", 1, "is a list but must be a string"},
		{"method not a mapping", "methods:\n  totp: on\n", "methods.totp", 2, "must be a mapping"},
		{"method bad priority", "methods:\n  totp: {priority: high}\n", "methods.totp.priority", 2, "whole number"},
		{"acr not a list", "acr:\n  aal1: aal1\n", "acr.aal1", 2, "must be a list"},
		{"syntax error", "issuer: x\nlisten: a: b\n", "", 2, "not valid YAML: mapping values are not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadText(t, tc.text)
			if err == nil {
				t.Fatal("Load: no error")
			}
			ce := asError(t, err)
			if ce.Key != tc.key || ce.Line != tc.line || !strings.HasSuffix(ce.File, "stepup.yaml") {
				t.Errorf("key %q line %d file %q; want %q, %d, stepup.yaml", ce.Key, ce.Line, ce.File, tc.key, tc.line)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
			if tc.line > 0 && !strings.Contains(err.Error(), "stepup.yaml:"+strconv.Itoa(tc.line)+": ") {
				t.Errorf("error %q does not name file:line", err)
			}
			if tc.key != "" && !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q does not name %q", err, tc.key)
			}
		})
	}
}

// TestMethodSettingsFromFile: a built-in's settings are checked by the
// method's own Configure at load, and a bad one stops the load with one
// line naming methods.NAME.KEY; a planned method's are not checked.
func TestMethodSettingsFromFile(t *testing.T) {
	for text, want := range map[string]string{
		"methods:\n  tempcode: {digits: 5}\n":     `config: methods.tempcode.digits is "5": use a whole number from 6 to 12`,
		"methods:\n  tempcode: {min_ttl: 25h}\n":  "config: methods.tempcode.min_ttl 25h is longer than max_ttl 24h: lower min_ttl or raise max_ttl",
		"methods:\n  totp: {verify_window: 0s}\n": `config: methods.totp.verify_window is "0s": use a positive duration such as "5m"`,
		"methods:\n  yubiotp: {priority: 5}\n": "config: methods.yubiotp is not a built-in method (" + strings.Join(plugins.BuiltinNames(), ", ") +
			"): set methods.yubiotp.path to the plugin executable and methods.yubiotp.sha256 to its checksum",
		"methods:\n  hologram: {per_hour: lots}\n":  "",
		"methods:\n  tempcode: {per_hour: 1000}\n":  "",
		"methods:\n  totp: {verify_limt: 3}\n":      "config: methods.totp.verify_limt is not a setting of this method: use one of issuer, verify_limit, verify_window",
		"methods:\n  tempcode: {per_hour: 1001}\n":  `config: methods.tempcode.per_hour is "1001": use a whole number from 1 to 1000`,
		"methods:\n  sundial: {priority: 80}\n":     "",
		"methods:\n  tempcode: {priority: 1000}\n":  "",
		"methods:\n  tempcode: {verify_limit: x}\n": `config: methods.tempcode.verify_limit is "x": use a whole number from 1 to 1048576`,
	} {
		_, err := loadText(t, text)
		if got := fmt.Sprint(err); (want == "" && err != nil) || (want != "" && got != want) {
			t.Errorf("%q: %v\nwant %s", text, err, cmp.Or(want, "no error"))
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	cleanEnv(t)
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), testMethods)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") || !strings.Contains(err.Error(), "cannot read") {
		t.Fatalf("Load(missing) = %v", err)
	}
}

func TestValidate(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	client := func(mut func(*Client)) func(*Config) {
		return func(c *Config) {
			cl := Client{ID: "app", RedirectURIs: []string{"https://app.example.com/cb"}}
			mut(&cl)
			c.Clients = append(c.Clients, cl)
		}
	}
	method := func(name string, mut func(*MethodConfig)) func(*Config) {
		return func(c *Config) {
			m := c.Methods[name]
			if m.Settings == nil {
				m.Settings = map[string]any{}
			}
			mut(&m)
			c.Methods[name] = m
		}
	}
	for _, tc := range []struct {
		name     string
		mut      func(*Config)
		key      string // "" means valid
		contains string
	}{
		{"defaults", func(*Config) {}, "", ""},

		{"issuer empty", func(c *Config) { c.Issuer = "" }, "issuer", "is empty"},
		{"issuer relative", func(c *Config) { c.Issuer = "login.example.com" }, "issuer", "absolute http or https URL"},
		{"issuer ftp", func(c *Config) { c.Issuer = "ftp://example.com" }, "issuer", "absolute http or https URL"},
		{"issuer query", func(c *Config) { c.Issuer = "https://example.com?x=1" }, "issuer", "query or fragment"},
		{"issuer fragment", func(c *Config) { c.Issuer = "https://example.com#x" }, "issuer", "query or fragment"},
		{"issuer trailing slash", func(c *Config) { c.Issuer = "https://example.com/" }, "issuer", "trailing slash"},
		{"issuer user", func(c *Config) { c.Issuer = "https://u:p@example.com" }, "issuer", "user name"},
		{"issuer with path", func(c *Config) { c.Issuer = "https://example.com/stepup" }, "", ""},
		{"listen no port", func(c *Config) { c.Listen = "127.0.0.1" }, "listen", "host:port"},
		{"listen bad port", func(c *Config) { c.Listen = "127.0.0.1:http" }, "listen", "host:port"},
		{"listen port range", func(c *Config) { c.Listen = ":70000" }, "listen", "host:port"},
		{"listen any host", func(c *Config) { c.Listen = ":0" }, "", ""},

		{"driver mysql", func(c *Config) { c.Storage.Driver = "mysql" }, "storage.driver", `storage.driver "mysql" is not supported: use sqlite or postgres`},
		{"dsn empty", func(c *Config) { c.Storage.DSN = "" }, "storage.dsn", "database file"},
		{"postgres dsn empty", func(c *Config) { c.Storage = Storage{Driver: "postgres"} }, "storage.dsn", "PostgreSQL URL"},
		{"secret file empty", func(c *Config) { c.Keys.SecretFile = "" }, "keys.secret_file", "is empty"},

		{"client valid", client(func(*Client) {}), "", ""},
		{"client native redirect", client(func(cl *Client) { cl.RedirectURIs = []string{"com.example.app:/cb"} }), "", ""},
		{"client id empty", client(func(cl *Client) { cl.ID = "" }), "clients[0].id", "is empty"},
		{"client id duplicate", func(c *Config) {
			client(func(*Client) {})(c)
			client(func(*Client) {})(c)
		}, "clients[1].id", "already used by clients[0]"},
		{"client no redirect", client(func(cl *Client) { cl.RedirectURIs = nil }), "clients[0].redirect_uris", "at least one redirect URI"},
		{"client relative redirect", client(func(cl *Client) { cl.RedirectURIs = []string{"/cb"} }), "clients[0].redirect_uris[0]", "absolute URL"},
		{"client redirect fragment", client(func(cl *Client) { cl.RedirectURIs = []string{"https://a/cb#frag"} }), "clients[0].redirect_uris[0]", "fragment"},
		{"client post-logout fragment", client(func(cl *Client) { cl.PostLogoutRedirectURIs = []string{"https://a/#x"} }), "clients[0].post_logout_redirect_uris[0]", "fragment"},
		{"client bad grant", client(func(cl *Client) { cl.GrantTypes = []string{"implicit"} }), "clients[0].grant_types[0]", "use authorization_code, refresh_token or client_credentials"},
		{"client credentials without secret", client(func(cl *Client) { cl.GrantTypes = []string{"client_credentials"} }), "clients[0].secret", "needs a secret"},
		{"client credentials only", client(func(cl *Client) {
			cl.GrantTypes, cl.Secret, cl.RedirectURIs = []string{"client_credentials"}, "s", nil
		}), "", ""},
		{"client bad response type", client(func(cl *Client) { cl.ResponseTypes = []string{"token"} }), "clients[0].response_types[0]", "use code or id_token"},
		{"client bad permission", client(func(cl *Client) { cl.Permissions = []string{"manage-mfa"} }), "clients[0].permissions[0]", "use manage_mfa"},
		{"client bad alg", client(func(cl *Client) { cl.IDTokenSigningAlg = "HS256" }), "clients[0].id_token_signed_response_alg", "use RS256 or ES256"},
		{"client RS256", client(func(cl *Client) { cl.IDTokenSigningAlg = "RS256" }), "", ""},
		{"client ES256", client(func(cl *Client) { cl.IDTokenSigningAlg = "ES256" }), "", ""},
		{"signing alg ES256", func(c *Config) { c.Tokens.SigningAlg = "ES256" }, "", ""},
		{"signing alg HS256", func(c *Config) { c.Tokens.SigningAlg = "HS256" }, "tokens.signing_alg", `tokens.signing_alg "HS256" is not supported: use RS256 or ES256`},
		{"signing alg lower case", func(c *Config) { c.Tokens.SigningAlg = "rs256" }, "tokens.signing_alg", "use RS256 or ES256"},
		{"signing alg empty", func(c *Config) { c.Tokens.SigningAlg = "" }, "tokens.signing_alg", "use RS256 or ES256"},

		{"upstream valid", func(c *Config) { c.Upstream = &Upstream{Issuer: "https://idp.example.com", ClientID: "x"} }, "", ""},
		{"upstream bad issuer", func(c *Config) { c.Upstream = &Upstream{Issuer: "idp", ClientID: "x"} }, "upstream.issuer", "absolute"},
		{"upstream no client id", func(c *Config) { c.Upstream = &Upstream{Issuer: "https://idp.example.com"} }, "upstream.client_id", "is empty"},
		{"upstream scopes without openid", func(c *Config) {
			c.Upstream = &Upstream{Issuer: "https://idp.example.com", ClientID: "x", Scopes: []string{"profile"}}
		}, "upstream.scopes", "must include openid"},
		{"upstream username claim of two words", func(c *Config) {
			c.Upstream = &Upstream{Issuer: "https://idp.example.com", ClientID: "x", UsernameClaim: "preferred username"}
		}, "upstream.username_claim", "one claim name"},
		{"upstream trusted_amr fed", func(c *Config) {
			c.Upstream = &Upstream{Issuer: "https://idp.example.com", ClientID: "x", TrustedAMR: []string{"mfa", "fed"}}
		}, "upstream.trusted_amr", "must not list fed"},
		{"upstream trusted_amr empty value", func(c *Config) {
			c.Upstream = &Upstream{Issuer: "https://idp.example.com", ClientID: "x", TrustedAMR: []string{""}}
		}, "upstream.trusted_amr", "not an amr value"},

		{"acr empty", func(c *Config) { c.ACR = nil }, "acr", "no levels"},
		{"acr level without names", func(c *Config) { c.ACR["aal3"] = nil }, "acr.aal3", "no names"},
		{"acr empty name", func(c *Config) { c.ACR["aal3"] = []string{"aal3", " "} }, "acr.aal3", "empty name"},
		{"acr name twice in a level", func(c *Config) { c.ACR["aal3"] = []string{"aal3", "aal3"} }, "acr.aal3", "twice"},
		{"acr name in two levels", func(c *Config) { c.ACR["aal3"] = []string{"aal3", "aal2"} }, "acr.aal3", `"aal2", which acr.aal2 already lists`},
		{"acr level key as other level's name", func(c *Config) { c.ACR["aal2"] = []string{"aal3x"}; c.ACR["aal3"] = []string{"aal3x2", "aal2"} }, "acr.aal3", "name of another level"},

		{"required_acr by name", func(c *Config) { c.Admin.RequiredACR = "phrh" }, "", ""},
		{"required_acr unknown", func(c *Config) { c.Admin.RequiredACR = "aal9" }, "admin.required_acr", "not a configured acr level or name"},
		{"admin max_auth_age", func(c *Config) { c.Admin.MaxAuthAge = 0 }, "admin.max_auth_age", "positive"},

		{"priority negative", method("totp", func(m *MethodConfig) { m.Priority = -1 }), "methods.totp.priority", "0 to 1000"},
		{"priority too high", method("totp", func(m *MethodConfig) { m.Priority = 1001 }), "methods.totp.priority", "0 to 1000"},
		{"priority bounds ok", method("totp", func(m *MethodConfig) { m.Priority = 1000 }), "", ""},
		{"unknown method", method("yubiotp", func(*MethodConfig) {}), "methods.yubiotp", "not a built-in method"},
		{"external plugin", method("yubiotp", func(m *MethodConfig) { m.Path, m.SHA256 = "/opt/p", hex64 }), "", ""},
		{"external plugin upper-case hex", method("yubiotp", func(m *MethodConfig) { m.Path, m.SHA256 = "/opt/p", strings.ToUpper(hex64) }), "", ""},
		{"external plugin no checksum", method("yubiotp", func(m *MethodConfig) { m.Path = "/opt/p" }), "methods.yubiotp.sha256", "64 hex digits"},
		{"external plugin short checksum", method("yubiotp", func(m *MethodConfig) { m.Path, m.SHA256 = "/opt/p", hex64[:62] }), "methods.yubiotp.sha256", "64 hex digits"},
		{"external plugin not hex", method("yubiotp", func(m *MethodConfig) { m.Path, m.SHA256 = "/opt/p", strings.Repeat("zz", 32) }), "methods.yubiotp.sha256", "64 hex digits"},
		{"built-in replaced by executable", method("totp", func(m *MethodConfig) { m.Path, m.SHA256 = "/opt/totp", hex64 }), "", ""},
		{"checksum without path", method("totp", func(m *MethodConfig) { m.SHA256 = hex64 }), "methods.totp.sha256", "without methods.totp.path"},
		{"bad method name", method("My Plugin", func(m *MethodConfig) { m.Path, m.SHA256 = "/opt/p", hex64 }), "methods.My Plugin", "lower-case"},
		{"tempcode digits", method("tempcode", func(m *MethodConfig) { m.Settings["digits"] = 4 }), "methods.tempcode.digits", "6 to 12"},
		{"tempcode digits string", method("tempcode", func(m *MethodConfig) { m.Settings["digits"] = "eight" }), "methods.tempcode.digits", "whole number"},
		{"tempcode min_ttl", method("tempcode", func(m *MethodConfig) { m.Settings["min_ttl"] = "1 hour" }), "methods.tempcode.min_ttl", "duration"},
		{"tempcode min over max", method("tempcode", func(m *MethodConfig) { m.Settings["min_ttl"] = "25h" }), "methods.tempcode.min_ttl", "longer than max_ttl"},
		{"tempcode per_hour", method("tempcode", func(m *MethodConfig) { m.Settings["per_hour"] = 0 }), "methods.tempcode.per_hour", "1 to 1000"},
		{"tempcode max under min", method("tempcode", func(m *MethodConfig) { m.Settings["max_ttl"] = "30m" }), "methods.tempcode.min_ttl", "1h is longer than max_ttl 30m"},
		{"tempcode disabled still checked", method("tempcode", func(m *MethodConfig) { off := false; m.Enabled, m.Settings["digits"] = &off, 13 }), "methods.tempcode.digits", "6 to 12"},
		{"tempcode valid", method("tempcode", func(m *MethodConfig) { m.Settings["digits"], m.Settings["max_ttl"] = 12, "4h" }), "", ""},
		{"totp verify_window", method("totp", func(m *MethodConfig) { m.Settings["verify_window"] = "soon" }), "methods.totp.verify_window", "positive duration"},
		{"totp verify_limit", method("totp", func(m *MethodConfig) { m.Settings["verify_limit"] = 0 }), "methods.totp.verify_limit", "at least 1"},
		{"built-in replaced by executable has its own settings", method("tempcode", func(m *MethodConfig) { m.Path, m.SHA256, m.Settings["digits"] = "/opt/tc", hex64, 4 }), "", ""},
		{"planned method, settings not checked", method(plannedA, func(m *MethodConfig) { m.Settings["per_hour"] = -5 }), "", ""},
		{"planned method, long value", method(plannedB, func(m *MethodConfig) { m.Settings["count"] = strings.Repeat("9", 100) }), "", ""},

		{"argon2 iterations", func(c *Config) { c.Passwords.Argon2.Iterations = 0 }, "passwords.argon2.iterations", "at least 1"},
		{"argon2 iterations absurd", func(c *Config) { c.Passwords.Argon2.Iterations = 1000 }, "passwords.argon2.iterations", "more than"},
		{"argon2 parallelism", func(c *Config) { c.Passwords.Argon2.Parallelism = 0 }, "passwords.argon2.parallelism", "at least 1"},
		{"argon2 memory per lane", func(c *Config) { c.Passwords.Argon2 = Argon2{MemoryKiB: 31, Iterations: 1, Parallelism: 4} }, "passwords.argon2.memory_kib", "at least 32"},
		{"argon2 memory minimum ok", func(c *Config) { c.Passwords.Argon2 = Argon2{MemoryKiB: 32, Iterations: 1, Parallelism: 4} }, "", ""},
		{"argon2 memory absurd", func(c *Config) { c.Passwords.Argon2.MemoryKiB = 5 << 20 }, "passwords.argon2.memory_kib", "4 GiB"},
		{"lockout max_failures", func(c *Config) { c.Lockout.MaxFailures = 0 }, "lockout.max_failures", "at least 1"},
		{"lockout per user under per source", func(c *Config) { c.Lockout.MaxFailuresPerUser = 5 }, "lockout.max_failures_per_user", "less than lockout.max_failures 10"},
		{"lockout per user equal to per source", func(c *Config) { c.Lockout.MaxFailuresPerUser = 10 }, "", ""},
		{"lockout duration", func(c *Config) { c.Lockout.Duration = 0 }, "lockout.duration", "positive"},
		{"trusted browser days", func(c *Config) { c.TrustedBrowser = TrustedBrowser{Enabled: true, Days: 0} }, "trusted_browser.days", "1 to 400"},
		{"trusted browser days off", func(c *Config) { c.TrustedBrowser = TrustedBrowser{Enabled: false, Days: 0} }, "", ""},
		{"trusted browser days out of range while off", func(c *Config) { c.TrustedBrowser = TrustedBrowser{Enabled: false, Days: 401} }, "trusted_browser.days", "1 to 400"},
		{"password checks at once", func(c *Config) { c.Passwords.MaxConcurrent = -1 }, "passwords.max_concurrent", "1 to 1024"},
		{"password queue wait", func(c *Config) { c.Passwords.QueueWait = time.Minute }, "passwords.queue_wait", "0s to 30s"},

		{"access token ttl", func(c *Config) { c.Tokens.AccessTokenTTL = 0 }, "tokens.access_token_ttl", "positive"},
		{"id token ttl", func(c *Config) { c.Tokens.IDTokenTTL = -time.Second }, "tokens.id_token_ttl", "positive"},
		{"refresh token ttl", func(c *Config) { c.Tokens.RefreshTokenTTL = 0 }, "tokens.refresh_token_ttl", "positive"},
		{"auth request ttl", func(c *Config) { c.Tokens.AuthRequestTTL = 0 }, "tokens.auth_request_ttl", "positive"},
		{"code ttl", func(c *Config) { c.Tokens.CodeTTL = 0 }, "tokens.code_ttl", "positive"},
		{"code ttl too long", func(c *Config) { c.Tokens.CodeTTL = time.Hour }, "tokens.code_ttl", "10m"},
		{"key rotation negative", func(c *Config) { c.Tokens.KeyRotation = -1 }, "tokens.key_rotation", "positive"},
		{"session ttl", func(c *Config) { c.Session.TTL = 0 }, "session.ttl", "positive"},

		{"smtp valid", func(c *Config) { c.SMTP = SMTP{Addr: "mail:25", From: "a@example.com"} }, "", ""},
		{"smtp addr", func(c *Config) { c.SMTP = SMTP{Addr: "mail", From: "a@example.com"} }, "smtp.addr", "host:port"},
		{"smtp no from", func(c *Config) { c.SMTP = SMTP{Addr: "mail:25"} }, "smtp.from", "sender address"},
		{"smtp bad from", func(c *Config) { c.SMTP = SMTP{Addr: "mail:25", From: "not an address"} }, "smtp.from", "not an email address"},
		{"smtp username without addr", func(c *Config) { c.SMTP = SMTP{Username: "u"} }, "smtp.username", "smtp.addr is empty"},

		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", "use debug, info, warn or error"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", "use text or json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default(testMethods)
			tc.mut(&c)
			err := c.Validate(testMethods)
			if tc.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			ce := asError(t, err)
			if ce.Key != tc.key {
				t.Errorf("key %q, want %q (%v)", ce.Key, tc.key, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: ") || !strings.Contains(msg, tc.key) || !strings.Contains(msg, tc.contains) {
				t.Errorf("error %q: want prefix \"config: \", key %q and %q", msg, tc.key, tc.contains)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		check func(Config) bool
	}{
		{map[string]string{"STEPUP_ISSUER": "https://login.example.com"}, func(c Config) bool { return c.Issuer == "https://login.example.com" }},
		{map[string]string{"STEPUP_LISTEN": "0.0.0.0:80"}, func(c Config) bool { return c.Listen == "0.0.0.0:80" }},
		{map[string]string{"STEPUP_STORAGE_DRIVER": "postgres", "STEPUP_STORAGE_DSN": "postgres://x@h/db"}, func(c Config) bool {
			return c.Storage == Storage{Driver: "postgres", DSN: "postgres://x@h/db"}
		}},
		{map[string]string{"STEPUP_KEYS_SECRET_FILE": "/run/secret"}, func(c Config) bool { return c.Keys.SecretFile == "/run/secret" }},
		{map[string]string{"STEPUP_LOCKOUT_MAX_FAILURES": "5", "STEPUP_LOCKOUT_MAX_FAILURES_PER_USER": "50", "STEPUP_LOCKOUT_DURATION": "1h"}, func(c Config) bool {
			return c.Lockout == Lockout{MaxFailures: 5, MaxFailuresPerUser: 50, Duration: time.Hour}
		}},
		{map[string]string{"STEPUP_ADMIN_MAX_AUTH_AGE": "2m", "STEPUP_ADMIN_REQUIRED_ACR": "aal3"}, func(c Config) bool {
			return c.Admin == Admin{MaxAuthAge: 2 * time.Minute, RequiredACR: "aal3"}
		}},
		{map[string]string{"STEPUP_SMTP_ADDR": "mail:25", "STEPUP_SMTP_FROM": "x@example.com", "STEPUP_SMTP_PASSWORD": "pw"}, func(c Config) bool {
			return c.SMTP == SMTP{Addr: "mail:25", From: "x@example.com", Password: "pw"}
		}},
		{map[string]string{"STEPUP_LOG_LEVEL": "debug", "STEPUP_LOG_FORMAT": "json"}, func(c Config) bool { return c.Log == Log{Level: "debug", Format: "json"} }},
		{map[string]string{"STEPUP_PASSWORDS_ARGON2_MEMORY_KIB": "64", "STEPUP_PASSWORDS_ARGON2_ITERATIONS": "1", "STEPUP_PASSWORDS_ARGON2_PARALLELISM": "2"}, func(c Config) bool {
			return c.Passwords.Argon2 == Argon2{MemoryKiB: 64, Iterations: 1, Parallelism: 2}
		}},
		{map[string]string{"STEPUP_TRUSTED_BROWSER_ENABLED": "true", "STEPUP_TRUSTED_BROWSER_DAYS": "9"}, func(c Config) bool {
			return c.TrustedBrowser == TrustedBrowser{Enabled: true, Days: 9}
		}},
		{map[string]string{"STEPUP_TOKENS_SIGNING_ALG": "ES256"}, func(c Config) bool { return c.Tokens.SigningAlg == "ES256" }},
		{map[string]string{"STEPUP_NOTIFY_METHOD_ADDED_EMAIL": "false"}, func(c Config) bool { return !c.Notify.MethodAddedEmail }},
		{map[string]string{"STEPUP_TOKENS_REFRESH_TOKEN_TTL": "48h", "STEPUP_SESSION_TTL": "1h"}, func(c Config) bool {
			return c.Tokens.RefreshTokenTTL == 48*time.Hour && c.Session.TTL == time.Hour
		}},
		{map[string]string{"STEPUP_UPSTREAM_ISSUER": "https://idp.example.com", "STEPUP_UPSTREAM_CLIENT_ID": "s", "STEPUP_UPSTREAM_CLIENT_SECRET": "x"}, func(c Config) bool {
			return c.Upstream != nil && reflect.DeepEqual(*c.Upstream, Upstream{Issuer: "https://idp.example.com", ClientID: "s", ClientSecret: "x"})
		}},
		{map[string]string{"STEPUP_UPSTREAM_ISSUER": "https://idp.example.com", "STEPUP_UPSTREAM_CLIENT_ID": "s",
			"STEPUP_UPSTREAM_USERNAME_CLAIM": "email", "STEPUP_UPSTREAM_LOCAL_PASSWORDS": "true", "STEPUP_UPSTREAM_END_SESSION": "true"}, func(c Config) bool {
			return c.Upstream != nil && c.Upstream.UsernameClaim == "email" && c.Upstream.LocalPasswords && c.Upstream.EndSession
		}},
		{map[string]string{"STEPUP_LISTEN": ""}, func(c Config) bool { return c.Listen == ":7000" }}, // empty: ignored, file wins
	} {
		var names []string
		for k := range tc.env {
			names = append(names, k)
		}
		slices.Sort(names)
		t.Run(strings.Join(names, ","), func(t *testing.T) {
			cleanEnv(t)
			path := writeConfig(t, "listen: \":7000\"\nlockout: {max_failures: 7}\n")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := Load(path, testMethods)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tc.check(c) {
				t.Errorf("override not applied: %+v", c)
			}
		})
	}

	t.Run("file stays under the environment", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("STEPUP_LOCKOUT_DURATION", "1m")
		c, err := Load(writeConfig(t, "lockout: {max_failures: 7, duration: 5m}\n"), testMethods)
		if err != nil || c.Lockout != (Lockout{MaxFailures: 7, MaxFailuresPerUser: 100, Duration: time.Minute}) {
			t.Fatalf("lockout = %+v, %v", c.Lockout, err)
		}
	})
}

func TestEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		name, value, contains string
		hidden                bool
	}{
		{"STEPUP_LOCKOUT_MAX_FAILURES", "ten", `STEPUP_LOCKOUT_MAX_FAILURES="ten" must be a whole number`, false},
		{"STEPUP_LOCKOUT_DURATION", "15", "must be a duration", false},
		{"STEPUP_PASSWORDS_ARGON2_PARALLELISM", "256", "from 0 to 255", false},
		{"STEPUP_PASSWORDS_ARGON2_MEMORY_KIB", "-1", "from 0 to 4294967295", false},
		{"STEPUP_TRUSTED_BROWSER_ENABLED", "yes please", "true or false", false},
		{"STEPUP_STORAGE_DRIVER", "mysql", `storage.driver "mysql" is not supported: use sqlite or postgres (set by STEPUP_STORAGE_DRIVER)`, false},
		{"STEPUP_UPSTREAM_TRUST_ID_TOKEN_HINT", "sure", "true or false", false},
		{"STEPUP_UPSTREAM_CLIENT_SECRET", "x", "upstream.issuer is empty", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv(tc.name, tc.value)
			_, err := Load("", testMethods)
			if err == nil {
				t.Fatal("Load: no error")
			}
			if !strings.Contains(err.Error(), tc.contains) || !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
		})
	}
}

func TestEnvVars(t *testing.T) {
	vars := EnvVars()
	for name, key := range map[string]string{
		"STEPUP_ISSUER":                      "issuer",
		"STEPUP_LISTEN":                      "listen",
		"STEPUP_STORAGE_DRIVER":              "storage.driver",
		"STEPUP_STORAGE_DSN":                 "storage.dsn",
		"STEPUP_KEYS_SECRET_FILE":            "keys.secret_file",
		"STEPUP_LOCKOUT_MAX_FAILURES":        "lockout.max_failures",
		"STEPUP_LOCKOUT_DURATION":            "lockout.duration",
		"STEPUP_ADMIN_MAX_AUTH_AGE":          "admin.max_auth_age",
		"STEPUP_ADMIN_REQUIRED_ACR":          "admin.required_acr",
		"STEPUP_SMTP_ADDR":                   "smtp.addr",
		"STEPUP_SMTP_FROM":                   "smtp.from",
		"STEPUP_LOG_LEVEL":                   "log.level",
		"STEPUP_LOG_FORMAT":                  "log.format",
		"STEPUP_PASSWORDS_ARGON2_MEMORY_KIB": "passwords.argon2.memory_kib",
		"STEPUP_UPSTREAM_CLIENT_SECRET":      "upstream.client_secret",
		"STEPUP_TRUSTED_BROWSER_DAYS":        "trusted_browser.days",
		"STEPUP_TOKENS_KEY_ROTATION":         "tokens.key_rotation",
	} {
		if got := vars[name]; got != key {
			t.Errorf("EnvVars()[%s] = %q, want %q", name, got, key)
		}
	}
	for name := range vars {
		if strings.Contains(name, "CLIENTS") || strings.Contains(name, "METHODS") || strings.Contains(name, "ACR_") && !strings.Contains(name, "REQUIRED_ACR") {
			t.Errorf("EnvVars() lists %s: only scalar keys have variables", name)
		}
	}
}

func TestLevelOrder(t *testing.T) {
	c := mustLoad(t, `
acr:
  gold: [gold]
  aal3: [aal3]
  bronze: [bronze, b]
  aal1: [aal1, low]
  aal2: [aal2]
admin: {required_acr: b}
`)
	if got, want := c.LevelOrder(), []string{"aal1", "aal2", "aal3", "gold", "bronze"}; !slices.Equal(got, want) {
		t.Errorf("LevelOrder() = %v, want %v", got, want)
	}
	if got, want := c.ACRValues(), []string{"aal1", "low", "aal2", "aal3", "gold", "bronze", "b"}; !slices.Equal(got, want) {
		t.Errorf("ACRValues() = %v, want %v", got, want)
	}
	for name, want := range map[string]string{"low": "aal1", "aal3": "aal3", "b": "bronze", "bronze": "bronze", "nope": ""} {
		if got, ok := c.LevelOf(name); got != want || ok != (want != "") {
			t.Errorf("LevelOf(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}

	// The file's acr replaces the default levels.
	c = mustLoad(t, "acr:\n  aal1: [aal1]\n  aal2: [aal2, mfa]\n")
	if got := c.LevelOrder(); !slices.Equal(got, []string{"aal1", "aal2"}) {
		t.Errorf("LevelOrder() = %v, want [aal1 aal2]", got)
	}
	if _, err := loadText(t, "acr:\n  aal1: [aal1]\nadmin: {required_acr: aal2}\n"); err == nil || !strings.Contains(err.Error(), "admin.required_acr") {
		t.Errorf("required_acr naming a dropped level: %v", err)
	}

	// Levels set only in Go code come last, sorted.
	d := Default(testMethods)
	d.ACR["zeta"], d.ACR["alpha"] = []string{"z"}, []string{"a"}
	if got, want := d.LevelOrder(), []string{"aal1", "aal2", "aal3", "alpha", "zeta"}; !slices.Equal(got, want) {
		t.Errorf("LevelOrder() = %v, want %v", got, want)
	}
	if got := (Config{}).LevelOrder(); len(got) != 0 {
		t.Errorf("empty config LevelOrder() = %v", got)
	}
}

func TestExample(t *testing.T) {
	cleanEnv(t)
	c, err := Load("testdata/example.yaml", testMethods)
	if err != nil {
		t.Fatalf("Load(example): %v", err)
	}
	// Besides its clients, the example states the defaults.
	d := Default(testMethods)
	c.Clients, d.Clients = nil, nil
	if !c.MethodNamed("tempcode") || d.MethodNamed("tempcode") {
		t.Errorf("MethodNamed(tempcode): %v in the example, %v by default; want only the file's", c.MethodNamed("tempcode"), d.MethodNamed("tempcode"))
	}
	c.levelOrder, c.named = nil, nil
	if !reflect.DeepEqual(c, d) {
		t.Errorf("example.yaml differs from Default():\n got %+v\nwant %+v", c, d)
	}
}

// TestExampleIsComplete keeps testdata/example.yaml the reference for
// every key: each key of Config is set in it, or, for the optional upstream
// section and external plugins, shown in a comment.
func TestExampleIsComplete(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	setKeys(doc.Content[0], reflect.TypeFor[Config](), "", set)
	commented := regexp.MustCompile(`^(upstream(\.|$)|methods\.\*\.(path|sha256)$)`)
	for _, key := range allKeys(reflect.TypeFor[Config](), "") {
		if set[key] {
			continue
		}
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !commented.MatchString(key) || !regexp.MustCompile(`(?m)^\s*#.*\b`+leaf+`:`).Match(data) {
			t.Errorf("example.yaml does not set %s", key)
		}
	}
	if len(set) < 40 {
		t.Errorf("only %d keys found in example.yaml", len(set))
	}
}

// allKeys lists every key path of t; list elements add nothing to the
// path, map values add ".*".
func allKeys(t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() == reflect.Map {
		return allKeys(t.Elem(), path+".*")
	}
	if t.Kind() != reflect.Struct || t == durationType {
		return nil
	}
	var keys []string
	fields, _ := yamlFields(t)
	for _, f := range fields {
		k := joinKey(path, f.name)
		keys = append(keys, k)
		keys = append(keys, allKeys(f.typ, k)...)
	}
	return keys
}

// setKeys records the key paths present in n, in allKeys' notation.
func setKeys(n *yaml.Node, t reflect.Type, path string, set map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, e := range n.Content {
			setKeys(e, t.Elem(), path, set)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			setKeys(n.Content[i+1], t.Elem(), path+".*", set)
		}
	case t.Kind() == reflect.Struct && t != durationType && n.Kind == yaml.MappingNode:
		fields, _ := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if f, ok := findField(fields, n.Content[i].Value); ok {
				k := joinKey(path, f.name)
				set[k] = true
				setKeys(n.Content[i+1], f.typ, k, set)
			}
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"dns", "dsn", 2}, {"isuer", "issuer", 1}, {"abc", "", 3}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
