package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/password"
)

var (
	grantTypes    = []string{"authorization_code", "refresh_token", "client_credentials"}
	responseTypes = []string{"code", "id_token"}
	signingAlgs   = []string{"RS256", "ES256"}
	logLevels     = []string{"debug", "info", "warn", "error"}
	logFormats    = []string{"text", "json"}
	methodName    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

const maxPriority = 1000

// Validate reports the first problem in c as an *Error whose message names
// the key and what to do, or nil. It checks values only: it opens no file
// and no connection. The methods m has (nil: none) are the built-ins:
// their settings are checked by their own Configure.
func (c Config) Validate(m Methods) error {
	for _, check := range []func() *Error{
		c.validateServer,
		c.validateSigning,
		c.validateClients,
		c.validateUpstream,
		c.validateACR,
		func() *Error { return c.validateMethods(m) },
		c.validateLimits,
		c.validateAdmin,
		c.validateTimes,
		c.validateSMTP,
		c.validateUI,
		c.validateLog,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func oneOf(key, value string, allowed []string) *Error {
	if contains(allowed, value) {
		return nil
	}
	return errorf(key, "%s %q is not supported: use %s", key, value, orList(allowed))
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// checkIssuerURL accepts an absolute http(s) URL without query, fragment
// or trailing slash.
func checkIssuerURL(key, raw string) *Error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errorf(key, "%s is empty: set it to the URL clients reach, e.g. https://login.example.com", key)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return errorf(key, "%s %q must be an absolute http or https URL, e.g. https://login.example.com", key, raw)
	case u.User != nil:
		return errorf(key, "%s %q must not carry a user name or password", key, raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return errorf(key, "%s %q must not have a query or fragment: remove what follows ? or #", key, raw)
	case strings.HasSuffix(u.Path, "/"):
		return errorf(key, "%s %q must not end with /: remove the trailing slash", key, raw)
	}
	return nil
}

func checkHostPort(key, value, example string) *Error {
	_, port, err := net.SplitHostPort(value)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return errorf(key, "%s %q must be host:port, e.g. %s", key, value, example)
	}
	return nil
}

func (c Config) validateServer() *Error {
	if err := checkIssuerURL("issuer", c.Issuer); err != nil {
		return err
	}
	if err := checkHostPort("listen", c.Listen, "127.0.0.1:8080 or :8080"); err != nil {
		return err
	}
	if err := oneOf("storage.driver", c.Storage.Driver, []string{"sqlite", "postgres"}); err != nil {
		return err
	}
	if c.Storage.DSN == "" {
		if c.Storage.Driver == "postgres" {
			return errorf("storage.dsn", "storage.dsn is empty: set it to a PostgreSQL URL, e.g. postgres://user@127.0.0.1:5432/stepup")
		}
		return errorf("storage.dsn", "storage.dsn is empty: set it to the database file, e.g. ./stepup-data/stepup.db")
	}
	if c.Keys.SecretFile == "" {
		return errorf("keys.secret_file", "keys.secret_file is empty: set it to a file path, e.g. ./stepup-data/secret.key (created on first start)")
	}
	for _, o := range c.CORS.AllowedOrigins {
		if u, err := url.Parse(o); o != "*" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil) {
			return errorf("cors.allowed_origins", "cors.allowed_origins %.60q is not an origin: write scheme://host[:port], e.g. https://app.example.com, without a path", o)
		}
	}
	return nil
}

func (c Config) validateSigning() *Error {
	return oneOf("tokens.signing_alg", c.Tokens.SigningAlg, signingAlgs)
}

func checkRedirect(key, raw string) *Error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Host == "" && u.Path == "" && u.Opaque == "") {
		return errorf(key, "%s %q must be an absolute URL, e.g. https://app.example.com/callback", key, raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errorf(key, "%s %q must not have a fragment: remove what follows #", key, raw)
	}
	return nil
}

func (c Config) validateClients() *Error {
	seen := map[string]int{}
	for i, cl := range c.Clients {
		at := fmt.Sprintf("clients[%d]", i)
		if cl.ID == "" {
			return errorf(at+".id", "%s.id is empty: give every client an id", at)
		}
		if j, dup := seen[cl.ID]; dup {
			return errorf(at+".id", "%s.id %q is already used by clients[%d]: client ids must be unique", at, cl.ID, j)
		}
		seen[cl.ID] = i
		for j, g := range cl.GrantTypes {
			if err := oneOf(fmt.Sprintf("%s.grant_types[%d]", at, j), g, grantTypes); err != nil {
				return err
			}
		}
		grants := cl.GrantTypes
		if len(grants) == 0 { // a hand-built Config that Load has not completed
			grants = []string{"authorization_code", "refresh_token"}
		}
		if contains(grants, "authorization_code") && len(cl.RedirectURIs) == 0 {
			return errorf(at+".redirect_uris", "%s.redirect_uris is empty: client %q uses authorization_code and needs at least one redirect URI", at, cl.ID)
		}
		if contains(grants, "client_credentials") && cl.Secret == "" {
			return errorf(at+".secret", "%s.secret is empty: client %q uses client_credentials and needs a secret", at, cl.ID)
		}
		for j, r := range cl.RedirectURIs {
			if err := checkRedirect(fmt.Sprintf("%s.redirect_uris[%d]", at, j), r); err != nil {
				return err
			}
		}
		for j, r := range cl.PostLogoutRedirectURIs {
			if err := checkRedirect(fmt.Sprintf("%s.post_logout_redirect_uris[%d]", at, j), r); err != nil {
				return err
			}
		}
		for j, r := range cl.ResponseTypes {
			if err := oneOf(fmt.Sprintf("%s.response_types[%d]", at, j), r, responseTypes); err != nil {
				return err
			}
		}
		for j, p := range cl.Permissions {
			if err := oneOf(fmt.Sprintf("%s.permissions[%d]", at, j), p, KnownPermissions); err != nil {
				return err
			}
		}
		if cl.IDTokenSigningAlg != "" {
			if err := oneOf(at+".id_token_signed_response_alg", cl.IDTokenSigningAlg, signingAlgs); err != nil {
				return err
			}
		}
		if cl.ExternalMFA {
			if err := c.validateExternalMFA(at, cl); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c Config) validateUpstream() *Error {
	u := c.Upstream
	if u == nil {
		return nil
	}
	if err := checkIssuerURL("upstream.issuer", u.Issuer); err != nil {
		return err
	}
	if u.ClientID == "" {
		return errorf("upstream.client_id", "upstream.client_id is empty: set the client id stepup has at %s", u.Issuer)
	}
	return validateUpstreamKeys(u)
}

func (c Config) validateACR() *Error {
	if len(c.ACR) == 0 {
		return errorf("acr", "acr has no levels: configure at least aal1, e.g. acr: {aal1: [aal1]}")
	}
	owner := map[string]string{}
	for _, level := range c.LevelOrder() {
		key := "acr." + level
		if strings.TrimSpace(level) == "" {
			return errorf("acr", "acr has a level with an empty name")
		}
		names := c.ACR[level]
		if len(names) == 0 {
			return errorf(key, "%s has no names: list at least one, e.g. [%s]", key, level)
		}
		for _, n := range names {
			if strings.TrimSpace(n) == "" {
				return errorf(key, "%s lists an empty name", key)
			}
			if other, dup := owner[n]; dup {
				if other == level {
					return errorf(key, "%s lists %q twice", key, n)
				}
				return errorf(key, "%s lists %q, which acr.%s already lists: a name can stand for one level only", key, n, other)
			}
			owner[n] = level
		}
	}
	for _, level := range c.LevelOrder() {
		if other, ok := owner[level]; ok && other != level {
			return errorf("acr."+other, "acr.%s lists %q, which is the name of another level: list it under acr.%s or rename the level", other, level, level)
		}
	}
	return nil
}

func (c Config) validateMethods(builtins Methods) *Error {
	names := make([]string, 0, len(c.Methods))
	for name := range c.Methods {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mc := c.Methods[name]
		key := "methods." + name
		if !methodName.MatchString(name) {
			return errorf(key, "%s: a method name must be lower-case letters, digits, - and _ (at most 63)", key)
		}
		if mc.Priority < 0 || mc.Priority > maxPriority {
			return errorf(key+".priority", "%s.priority %d is out of range: use 0 to %d (higher is offered first)", key, mc.Priority, maxPriority)
		}
		names := builtinNames(builtins)
		builtin := slices.Contains(names, name)
		switch {
		case mc.Path == "" && !builtin && (builtins == nil || !builtins.Planned(name)):
			return errorf(key, "%s is not a built-in method (%s): set %s.path to the plugin executable and %s.sha256 to its checksum", key, strings.Join(names, ", "), key, key)
		case mc.Path == "" && mc.SHA256 != "":
			return errorf(key+".sha256", "%s.sha256 is set without %s.path: remove it, or set path to the plugin executable", key, key)
		case mc.Path != "":
			if b, err := hex.DecodeString(mc.SHA256); err != nil || len(b) != 32 {
				return errorf(key+".sha256", "%s.sha256 must be the 64 hex digits of the plugin's SHA-256 (sha256sum %s)", key, mc.Path)
			}
		case builtin:
			if err := validateBuiltinSettings(builtins, name, mc); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateBuiltinSettings hands the settings of the built-in method name
// to the method's own Configure, in this process, and turns a refusal into
// an *Error naming methods.NAME.KEY. A method planned but not in this
// build has no Configure, and its settings are not checked.
func validateBuiltinSettings(builtins Methods, name string, m MethodConfig) *Error {
	key := "methods." + name
	err := builtins.Configure(name, m.PluginSettings())
	if err == nil {
		return nil
	}
	var se *sdk.SettingError
	if errors.As(err, &se) {
		key += "." + se.Key
		return errorf(key, "%s %s", key, se.Msg)
	}
	msg := sdk.UserMessage(err)
	if msg == "" {
		msg = err.Error()
	}
	return errorf(key, "%s: the method refuses its settings: %s", key, msg)
}

func (c Config) validateLimits() *Error {
	a := c.Passwords.Argon2
	switch {
	case a.Parallelism < 1:
		return errorf("passwords.argon2.parallelism", "passwords.argon2.parallelism must be at least 1")
	case a.Iterations < 1:
		return errorf("passwords.argon2.iterations", "passwords.argon2.iterations must be at least 1 (the default is 2)")
	case a.Iterations > password.MaxIterations:
		return errorf("passwords.argon2.iterations", "passwords.argon2.iterations %d is more than %d: raise memory_kib instead", a.Iterations, password.MaxIterations)
	case uint64(a.MemoryKiB) < 8*uint64(a.Parallelism):
		return errorf("passwords.argon2.memory_kib", "passwords.argon2.memory_kib %d is less than 8 per lane: use at least %d for parallelism %d (the default is 19456)", a.MemoryKiB, 8*uint32(a.Parallelism), a.Parallelism)
	case a.MemoryKiB > password.MaxMemoryKiB:
		return errorf("passwords.argon2.memory_kib", "passwords.argon2.memory_kib %d is more than %d (4 GiB)", a.MemoryKiB, password.MaxMemoryKiB)
	case c.Passwords.MaxConcurrent < 0 || c.Passwords.MaxConcurrent > 1024:
		return errorf("passwords.max_concurrent", "passwords.max_concurrent %d is out of range: use 1 to 1024, or 0 for the number of CPUs", c.Passwords.MaxConcurrent)
	case c.Passwords.QueueWait < 0 || c.Passwords.QueueWait > 30*time.Second:
		return errorf("passwords.queue_wait", "passwords.queue_wait %s is out of range: use 0s to 30s (the default is 2s)", c.Passwords.QueueWait)
	case c.Notify.RetryAfter < 100*time.Millisecond || c.Notify.RetryAfter > time.Hour:
		return errorf("notify.retry_after", "notify.retry_after %s is out of range: use 100ms to 1h (the default is 30s)", c.Notify.RetryAfter)
	case c.Notify.MaxAttempts < 1 || c.Notify.MaxAttempts > 100:
		return errorf("notify.max_attempts", "notify.max_attempts %d is out of range: use 1 to 100 (the default is 8)", c.Notify.MaxAttempts)
	case c.Lockout.MaxFailures < 1:
		return errorf("lockout.max_failures", "lockout.max_failures %d must be at least 1 (the default is 10)", c.Lockout.MaxFailures)
	case c.Lockout.MaxFailuresPerUser < c.Lockout.MaxFailures:
		return errorf("lockout.max_failures_per_user", "lockout.max_failures_per_user %d is less than lockout.max_failures %d: the count across all sources must be at least the count from one (the default is 100)", c.Lockout.MaxFailuresPerUser, c.Lockout.MaxFailures)
	case c.Lockout.Duration <= 0:
		return errorf("lockout.duration", "lockout.duration %s must be positive, e.g. 15m", c.Lockout.Duration)
	case (c.TrustedBrowser.Enabled || c.TrustedBrowser.Days != 0) && (c.TrustedBrowser.Days < 1 || c.TrustedBrowser.Days > 400):
		return errorf("trusted_browser.days", "trusted_browser.days %d is out of range: use 1 to 400 (browsers keep a cookie at most 400 days)", c.TrustedBrowser.Days)
	}
	return nil
}

func (c Config) validateAdmin() *Error {
	if c.Admin.MaxAuthAge <= 0 {
		return errorf("admin.max_auth_age", "admin.max_auth_age %s must be positive, e.g. 15m", c.Admin.MaxAuthAge)
	}
	if _, ok := c.LevelOf(c.Admin.RequiredACR); !ok {
		return errorf("admin.required_acr", "admin.required_acr %q is not a configured acr level or name: use one of %s", c.Admin.RequiredACR, orList(c.ACRValues()))
	}
	return nil
}

func (c Config) validateTimes() *Error {
	for _, d := range []struct {
		key string
		val interface{ String() string }
		pos bool
	}{
		{"tokens.access_token_ttl", c.Tokens.AccessTokenTTL, c.Tokens.AccessTokenTTL > 0},
		{"tokens.id_token_ttl", c.Tokens.IDTokenTTL, c.Tokens.IDTokenTTL > 0},
		{"tokens.refresh_token_ttl", c.Tokens.RefreshTokenTTL, c.Tokens.RefreshTokenTTL > 0},
		{"tokens.auth_request_ttl", c.Tokens.AuthRequestTTL, c.Tokens.AuthRequestTTL > 0},
		{"tokens.code_ttl", c.Tokens.CodeTTL, c.Tokens.CodeTTL > 0},
		{"tokens.key_rotation", c.Tokens.KeyRotation, c.Tokens.KeyRotation >= 0},
		{"session.ttl", c.Session.TTL, c.Session.TTL > 0},
	} {
		if !d.pos {
			return errorf(d.key, "%s %s must be positive, e.g. 15m or 12h", d.key, d.val)
		}
	}
	if c.Tokens.CodeTTL > 10*time.Minute {
		return errorf("tokens.code_ttl", "tokens.code_ttl %s is longer than the 10m RFC 6749 allows an authorization code; 1m is usual", c.Tokens.CodeTTL)
	}
	return nil
}

// Bounds of the ui texts.
const (
	maxProductName = 64
	maxSupportText = 500
)

func (c Config) validateUI() *Error {
	u := c.UI
	switch {
	case strings.TrimSpace(u.ProductName) == "":
		return errorf("ui.product_name", "ui.product_name is empty: name the product every page shows, e.g. \"Example Bank sign-in\"")
	case len(u.ProductName) > maxProductName || strings.ContainsFunc(u.ProductName, unicode.IsControl):
		return errorf("ui.product_name", "ui.product_name %.40q is too long or holds line breaks: use one line of at most %d bytes", u.ProductName, maxProductName)
	case len(u.SupportText) > maxSupportText:
		return errorf("ui.support_text", "ui.support_text is %d bytes: use at most %d", len(u.SupportText), maxSupportText)
	case u.LogoURL != "" && !strings.HasPrefix(u.LogoURL, "https://") && (!strings.HasPrefix(u.LogoURL, "/") || strings.HasPrefix(u.LogoURL, "//")):
		return errorf("ui.logo_url", "ui.logo_url %.40q: use an https: URL or a path on this origin such as /logo.svg", u.LogoURL)
	}
	if strings.TrimSpace(c.Outbox.Dir) == "" {
		return errorf("outbox.dir", "outbox.dir is empty: name the directory messages are written to while no mail server or gateway is set, e.g. ./stepup-data/outbox")
	}
	return nil
}

func (c Config) validateSMTP() *Error {
	s := c.SMTP
	if s.Addr != "" {
		if err := checkHostPort("smtp.addr", s.Addr, "smtp.example.com:587"); err != nil {
			return err
		}
		if s.From == "" {
			return errorf("smtp.from", "smtp.from is empty: set the sender address, e.g. stepup@example.com")
		}
	}
	if s.From != "" {
		if _, err := mail.ParseAddress(s.From); err != nil {
			return errorf("smtp.from", "smtp.from %q is not an email address, e.g. \"Stepup <stepup@example.com>\"", s.From)
		}
	}
	if s.Username != "" && s.Addr == "" {
		return errorf("smtp.username", "smtp.username is set but smtp.addr is empty: set smtp.addr to the mail server")
	}
	return nil
}

func (c Config) validateLog() *Error {
	if err := oneOf("log.level", c.Log.Level, logLevels); err != nil {
		return err
	}
	return oneOf("log.format", c.Log.Format, logFormats)
}
