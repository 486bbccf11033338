package login

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// TestHeldRedirect: of zitadel's answers, only the redirect to the login
// page of the request it created is held back; any other goes out as
// written, the created request stored first.
func TestHeldRedirect(t *testing.T) {
	ar := &protocol.AuthRequest{Stored: storage.AuthRequest{ID: "ar1"}}
	for _, c := range []struct {
		what, location string
		held           bool
	}{
		{"the login page of the created request", "https://op.example/login?id=ar1", true},
		{"the login page of another request", "https://op.example/login?id=ar2", false},
		{"an error for the client", "https://rp.example/cb?error=invalid_request", false},
	} {
		rec := httptest.NewRecorder()
		saved := 0
		h := &heldRedirect{w: rec, header: http.Header{}, slot: &reqctx.InPlace{Request: ar}, hold: true,
			login: func(a *protocol.AuthRequest) string { return "https://op.example/login?id=" + a.GetID() },
			save:  func(*protocol.AuthRequest) { saved++ }}
		http.Redirect(h, httptest.NewRequest(http.MethodGet, "/authorize", nil), c.location, http.StatusFound)
		if c.held {
			if !h.held || rec.Header().Get("Location") != "" || rec.Body.Len() != 0 || saved != 0 {
				t.Errorf("%s: not held (Location %q, saved %d)", c.what, rec.Header().Get("Location"), saved)
			}
			continue
		}
		if h.held || rec.Code != http.StatusFound || rec.Header().Get("Location") != c.location || saved != 1 {
			t.Errorf("%s: held %v, %d to %q, saved %d; want it passed through, the request stored once",
				c.what, h.held, rec.Code, rec.Header().Get("Location"), saved)
		}
	}
}
