// Package protocol is stepup's side of zitadel/oidc: the op.Storage
// adapter over the store (Storage: auth requests, codes, access and
// refresh tokens, revocation, userinfo, the keys zitadel signs with), the
// relying parties as op.Client (Client), the hand-over of the at+jwt
// access tokens stepup mints (TokenCrypto), the correction of zitadel's
// wall clock onto the provider's (OnWallClock, Client.IDTokenLifetime),
// and stepup's discovery document (Discovery).
//
// AuthRequest is an authorization request as the store keeps it (its
// parameters, and the login's state and outcome), the op.AuthRequest
// zitadel reads; the login reads and updates it through its exported
// fields. A request the authorization endpoint creates reaches the login
// page it serves in place through the request's reqctx.InPlace slot,
// which only this package writes and only CreatedInPlace reads.
//
// Below it: signing (the key ring and minting RFC 9068 access tokens) and
// edge (the guards and error rewriting in front of zitadel's endpoints,
// and CORS). The root (provider) wires them: it builds the Clients, the
// KeyRing and the Storage from its configuration and hands Storage its
// audit log and the browser binding of the login.
//
// The workarounds of zitadel stepup holds, and where each lives:
//
//	zitadel does                               stepup does                                    where
//	CORS for every origin, with credentials,   none by default; cors.allowed_origins, no      protocol/edge/cors.go,
//	  on pages too                               credentials, on token, userinfo, keys only     provider/provider.go
//	serves /authorize/callback                 does not serve it (404)                        provider/routes.go
//	redirects to the client's LoginURL         serves the login page in place                 provider/login/authorize.go
//	signs JWT access tokens with typ "JWT"     mints at+jwt (RFC 9068) itself                 protocol/signing/accesstoken.go,
//	                                                                                            protocol/accesstoken.go
//	compares redirect_uri percent-decoded      compares byte for byte first                   protocol/edge/guards.go,
//	                                                                                            protocol/clients.go
//	takes the Basic-auth user as sent          decodes the client ID (RFC 6749 §2.3.1)        protocol/edge/guards.go
//	looks at the code before the client        authenticates the client first                 protocol/edge/guards.go
//	hands RevokeToken one token ID, access     names a refresh token "rt:" + its hash, apart  protocol/oidcstorage.go
//	  and refresh tokens alike                   from an access token's jti
//	ID-token exp from the wall clock           exp from the provider's clock                  protocol/clients.go,
//	                                                                                            protocol/accesstoken.go
//	answers some errors as text/plain          answers JSON (RFC 6749 §5.2)                   protocol/edge/errors.go
//	serves its own discovery document          serves stepup's                                protocol/discovery.go
//	logs through slog.Default, not op options  stepup serve makes slog.Default its logger     provider/provider.go
//	serves a JWKS without certificates         serves /keys with each RS256 key's x5c         protocol/keys.go,
//	                                                                                            protocol/signing/certificate.go
//	posts no error in its form_post page       posts the error and state (external MFA)       protocol/formpost.go
//	checks every id_token_hint against its     checks an external-MFA client's hint against   provider/login/externalmfa.go,
//	  own keys                                   the upstream's, and takes it out of the form   provider/upstream/hint.go
//
// What must not live here: the login pages, the account and admin pages,
// the methods, and anything of HTTP beyond the protocol's endpoints.
// protocol imports no package of the provider but config, storage and
// reqctx; the import rules (imports_test.go) hold it to that.
package protocol
