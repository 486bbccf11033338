// Package admin holds the administration's domain operations: creating,
// finding, activating and deactivating users, listing and removing their
// credentials, and running the admin actions methods declare
// (sdk.AdminAction), with the host's rules that come before a method's.
//
// Its callers are the admin API (adminapi), the admin page (adminpage)
// and the offline commands (cmd/stepup: users, and the break-glass action
// of BreakGlass), which run on the store and the launched methods alone:
// a Service is its dependencies, spelled out, and needs no
// provider.Server (provider.NewAdmin builds one).
// Failures that are the caller's come back as *Error values with a Kind
// (NotFound, Invalid, Conflict, Forbidden, RateLimited, Unavailable) and
// a message for a person; each caller maps the Kind to its own answer (an
// HTTP status and an RFC 9457 problem through httperr, a page, one line).
// Any other error is the system's own.
//
// It speaks no HTTP and imports no package of the provider above it; the
// methods reach it through the small Method interface. It decides an
// action's event (ActionEvent) and writes it through the Audit it is
// given (AuditAction), with the actor the request carries (reqctx).
package admin
