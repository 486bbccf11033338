// Package provider is stepup's composition root: New builds one replica
// of the OpenID Connect provider from a configuration and its
// dependencies (the store, the secrets, the launched methods, a mailer)
// and mount puts the handlers together. It only wires; every role lives
// in a package of its own, each taking its dependencies as the fields of
// a struct:
//
//	protocol    zitadel's side: op.Storage, clients, the auth request,
//	            discovery; protocol/signing the keys and the access
//	            tokens; protocol/edge the guards in front of zitadel's
//	            endpoints, its errors and CORS
//	login       sign-in, challenges, the login page in place, logout
//	account     the user's own page
//	adminapi    /admin/v1
//	adminpage   /admin, the help desk's page
//	admin       the administration's operations, shared with the
//	            offline commands (NewAdmin)
//	browser     the session cookie, a request's browser binding,
//	            trusted browsers
//	methods     the launched methods, their calls timed
//	web         templates, rendering, CSP, the pages' words
//	audit       the audit log; metrics the Prometheus series
//	reqctx      the request-scoped values, one typed value
//	config, storage, secrets, notify, password, username
//
// Imports point down only: no handler package imports another, and none
// imports this one. The provider imports no method and not the registry
// (plugins): the import rules (imports_test.go) hold every package under
// provider/ to that. It names no method: what one method does differently
// from another comes from its sdk.Description.
//
// What must not live here: any handler, decision or page; launching the
// methods (plugins/launch, for cmd/stepup and testenv); SQL.
package provider
