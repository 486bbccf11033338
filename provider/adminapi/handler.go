package adminapi

import (
	"log/slog"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/audit"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/protocol/signing"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// Handler serves the admin API (/admin/v1): users, their methods, the
// actions the methods declare, and the audit log, for clients and users
// holding manage_mfa with a recent enough, strong enough token. Its
// fields are its dependencies; the composition root sets them all.
type Handler struct {
	Config config.Config
	Store  storage.Store
	Now    func() time.Time
	Log    *slog.Logger
	Audit  *audit.Log
	Admin  *admin.Service
	Policy authflow.Policy
	// Clients are the registered clients: those with manage_mfa may call.
	Clients map[string]*protocol.Client
	// Keys verify the access tokens, which this provider signed.
	Keys *signing.KeyRing
}
