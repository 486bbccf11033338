package account

import (
	"net/http"

	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// canPrefer reports whether a user may choose the method as preferred:
// they hold a credential of it, and it is not a help-desk bypass (a
// temporary code comes first anyway while it lasts).
func canPrefer(m *methods.Method, creds int) bool {
	return creds > 0 && !m.Description().Bypass
}

// handlePreferred records the method the user wants offered first among
// the methods the administrator ranks equally.
func (h *Handler) handlePreferred(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.accountUser(w, r, "/account")
	if !ok {
		return
	}
	ctx := r.Context()
	name := r.PostFormValue("method")
	m, ok := h.Methods.Get(name)
	if !ok || !m.Description().NeedsEnrolment {
		h.Web.Message(w, r, http.StatusNotFound, web.TitleUnknownMethod, web.MsgNoSuchMethod)
		return
	}
	creds, err := m.ListCredentials(ctx, u.ID)
	if err != nil {
		h.accountError(w, r, name, err)
		return
	}
	if !canPrefer(m, len(creds)) {
		h.Web.Message(w, r, http.StatusBadRequest, web.TitleCheckInput, web.MsgPreferOnlyYours)
		return
	}
	if err := methods.SetPreferred(ctx, h.Store, u.ID, name, h.Now()); err != nil {
		h.Web.ServerError(w, r, "set preferred method", err)
		return
	}
	h.Audit.Record(ctx, storage.Event{Type: "method.preferred", UserID: u.ID, Outcome: "success", Details: map[string]string{"method": name}})
	http.Redirect(w, r, "/account?done=preferred", http.StatusSeeOther)
}
