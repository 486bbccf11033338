package adminapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/stepauth"
)

// awayStore is a store whose database went away after the token's
// revocation check: every user lookup fails as an outage does.
type awayStore struct{ storage.Store }

func (awayStore) GetUser(context.Context, string) (storage.User, error) {
	return storage.User{}, fmt.Errorf("storage: user: %w: dial tcp 127.0.0.1:5432: connection refused", storage.ErrUnavailable)
}

// TestPermissionCheckDuringOutage: a person's token whose user cannot be
// read because the database is away is a 503 with Retry-After, not 403
// "you lack manage_mfa" (a verdict on a good administrator), and the
// answer tells nothing of the driver.
func TestPermissionCheckDuringOutage(t *testing.T) {
	h := &Handler{Store: awayStore{}}
	reached := false
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })
	r := httptest.NewRequest("GET", "/admin/v1/users/bob", nil)
	r = r.WithContext(stepauth.ContextWithClaims(r.Context(), &stepauth.Claims{Subject: "user-1", ClientID: "admin-app", ACR: "aal2"}))
	w := httptest.NewRecorder()
	h.requireManageMFA(next).ServeHTTP(w, r)
	if reached || w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || strings.Contains(w.Body.String(), "127.0.0.1") {
		t.Fatalf("reached %v, %d (Retry-After %q) %s", reached, w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}
