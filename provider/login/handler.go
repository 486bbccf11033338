package login

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/audit"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/metrics"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/protocol/edge"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/upstream"
	"github.com/stepup-mfa/stepup/provider/web"
)

// Handler serves the sign-in, challenge and sign-out pages, and runs
// before zitadel's authorization and end_session endpoints (Intercept).
// Its fields are its dependencies; the composition root sets them all.
type Handler struct {
	Config  config.Config
	Store   storage.Store
	Now     func() time.Time
	Log     *slog.Logger
	Web     web.Pages
	Audit   *audit.Log
	Metrics *metrics.Metrics
	Browser *browser.Browser
	Methods *methods.Set
	Policy  authflow.Policy
	Hasher  password.Hasher
	// Gate bounds the password checks at once (passwords.max_concurrent).
	Gate    *password.Gate
	Clients map[string]*protocol.Client
	// Trust is "don't ask again on this browser" (trusted_browser).
	Trust *browser.Trust
	// Upstream, when set (upstream in the config), is the first factor
	// instead of a password; Accounts links its users (upstream.go).
	Upstream *upstream.Client
	Accounts *upstream.Accounts
	// Hints checks the id_token_hint of an external-MFA client's request
	// (upstream with trust_id_token_hint); nil: none is accepted.
	Hints *upstream.HintVerifier
	// OP is zitadel's provider, which takes Intercept when it is made: set
	// it once op.NewProvider returned, before serving.
	OP op.OpenIDProvider
	// Pages serves stepup's pages behind their CSRF protection, where the
	// authorization endpoint serves the login page in place of a redirect
	// and end_session its confirmation.
	Pages http.Handler
}

// Mount registers the pages on mux, the mux of stepup's pages behind CSRF
// protection.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", h.handleLogin)
	mux.HandleFunc("POST /login", h.handleLoginPost)
	mux.HandleFunc("POST /login/verify", h.handleVerifyPost)
	mux.HandleFunc("GET /login/upstream", h.handleUpstreamStart)
	mux.HandleFunc("GET "+upstream.CallbackPath, h.handleUpstreamCallback)
	mux.HandleFunc("POST /login/passkey", h.handlePasskeyPost)
	mux.HandleFunc("GET /logged-out", h.Web.LoggedOut)
	mux.HandleFunc("GET /logout", h.handleLogoutConfirm)
	mux.HandleFunc("POST /logout", h.handleLogoutPost)
	mux.HandleFunc("GET "+upstream.LogoutReturnPath, h.handleUpstreamLogoutReturn)
}

// Intercept runs before zitadel's endpoints (op.WithHttpInterceptors). It
// reads what the library leaves alone: the claims parameter (for an
// essential acr) and the client (for its signing algorithm); it serves the
// login page in place of the authorization endpoint's redirect
// (authorize.go), and asks before a logout (logout.go).
func (h *Handler) Intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		path := r.URL.Path
		switch {
		case strings.HasSuffix(path, "/authorize"):
			if err := r.ParseForm(); err == nil {
				var acr *reqctx.ACRClaim
				if raw := r.Form.Get("claims"); raw != "" {
					var err error
					if acr, err = parseClaimsACR(raw); err != nil {
						http.Error(w, "invalid claims parameter: "+err.Error(), http.StatusBadRequest)
						return
					}
				}
				ctx = reqctx.Update(ctx, func(v *reqctx.Values) { v.ClientID, v.ACR = r.Form.Get("client_id"), acr })
				if slices.ContainsFunc(r.Form["client_id"], h.isExternalMFA) { // externalmfa.go
					h.authorizeExternalMFA(w, r.WithContext(ctx), next)
					return
				}
			}
			h.authorizeInPlace(w, r.WithContext(ctx), next)
			return
		case strings.HasSuffix(path, "/oauth/token"):
			ctx = reqctx.Update(ctx, func(v *reqctx.Values) { v.ClientID, _, _ = edge.TokenClient(r) })
		case strings.HasSuffix(path, "/end_session"):
			h.endSession(w, r.WithContext(ctx), next)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func parseClaimsACR(raw string) (*reqctx.ACRClaim, error) {
	var req map[string]map[string]*reqctx.ACRClaim
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		return nil, err
	}
	for _, part := range []string{"id_token", "userinfo"} {
		if c := req[part]["acr"]; c != nil {
			if c.Value != "" {
				c.Values = append([]string{c.Value}, c.Values...)
			}
			return c, nil
		}
	}
	return nil, nil
}

// errRequestCompleted: a completion found the request done already.
var errRequestCompleted = errors.New("auth request already completed")

// refuseForeign answers a step of a request that is done or belongs to
// another browser, and audits it: either may be an attack on the request.
func (h *Handler) refuseForeign(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, completed bool) {
	reason, msg, status := "other browser", web.MsgForeignRequest, http.StatusForbidden
	if completed {
		reason, msg, status = "already completed", web.MsgRequestCompleted, http.StatusConflict
	}
	h.Audit.Record(r.Context(), storage.Event{Type: "login.request_refused", UserID: ar.Stored.UserID, ClientID: ar.GetClientID(), Outcome: "denied",
		Details: map[string]string{"reason": reason, "path": r.URL.Path}})
	h.Web.Message(w, r, status, web.TitleCannotContinueSignIn, msg)
}

// userMethods describes the user's methods for authflow. A method whose
// plugin fails to answer counts as unhealthy: the user is offered the
// next one. A method that declares ExceptWith is not offered to a user
// who holds a credential of one of those methods, unless the user's own
// credential of it is Explicit (email codes beside a verified phone).
func (h *Handler) userMethods(ctx context.Context, u storage.User) ([]authflow.Method, error) {
	now := h.Now()
	out := make([]authflow.Method, 0, h.Methods.Len())
	held := make([][]sdk.Credential, 0, h.Methods.Len()) // each method's credentials of the user
	enrolled := map[string]bool{}
	preferred, err := methods.Preferred(ctx, h.Store, u.ID, now)
	if err != nil {
		return nil, err
	}
	for _, m := range h.Methods.All() {
		desc := m.Description()
		fm := authflow.Method{Name: m.Name(), Levels: desc.Levels, Priority: m.Priority(), Enabled: true, Healthy: m.Healthy(),
			Preferred: m.Name() == preferred}
		var creds []sdk.Credential
		if fm.Healthy {
			if !desc.NeedsEnrolment {
				fm.Enrolled = true
			} else {
				var err error
				creds, err = m.ListCredentials(ctx, u.ID)
				switch {
				case err == nil:
					fm.Enrolled = len(creds) > 0
				case errors.Is(err, sdk.ErrUnavailable):
					fm.Healthy = false
				default:
					h.Log.Warn("list credentials", "method", m.Name(), "err", err)
					fm.Healthy = false
				}
			}
		}
		fm.Levels = credentialLevels(h.Policy, desc.Levels, creds)
		enrolled[m.Name()] = fm.Enrolled && desc.NeedsEnrolment
		held = append(held, creds)
		out = append(out, fm)
	}
	for i, m := range h.Methods.All() {
		fm, desc := &out[i], m.Description()
		if fm.Enrolled && methods.SetAside(m.Name(), desc, held[i], func(other string) bool { return enrolled[other] }) != "" {
			fm.Enrolled = false
		}
		// An active temporary code is offered before every other method.
		fm.Bypass = desc.Bypass && fm.Enrolled
		if fm.Enrolled {
			lock, err := h.Store.GetLockout(ctx, methods.LockoutKey(m.Name(), u.ID), now)
			if err != nil {
				return nil, err
			}
			fm.LockedUntil = lock.LockedUntil
		}
	}
	return out, nil
}

// credentialLevels are the levels a method can take this user to: those of
// declared that some credential of theirs reaches (sdk.Credential.MaxLevel;
// a user with only synced passkeys is not offered security keys for aal3).
func credentialLevels(p authflow.Policy, declared []string, creds []sdk.Credential) []string {
	if len(creds) == 0 {
		return declared
	}
	reached := map[string]bool{}
	for _, c := range creds {
		for _, l := range p.UpTo(declared, c.MaxLevel) {
			reached[l] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(declared), func(l string) bool { return !reached[l] })
}
