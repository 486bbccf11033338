package account

import (
	"net/http"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// handleRename gives one of the user's credentials a new name, for a
// method that declares its credentials renamable.
func (h *Handler) handleRename(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.accountUser(w, r, "/account")
	if !ok {
		return
	}
	name, credID, label := r.PostFormValue("method"), r.PostFormValue("credential"), r.PostFormValue("label")
	m, ok := h.Methods.Get(name)
	if !ok || !m.Description().Renamable {
		h.Web.Message(w, r, http.StatusNotFound, web.TitleUnknownMethod, web.MsgNoSuchMethod)
		return
	}
	ctx := r.Context()
	if err := m.Rename(ctx, u.ID, credID, label); err != nil {
		h.accountError(w, r, name, err)
		return
	}
	h.Audit.Record(ctx, storage.Event{Type: "method.renamed", UserID: u.ID, Outcome: "success",
		Details: map[string]string{"method": name, "credential": credID}})
	http.Redirect(w, r, "/account?done=renamed", http.StatusSeeOther)
}
