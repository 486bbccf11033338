package config

import "slices"

// validateExternalMFA checks a client marked external_mfa (at is its
// key): it needs the upstream whose hints it sends, trusted; a redirect
// URI for the form_post; the id_token response alone; and RS256, the one
// algorithm Entra ID verifies.
func (c Config) validateExternalMFA(at string, cl Client) *Error {
	switch {
	case c.Upstream == nil || !c.Upstream.TrustIDTokenHint:
		return errorf(at+".external_mfa", "%s.external_mfa needs the identity provider that signs its id_token_hint: set upstream.issuer, upstream.client_id and upstream.trust_id_token_hint: true", at)
	case len(cl.RedirectURIs) == 0:
		return errorf(at+".redirect_uris", "%s.redirect_uris is empty: client %q is an external-MFA client and needs the URI its ID tokens are posted to", at, cl.ID)
	case len(cl.ResponseTypes) > 0 && !slices.Equal(cl.ResponseTypes, []string{"id_token"}):
		return errorf(at+".response_types", "%s.response_types must be [id_token] for an external-MFA client (or left out)", at)
	case cl.IDTokenSigningAlg != "" && cl.IDTokenSigningAlg != "RS256":
		return errorf(at+".id_token_signed_response_alg", "%s.id_token_signed_response_alg must be RS256 for an external-MFA client (Entra ID verifies RS256 only), or left out", at)
	}
	return nil
}
