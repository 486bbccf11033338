package config

import (
	"slices"
	"strings"
)

// The upstream section's defaults, applied where the keys are read (the
// section itself is absent by default, so Default cannot hold them).
var (
	DefaultUpstreamScopes = []string{"openid", "profile", "email"}
	// DefaultUsernameClaim is the claim that names a user created on
	// first sign-in through the upstream.
	DefaultUsernameClaim = "preferred_username"
)

// RequestScopes are the scopes stepup asks the upstream for.
func (u Upstream) RequestScopes() []string {
	if len(u.Scopes) == 0 {
		return DefaultUpstreamScopes
	}
	return u.Scopes
}

// NameClaim is the claim that names a new user.
func (u Upstream) NameClaim() string {
	if u.UsernameClaim == "" {
		return DefaultUsernameClaim
	}
	return u.UsernameClaim
}

// validateUpstreamKeys checks the keys past the issuer and client id.
func validateUpstreamKeys(u *Upstream) *Error {
	if len(u.Scopes) > 0 && !slices.Contains(u.Scopes, "openid") {
		return errorf("upstream.scopes", "upstream.scopes %q must include openid: stepup signs in with OpenID Connect", strings.Join(u.Scopes, " "))
	}
	for _, s := range u.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\"\\") {
			return errorf("upstream.scopes", "upstream.scopes has %q, which is not a scope: use names like openid, profile, email", s)
		}
	}
	if u.UsernameClaim != "" && strings.ContainsAny(u.UsernameClaim, " \t\r\n") {
		return errorf("upstream.username_claim", "upstream.username_claim %q must be one claim name, e.g. preferred_username or email", u.UsernameClaim)
	}
	for _, v := range u.TrustedAMR {
		if v == "" || strings.ContainsAny(v, " \t\r\n\"") {
			return errorf("upstream.trusted_amr", "upstream.trusted_amr has %q, which is not an amr value: use RFC 8176 names such as mfa, hwk, otp", v)
		}
		if v == "fed" {
			return errorf("upstream.trusted_amr", "upstream.trusted_amr must not list fed: it only says the upstream signed the user in, not how; list the values that mean a second factor, such as mfa")
		}
	}
	return nil
}
