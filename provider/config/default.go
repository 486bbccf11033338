package config

import "time"

// PermissionManageMFA lets a user or a client administer other users'
// methods and issue temporary codes: the admin API, the admin page.
const PermissionManageMFA = "manage_mfa"

// KnownPermissions are the permissions a client or a user may hold.
var KnownPermissions = []string{PermissionManageMFA}

// knownLevels are ordered weakest first (SPEC §4); other levels follow them.
var knownLevels = []string{"aal1", "aal2", "aal3"}

// Default returns the built-in configuration of SPEC §2 and §3: a SQLite
// database and secret under ./stepup-data/, issuer http://localhost:8080,
// every built-in method enabled, mail and SMS to the local outbox, no
// clients. Each call returns fresh maps and pointers that the caller may
// change. Default(m).Validate(m) is nil. The methods are those m has
// (the registry of package plugins, handed over by the composition root);
// nil: none.
func Default(m Methods) Config {
	c := base(m)
	c.fillDerived()
	return c
}

// base is Default without the values derived from others, so that Load
// can derive them after the file and the environment have been applied.
func base(m Methods) Config {
	return Config{
		Issuer:  "http://localhost:8080",
		Listen:  "127.0.0.1:8080",
		Storage: Storage{Driver: "sqlite", DSN: "./stepup-data/stepup.db"},
		Keys:    Keys{SecretFile: "./stepup-data/secret.key"},
		ACR: map[string][]string{
			"aal1": {"aal1"},
			"aal2": {"aal2", "http://idmanagement.gov/ns/assurance/aal/2"},
			"aal3": {"aal3", "phrh"},
		},
		Methods: defaultMethods(m),
		Passwords: Passwords{Argon2: Argon2{
			MemoryKiB:   19456,
			Iterations:  2,
			Parallelism: 1,
		}, QueueWait: 2 * time.Second},
		Lockout:        Lockout{MaxFailures: 10, MaxFailuresPerUser: 100, Duration: 15 * time.Minute},
		TrustedBrowser: TrustedBrowser{Enabled: false, Days: 30},
		Admin:          Admin{MaxAuthAge: 15 * time.Minute, RequiredACR: "aal2"},
		Notify:         Notify{MethodAddedEmail: true, RetryAfter: 30 * time.Second, MaxAttempts: 8},
		Outbox:         Outbox{Dir: "./stepup-data/outbox"},
		UI:             UI{ProductName: "stepup"},
		Tokens: Tokens{
			SigningAlg:      "RS256",
			AccessTokenTTL:  15 * time.Minute,
			IDTokenTTL:      time.Hour,
			RefreshTokenTTL: 720 * time.Hour,
			AuthRequestTTL:  30 * time.Minute,
			CodeTTL:         time.Minute,
		},
		Session: Session{TTL: 12 * time.Hour},
		Log:     Log{Level: "info", Format: "text"},
		CORS:    CORS{AllowedOrigins: []string{}},
	}
}

// defaultMethods is every built-in method of this build, enabled, with
// the priority and settings the method itself states
// (Methods.Defaults). The settings hold the values a file that
// wrote them out would decode to (int, string, map[string]any), so that
// the defaults and a file that repeats them are the same configuration.
func defaultMethods(m Methods) map[string]MethodConfig {
	methods := map[string]MethodConfig{}
	for _, name := range builtinNames(m) {
		priority, flat := m.Defaults(name)
		settings := make(map[string]any, len(flat))
		for k, v := range flat {
			settings[k] = yamlValue(v)
		}
		enabled := true
		methods[name] = MethodConfig{Enabled: &enabled, Priority: priority, Settings: settings}
	}
	return methods
}

// fillDerived sets defaults that depend on other keys, and the client
// defaults, where the file and the environment left them empty.
func (c *Config) fillDerived() {
	if c.Tokens.KeyRotation == 0 {
		c.Tokens.KeyRotation = c.Tokens.IDTokenTTL + c.Tokens.AccessTokenTTL
	}
	for i := range c.Clients {
		cl := &c.Clients[i]
		if len(cl.GrantTypes) == 0 {
			cl.GrantTypes = []string{"authorization_code", "refresh_token"}
		}
		if len(cl.ResponseTypes) == 0 && cl.ExternalMFA {
			cl.ResponseTypes = []string{"id_token"}
		}
		if cl.IDTokenSigningAlg == "" && cl.ExternalMFA {
			cl.IDTokenSigningAlg = "RS256" // what Entra ID verifies, whatever tokens.signing_alg says
		}
		if len(cl.ResponseTypes) == 0 && contains(cl.GrantTypes, "authorization_code") {
			cl.ResponseTypes = []string{"code"}
		}
		if cl.IDTokenSigningAlg == "" {
			cl.IDTokenSigningAlg = c.Tokens.SigningAlg
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
