package config

import "time"

// Config is the whole configuration. Every field has a default (Default);
// Load fills it from a file and the environment and validates it.
type Config struct {
	Issuer         string                  `yaml:"issuer"`
	Listen         string                  `yaml:"listen"`
	Storage        Storage                 `yaml:"storage"`
	Keys           Keys                    `yaml:"keys"`
	Clients        []Client                `yaml:"clients"`
	Upstream       *Upstream               `yaml:"upstream"`
	ACR            map[string][]string     `yaml:"acr"` // level -> accepted names
	Methods        map[string]MethodConfig `yaml:"methods"`
	Passwords      Passwords               `yaml:"passwords"`
	Lockout        Lockout                 `yaml:"lockout"`
	TrustedBrowser TrustedBrowser          `yaml:"trusted_browser"`
	Admin          Admin                   `yaml:"admin"`
	Notify         Notify                  `yaml:"notify"`
	SMTP           SMTP                    `yaml:"smtp"`
	Outbox         Outbox                  `yaml:"outbox"`
	UI             UI                      `yaml:"ui"`
	Tokens         Tokens                  `yaml:"tokens"`
	Session        Session                 `yaml:"session"`
	Log            Log                     `yaml:"log"`
	CORS           CORS                    `yaml:"cors"`

	// levelOrder is the order of the acr levels in the file, kept because
	// a YAML mapping decodes into an unordered Go map (see LevelOrder).
	levelOrder []string
	// named holds the methods the file names, as opposed to the defaults.
	named map[string]bool
}

// MethodNamed reports whether the config file names the method under
// methods; false for one that is there only by default.
func (c Config) MethodNamed(name string) bool { return c.named[name] }

// Storage selects the database.
type Storage struct {
	Driver string `yaml:"driver"` // "sqlite" or "postgres"
	DSN    string `yaml:"dsn"`
}

// Keys names the secret used for cookies and data-at-rest encryption.
type Keys struct {
	SecretFile string `yaml:"secret_file"`
}

// Client is a registered relying party.
type Client struct {
	ID                     string   `yaml:"id"`
	Secret                 string   `yaml:"secret"` // empty: public client (PKCE S256 required)
	RedirectURIs           []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	GrantTypes             []string `yaml:"grant_types"`    // default [authorization_code, refresh_token]
	ResponseTypes          []string `yaml:"response_types"` // default [code]
	Permissions            []string `yaml:"permissions"`
	IDTokenSigningAlg      string   `yaml:"id_token_signed_response_alg"` // ES256 or RS256; default tokens.signing_alg
	// ExternalMFA marks an identity provider that sends its users to
	// stepup for the second factor only (SPEC §11: Entra ID External
	// Authentication Methods, Okta's IdP authenticator): its requests
	// carry an id_token_hint of upstream, its answers are RS256 ID tokens
	// by form_post. Default response_types [id_token].
	ExternalMFA bool `yaml:"external_mfa"`
}

// Upstream is an existing IdP used for the first factor.
type Upstream struct {
	Issuer           string `yaml:"issuer"`
	ClientID         string `yaml:"client_id"`
	ClientSecret     string `yaml:"client_secret"`
	TrustIDTokenHint bool   `yaml:"trust_id_token_hint"`
	// Scopes are asked of the upstream (default openid, profile, email);
	// UsernameClaim names a new user (default preferred_username);
	// TrustedAMR are upstream amr values that count as a second factor.
	// See upstream.go.
	Scopes        []string `yaml:"scopes"`
	UsernameClaim string   `yaml:"username_claim"`
	TrustedAMR    []string `yaml:"trusted_amr"`
	// LocalPasswords keeps the password form for local accounts beside
	// the upstream; EndSession ends the upstream session on logout.
	LocalPasswords bool `yaml:"local_passwords"`
	EndSession     bool `yaml:"end_session"`
	// CreateUsersFromHint lets an external-MFA hint for an account no
	// local user is linked to create that user, named by the hint's
	// preferred_username when it passes the username rule and no local
	// user has it (off: such a hint is refused, and audited).
	CreateUsersFromHint bool `yaml:"create_users_from_hint"`
}

// MethodConfig configures one verification method. Keys other than the
// common ones are the method's Settings, handed to its Configure as
// PluginSettings; read them with Int, Duration and String. In a file, a method's keys merge over its defaults:
// `totp: {priority: 70}` keeps totp enabled. Priority is 0..1000, higher
// offered first.
type MethodConfig struct {
	Enabled  *bool          `yaml:"enabled"` // nil: enabled
	Priority int            `yaml:"priority"`
	Path     string         `yaml:"path"`    // external plugin executable
	SHA256   string         `yaml:"sha256"`  // its checksum, required with Path
	Settings map[string]any `yaml:",inline"` // e.g. digits: 8, min_ttl: 1h (durations stay strings)
}

// IsEnabled reports whether the method is switched on.
func (m MethodConfig) IsEnabled() bool { return m.Enabled == nil || *m.Enabled }

// Passwords tunes argon2id.
type Passwords struct {
	Argon2 Argon2 `yaml:"argon2"`
	// MaxConcurrent bounds the password checks that run at once, each
	// holding argon2.memory_kib: the memory they take at most is
	// MaxConcurrent × memory_kib. 0: the number of CPUs.
	MaxConcurrent int `yaml:"max_concurrent"`
	// QueueWait is how long a check waits for its turn before the sign-in
	// is answered 503 with Retry-After (default 2s).
	QueueWait time.Duration `yaml:"queue_wait"`
}

// Argon2 parameters (RFC 9106; defaults follow OWASP: 19 MiB, 2 passes, 1 lane).
type Argon2 struct {
	MemoryKiB   uint32 `yaml:"memory_kib"`
	Iterations  uint32 `yaml:"iterations"`
	Parallelism uint8  `yaml:"parallelism"`
}

// Lockout limits consecutive failures per user and method. The password
// counts per user and source address (MaxFailures), so that a stranger
// cannot lock a user out from elsewhere, and per user across all sources
// (MaxFailuresPerUser), so that a distributed guess is still bounded.
type Lockout struct {
	MaxFailures        int           `yaml:"max_failures"`
	MaxFailuresPerUser int           `yaml:"max_failures_per_user"`
	Duration           time.Duration `yaml:"duration"`
}

// TrustedBrowser is "don't ask again on this browser".
type TrustedBrowser struct {
	Enabled bool `yaml:"enabled"`
	Days    int  `yaml:"days"`
}

// Admin sets what a human administrator's authentication must be.
type Admin struct {
	MaxAuthAge  time.Duration `yaml:"max_auth_age"`
	RequiredACR string        `yaml:"required_acr"`
}

// Notify switches user notifications.
type Notify struct {
	MethodAddedEmail bool `yaml:"method_added_email"`
	// RetryAfter is the wait before a failed email is tried again; it
	// doubles after each further failure (up to an hour).
	RetryAfter time.Duration `yaml:"retry_after"`
	// MaxAttempts bounds the tries of one email; then it is given up and
	// audited (notify.mail_given_up).
	MaxAttempts int `yaml:"max_attempts"`
}

// SMTP is the outgoing mail server; an empty Addr writes to the outbox.
type SMTP struct {
	Addr     string `yaml:"addr"`
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Outbox is where messages go as files while no mail server (smtp.addr)
// or text-message gateway is set: mail as NAME.eml, text messages as
// NAME.sms.json.
type Outbox struct {
	Dir string `yaml:"dir"` // default ./stepup-data/outbox
}

// UI is what every page, and every message a method sends, says of the
// deployment.
type UI struct {
	ProductName string `yaml:"product_name"` // default stepup
	LogoURL     string `yaml:"logo_url"`     // optional: an https: URL or a path on this origin
	SupportText string `yaml:"support_text"` // optional, e.g. how to reach the help desk
}

// Tokens sets how tokens are signed and how long they live.
type Tokens struct {
	// SigningAlg signs the ID and access tokens of clients that name no
	// id_token_signed_response_alg: RS256 (default, what OIDC Registration
	// and every relying-party library expect) or ES256 (faster, for
	// relying parties that support it).
	SigningAlg      string        `yaml:"signing_alg"`
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl"`  // default 15m
	IDTokenTTL      time.Duration `yaml:"id_token_ttl"`      // default 1h
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"` // default 720h
	AuthRequestTTL  time.Duration `yaml:"auth_request_ttl"`  // default 30m
	CodeTTL         time.Duration `yaml:"code_ttl"`          // default 1m, at most 10m (RFC 6749 §4.1.2)
	KeyRotation     time.Duration `yaml:"key_rotation"`      // informational: how long retired keys stay published; default IDTokenTTL+AccessTokenTTL
}

// Session sets the browser session.
type Session struct {
	TTL time.Duration `yaml:"ttl"` // default 12h
}

// CORS lets browser applications on other origins call the token,
// userinfo, keys and discovery endpoints, without credentials. Pages and
// everything that uses the browser session never answer CORS.
type CORS struct {
	AllowedOrigins []string `yaml:"allowed_origins"` // e.g. https://app.example.com; empty: none
}

// Log sets logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}
