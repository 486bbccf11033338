// Package reqctx carries stepup's request-scoped values in one typed
// value under one context key: who and where a request comes from (the
// remote address, the admin actor), what the protocol endpoints learned
// before zitadel's storage callbacks run (the client, the session being
// ended, the claims request's acr), and the slot through which the
// authorization endpoint hands the request it created to the login page
// served in place.
//
// Values are copied on write (With, Update): a handler that adds one
// changes nothing for its caller. What must not live here: anything that
// outlives the request (sessions, the store), and logic: this is values
// only, below every other package of the provider.
package reqctx
