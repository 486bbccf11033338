package adminpage

import (
	"net/http"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/audit"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// Handler serves the help desk's page (/admin): find a user, see their
// methods and activity, run the actions the methods declare, disconnect a
// method. Its fields are its dependencies; the composition root sets
// them all.
type Handler struct {
	Config  config.Config
	Store   storage.Store
	Now     func() time.Time
	Web     web.Pages
	Audit   *audit.Log
	Admin   *admin.Service
	Browser *browser.Browser
	Methods *methods.Set
	Policy  authflow.Policy
}

// Mount registers the page on mux, the mux of stepup's pages behind CSRF
// protection.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", h.handleAdminPage)
	mux.HandleFunc("POST /admin/disconnect", h.handleAdminDisconnect)
	mux.HandleFunc("POST /admin/trusted-browsers/forget", h.handleForgetBrowsers)
	mux.HandleFunc("POST /admin/{method}", h.handleAdminAction)
}
