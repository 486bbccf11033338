// Package authflow decides the next step of a step-up login.
//
// Given the configured assurance levels (Policy), what the relying party
// asked for (Request), the factors the browser session has completed
// (Factor) and the user's verification methods as they stand now (Method),
// Decide returns a Decision: ask for a first factor, run a verification
// method, finish with a Result (acr, amr, auth_time), or fail with an OIDC
// error. The caller applies the decision; authflow never calls out.
//
// The rules are those of the specification, sections 4 and 5:
//
//   - The first level (aal1) needs a first factor; every higher level needs
//     a first factor and a second factor that declares that level. Reaching
//     a level also satisfies every level below it.
//   - max_age and prompt=login drop the factors they make too old, so every
//     factor the requested level needs is repeated.
//   - The requested acr names are tried in the request's order; the first
//     one the session reaches or can still reach is the target, and the
//     token's acr is that exact name. An essential acr that cannot be met is
//     an error (ErrUnmetAuthenticationRequirements); a voluntary one that
//     cannot be met finishes at the level the session truly reaches.
//   - The method offered is the best eligible one: an active bypass
//     (temporary code) first, then by priority.
//
// This package holds pure values and functions. It must import only the
// standard library: no net/http, no storage, no other stepup package
// (imports_test.go at the module's root enforces it).
package authflow
