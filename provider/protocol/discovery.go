package protocol

import (
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Discovery serves stepup's discovery document, not zitadel's: what p and
// st offer, less what stepup does not (device flow, session iframe, the
// request parameter, private_key_jwt), with the grants, response types
// and modes, client authentication and PKCE methods it does, and acrs,
// the levels a client may ask for.
// GrantTypes are the grants the token endpoint serves, as discovery
// advertises them; edge refuses any other before zitadel sees it (zitadel
// would serve the JWT bearer grant, which stepup does not offer).
var GrantTypes = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials}

func Discovery(p op.OpenIDProvider, st *Storage, acrs []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := op.ContextWithIssuer(r.Context(), st.Issuer)
		d := op.CreateDiscoveryConfig(ctx, p, st)
		d.DeviceAuthorizationEndpoint = ""
		d.CheckSessionIframe = ""
		d.GrantTypesSupported = GrantTypes
		d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode), string(oidc.ResponseTypeIDTokenOnly)}
		d.ResponseModesSupported = []string{"query", "fragment", "form_post"}
		d.ACRValuesSupported = acrs
		d.ClaimsParameterSupported = true
		d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
		d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
		d.RequestParameterSupported = false
		// Signing algorithms for private_key_jwt client authentication, which
		// stepup does not offer.
		d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
		d.RevocationEndpointAuthSigningAlgValuesSupported = nil
		d.TokenEndpointAuthSigningAlgValuesSupported = nil
		w.Header().Set("Cache-Control", "public, max-age=300")
		op.Discover(w, d)
	}
}
