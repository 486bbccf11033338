// Package protocol is stepup's side of zitadel/oidc: the op.Storage
// adapter over the store (Storage), the relying parties as op.Client
// (Client), the signing keys and the JWKS (KeyRing), the at+jwt access
// tokens stepup mints itself (MintAccessToken, TokenCrypto),
// the CORS of the JSON endpoints, the correction of zitadel's wall clock
// onto the provider's (OnWallClock, Client.IDTokenLifetime), and the
// Guards in front of zitadel's endpoints: what they leave undone
// (endpoints.go) and the errors they answer in a form their readers do
// not expect (protocolerrors.go); and stepup's discovery document
// (Discovery). The pages the guards answer with are
// the provider's (Pages, which web.Pages is).
//
// AuthRequest is an authorization request as the store keeps it (its
// parameters, and the login's state and outcome), the op.AuthRequest
// zitadel reads; the login pages read and update it through its exported
// fields.
//
// The root (provider) wires it: it builds the Clients, the KeyRing and
// the Storage from its configuration and hands Storage its audit log, the
// user's claims and the browser binding of the login. The interceptor
// that reads the claims parameter and the client before zitadel's
// endpoints (intercept) is still the root's, with the login it serves in
// place.
//
// The workarounds of zitadel stepup holds, and where each lives:
//
//	zitadel does                               stepup does                                    where
//	CORS for every origin, with credentials,   none by default; cors.allowed_origins, no      protocol/cors.go,
//	  on pages too                               credentials, on token, userinfo, keys only     provider/provider.go
//	serves /authorize/callback                 does not serve it (404)                        provider/routes.go
//	redirects to the client's LoginURL         serves the login page in place                 provider/authorize.go
//	signs JWT access tokens with typ "JWT"     mints at+jwt (RFC 9068) itself                 protocol/accesstoken.go
//	compares redirect_uri percent-decoded      compares byte for byte first                   protocol/endpoints.go,
//	                                                                                            protocol/clients.go
//	takes the Basic-auth user as sent          decodes the client ID (RFC 6749 §2.3.1)        protocol/endpoints.go,
//	                                                                                            provider/routes.go
//	looks at the code before the client        authenticates the client first                 protocol/endpoints.go
//	hands RevokeToken one token ID, access     names a refresh token "rt:" + its hash, apart  protocol/oidcstorage.go
//	  and refresh tokens alike                   from an access token's jti
//	ID-token exp from the wall clock           exp from the provider's clock                  protocol/clients.go,
//	                                                                                            protocol/accesstoken.go
//	answers some errors as text/plain          answers JSON (RFC 6749 §5.2)                   protocol/protocolerrors.go
//	serves its own discovery document          serves stepup's                                protocol/discovery.go
//	logs through slog.Default, not op options  stepup serve makes slog.Default its logger     provider/provider.go
//
// What must not live here: the login pages, the account and admin pages,
// the methods, and anything of HTTP beyond the protocol's endpoints.
// protocol imports no package of the provider but config, storage,
// reqctx and web (for the form fields of a begun challenge); the
// import rules (imports_test.go) hold it to that.
package protocol
