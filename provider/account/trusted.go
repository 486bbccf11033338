package account

import (
	"errors"
	"net/http"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// fillTrustedBrowsers lists the user's trusted browsers on the account
// page, while trusting browsers is enabled.
func (h *Handler) fillTrustedBrowsers(r *http.Request, a *web.Account, u storage.User) error {
	if !h.Trust.Enabled() {
		return nil
	}
	a.Trust = true
	bs, err := h.Store.ListTrustedBrowsers(r.Context(), u.ID)
	if err != nil {
		return err
	}
	for _, b := range bs {
		tb := web.TrustedBrowser{ID: b.ID, Name: b.Name, Trusted: pageTime(b.CreatedAt), LastUsed: pageTime(b.LastUsedAt),
			Expires: pageTime(b.ExpiresAt), Current: h.Trust.IsCurrent(r, b)}
		a.TrustedBrowsers = append(a.TrustedBrowsers, tb)
	}
	return nil
}

func pageTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// handleForgetBrowser forgets one of the user's trusted browsers: it asks
// for the second factor again. Forgetting takes no re-verification (it
// only takes away), and only the user's own browser can be named: another
// user's ID is "no such browser". The browser showing the page drops its
// cookie when it is the one forgotten.
func (h *Handler) handleForgetBrowser(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.accountUser(w, r, "/account")
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PostFormValue("browser")
	current := false
	if bs, err := h.Store.ListTrustedBrowsers(ctx, u.ID); err == nil {
		for _, b := range bs {
			current = current || (b.ID == id && h.Trust.IsCurrent(r, b))
		}
	}
	err := h.Store.DeleteTrustedBrowser(ctx, u.ID, id, h.Audit.Complete(ctx, storage.Event{Type: "trusted_browser.forgotten", UserID: u.ID,
		Outcome: "success", Details: map[string]string{"browser": id, "by": "user"}})...)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		h.Web.Message(w, r, http.StatusNotFound, web.TitleBrowserNotTrusted, web.MsgBrowserGone)
		return
	case err != nil:
		h.Web.ServerError(w, r, "forget trusted browser", err)
		return
	}
	if current {
		h.Trust.Clear(w)
	}
	http.Redirect(w, r, "/account?done=forgotten", http.StatusSeeOther)
}
