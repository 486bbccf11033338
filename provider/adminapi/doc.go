// Package adminapi is the admin API (/admin/v1, JSON, RFC 9457 problems):
// users, their methods, the actions the methods declare (each at
// VERB /admin/v1/users/{username}/{resource}), and the audit log. A call
// needs an access token this provider signed for a client holding
// manage_mfa (RFC 9470: the user's authentication recent and strong
// enough, or client credentials), and manage_mfa itself.
//
// What must not live here: the operations (package admin, shared with the
// admin page and the offline command), pages, and a method's name.
package adminapi
