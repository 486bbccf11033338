// Package upstream is stepup's side of the existing identity provider it
// stands beside (SPEC §11): stepup as the upstream's OpenID Connect client
// (Client: discovery, the authorization URL with PKCE, state and nonce,
// the code exchange and the ID token's verification, RP-initiated
// logout), the account link of an upstream user (Subject, and Accounts,
// which creates a user on first sign-in under the username rule), and
// what the upstream's sign-in contributes to amr (AMR, TrustedSecond).
// Its failures are *Error values of a Kind, for the page and the audit.
//
// What must not live here: pages and HTTP handlers (provider/login mounts
// the callback and keeps the pending sign-in on the authorization
// request), the decision of what comes next (authflow), SQL.
package upstream

// Subject returns the name under which a user of the upstream identity
// provider is linked to a local user (storage.User.UpstreamSub), from the
// claims of an ID token the upstream signed: for Microsoft Entra ID, whose
// `sub` is pairwise (one value per application), the tenant and object IDs
// (`tid` and `oid`), which name the user in every application and in the
// hints of its External Authentication Methods; for any other provider,
// `sub`. Empty when the claims name no one.
func Subject(claims map[string]any) string {
	tid, _ := claims["tid"].(string)
	oid, _ := claims["oid"].(string)
	if tid != "" && oid != "" {
		return "entra:" + tid + "/" + oid
	}
	sub, _ := claims["sub"].(string)
	return sub
}
