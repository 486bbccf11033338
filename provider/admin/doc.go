// Package admin holds the administration's domain operations: creating,
// finding, activating and deactivating users, listing and removing their
// credentials, and running the admin actions methods declare
// (sdk.AdminAction), with the host's rules that come before a method's.
//
// Its callers are the admin API and the admin page (package provider) and
// the offline command (cmd/stepup), which runs on the store alone: a
// Service is its dependencies, spelled out, and needs no provider.Server.
// Failures that are the caller's come back as *Error values with a Kind
// (NotFound, Invalid, Conflict, Forbidden, RateLimited, Unavailable) and
// a message for a person; each caller maps the Kind to its own answer (an
// HTTP status and an RFC 9457 problem, a page, one line). Any other error
// is the system's own.
//
// It speaks no HTTP and imports no package of the provider above it; the
// methods reach it through the small Method interface. It records no
// audit event itself: it decides an action's event (ActionEvent), and the
// caller, who knows the actor and the request, writes it.
package admin
