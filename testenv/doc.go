// Package testenv runs a whole stepup provider for tests and integrators:
// a real HTTP server over a real store (SQLite in a temporary directory, or
// the machine's PostgreSQL), a settable clock, a browser that follows the
// login pages with a cookie jar, and an independent relying party built on
// github.com/coreos/go-oidc and golang.org/x/oauth2.
package testenv
