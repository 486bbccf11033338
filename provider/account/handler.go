package account

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/audit"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/secrets"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// Handler serves the account page: a user's methods, adding and removing
// them, and recent activity. Its fields are its dependencies; the
// composition root sets them all.
type Handler struct {
	Config  config.Config
	Store   storage.Store
	Now     func() time.Time
	Log     *slog.Logger
	Web     web.Pages
	Audit   *audit.Log
	Browser *browser.Browser
	Methods *methods.Set
	Policy  authflow.Policy
	// Secrets seal a pending enrolment's page at rest.
	Secrets *secrets.Secrets
	// Notify sends the user's notifications in the background.
	Notify *notify.Async
}

// Mount registers the pages on mux, the mux of stepup's pages behind CSRF
// protection.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /account", h.handleAccount)
	mux.HandleFunc("GET /account/enrol", h.handleEnrolStart)
	mux.HandleFunc("POST /account/enrol", h.handleEnrolConfirm)
	mux.HandleFunc("POST /account/remove", h.handleRemove)
	mux.HandleFunc("POST /account/rename", h.handleRename)
	mux.HandleFunc("GET /account/enrol/codes", h.handleCodes)
}
