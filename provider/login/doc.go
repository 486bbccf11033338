// Package login is signing in and out: the password page (the first
// factor, with its lockouts per user and per source and equal work for
// unknown names), the challenge page of whichever method authflow chooses
// (with "use another method", lockouts, and the notice of a level a
// voluntary request cannot reach), completing a request and answering the
// client, the login page served in place of the authorization endpoint's
// redirect (authorize.go), RP-initiated logout with its confirmation
// (logout.go); with upstream configured, the first factor at the
// upstream identity provider and its logout (upstream.go,
// upstreamlogout.go; the client itself is package upstream); and the
// external MFA of an identity provider that sends its user with an
// id_token_hint for the second factor alone (externalmfa.go).
//
// Every step needs the browser that started the request (package
// browser), and a request completes once: a completion is a
// compare-and-swap on the stored request, written with the rotated
// session and its audit events in one write (storage.LoginWrite).
//
// What must not live here: a method's own logic (it is asked through
// methods.Method), the decision of what comes next (authflow), zitadel's
// storage (protocol), the account and admin pages, and words (web).
package login
