package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// TestStatus: a store that could not answer is a 503 that says to try
// again and tells nothing of the cause (issue 18, item 10: the admin API
// answered it 500); an admin.Error has its kind's status; anything else
// is a 500 that tells nothing.
func TestStatus(t *testing.T) {
	cause := "failed to connect to `user=postgres database=stepup`: 127.0.0.1:5432"
	for _, c := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("storage: create user: %w: %s", storage.ErrUnavailable, cause), http.StatusServiceUnavailable},
		{&admin.Error{Kind: admin.Conflict, Msg: "taken"}, http.StatusConflict},
		{errors.New(cause), http.StatusInternalServerError},
	} {
		status, msg := Status(c.err)
		if status != c.status || strings.Contains(msg, "127.0.0.1") {
			t.Errorf("Status(%v) = %d %q, want %d without the cause", c.err, status, msg, c.status)
		}
	}
}
