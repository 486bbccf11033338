// Package httperr says how the administration's errors read over HTTP,
// for the admin API and the admin page alike: the status of each kind of
// admin.Error, and its message; a database that is away is a 503 (a
// retry, never a verdict); any other error is a 500 that says nothing of
// its cause.
package httperr

import (
	"net/http"

	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// statuses are the HTTP status of each kind of admin.Error.
var statuses = map[admin.Kind]int{
	admin.NotFound: http.StatusNotFound, admin.Invalid: http.StatusBadRequest, admin.Conflict: http.StatusConflict,
	admin.Forbidden: http.StatusForbidden, admin.RateLimited: http.StatusTooManyRequests, admin.Unavailable: http.StatusServiceUnavailable,
}

// msgFailed answers an admin request that failed for the server's own
// reason.
const msgFailed = "the operation failed; see the server log"

// msgUnavailable answers an admin request the database could not serve:
// nothing was done, and the same request may be sent again.
const msgUnavailable = "the database is not answering; nothing was changed, try again shortly"

// Status is the status and the message for err: its kind's, 503 when the
// store could not be reached (storage.Unavailable), or a 500 that says
// nothing of the cause.
func Status(err error) (int, string) {
	if storage.Unavailable(err) {
		return http.StatusServiceUnavailable, msgUnavailable
	}
	if e, ok := admin.AsError(err); ok {
		if st, ok := statuses[e.Kind]; ok {
			return st, e.Msg
		}
	}
	return http.StatusInternalServerError, msgFailed
}
