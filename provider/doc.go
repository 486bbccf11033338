// Package provider is stepup's OpenID Connect provider: zitadel/oidc's
// endpoints over protocol's op.Storage (discovery, tokens, keys, logout),
// the sign-in and challenge pages, the account page, the admin API and
// the admin page, the offline break-glass path, browser sessions, health,
// metrics and the audit log. cmd/stepup wires it with a Store and the
// method plugins it launched (plugins/launch).
//
// Its children so far: reqctx (the request-scoped values, one typed
// value), protocol (zitadel's side: the op.Storage adapter, clients,
// signing keys, minted access tokens, the auth request, CORS, the guards
// before zitadel's endpoints, and the table of the zitadel workarounds),
// web (templates, rendering, CSP, the pages' messages), admin (the
// administration's operations with typed errors, shared with the offline
// command; the admin API and page here map them to statuses and
// messages), config, storage, notify, password, username. It imports
// them; none imports it.
// It imports no method and not the registry (plugins): the import rules
// (imports_test.go) hold every package under provider/ to that.
//
// It asks authflow what to do next and applies the decision; it keeps all
// state in a storage.Store so several replicas serve one flow.
//
// It names no method. What one method does differently from another comes
// from its sdk.Description: Bypass and the levels for choosing it, the
// admin actions it offers (routes under /admin/v1/users/{username}/, the
// forms of the admin page, the break-glass action), the audit events of
// its uses and removals, the fields its enrolment asks for and what its
// enrolment shows. A new method is its plugin; nothing here changes.
//
// What must not live here: a method's own logic or name, launching the
// methods (the composition roots' job), a page's words (web's), and SQL
// (the store's).
package provider
