package adminapi

import (
	"net/http"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// trustedBrowserJSON is one of a user's trusted browsers; never its
// cookie or the cookie's hash.
type trustedBrowserJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Method     string     `json:"method"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  time.Time  `json:"expires_at"`
}

func toTrustedBrowserJSON(bs []storage.TrustedBrowser) []trustedBrowserJSON {
	out := []trustedBrowserJSON{}
	for _, b := range bs {
		j := trustedBrowserJSON{ID: b.ID, Name: b.Name, Method: b.Method, CreatedAt: b.CreatedAt, ExpiresAt: b.ExpiresAt}
		if !b.LastUsedAt.IsZero() {
			used := b.LastUsedAt
			j.LastUsedAt = &used
		}
		out = append(out, j)
	}
	return out
}

// apiListTrustedBrowsers answers GET /admin/v1/users/{username}/trusted-browsers.
func (h *Handler) apiListTrustedBrowsers(w http.ResponseWriter, r *http.Request) {
	u, err := h.Admin.UserByName(r.Context(), r.PathValue("username"))
	var bs []storage.TrustedBrowser
	if err == nil {
		bs, err = h.Admin.TrustedBrowsers(r.Context(), u.ID)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"trusted_browsers": toTrustedBrowserJSON(bs)})
}

// apiForgetTrustedBrowsers answers DELETE
// /admin/v1/users/{username}/trusted-browsers: every browser the user
// trusted asks for the second factor again. 204, also when there was
// none; the audit event is written with the change.
func (h *Handler) apiForgetTrustedBrowsers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, err := h.Admin.UserByName(ctx, r.PathValue("username"))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if _, err := h.Admin.ForgetTrustedBrowsers(ctx, u, h.Audit.AdminEvent(ctx, "trusted_browser.forgotten", u.ID, "success",
		map[string]string{"by": "admin", "scope": "all"})); err != nil {
		h.Audit.Admin(ctx, "trusted_browser.forget_failed", u.ID, "failure", map[string]string{"by": "admin", "scope": "all"})
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
