package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/csrf"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/account"
	"github.com/stepup-mfa/stepup/provider/adminapi"
	"github.com/stepup-mfa/stepup/provider/adminpage"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/login"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/metrics"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/protocol/edge"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/secrets"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// routes are what mount puts together.
type routes struct {
	cfg     config.Config
	secure  bool
	secrets *secrets.Secrets
	web     web.Pages
	store   storage.Store
	metrics *metrics.Metrics
	methods *methods.Set
	policy  authflow.Policy

	op      op.OpenIDProvider
	storage *protocol.Storage
	guards  *edge.Guards

	login     *login.Handler
	account   *account.Handler
	adminAPI  *adminapi.Handler
	adminPage *adminpage.Handler
}

// mount assembles the handler: stepup's own pages and documents first,
// zitadel's endpoints for the rest.
func mount(rt routes) (http.Handler, error) {
	mux := http.NewServeMux()
	cors := edge.CORSForJSON(rt.cfg.CORS.AllowedOrigins)
	discovery := cors(protocol.Discovery(rt.op, rt.storage, rt.policy.ACRNames()))
	mux.Handle("GET /.well-known/openid-configuration", discovery)
	mux.Handle("OPTIONS /.well-known/openid-configuration", discovery)
	mux.Handle("GET "+web.StylesheetPath, web.Stylesheet())
	mux.Handle("GET /keys", cors(protocol.Keys(rt.storage.Keys))) // with x5c (protocol/keys.go)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", ready(rt.store, rt.methods))
	mux.Handle("GET /metrics", promhttp.HandlerFor(rt.metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET "+web.WebAuthnScriptPath, web.ServeWebAuthnScript)
	mux.HandleFunc("GET "+protocol.FormPostScriptPath, protocol.ServeFormPostScript)

	csrfProtect := csrf.Protect(rt.secrets.CSRF,
		csrf.Secure(rt.secure), csrf.SameSite(csrf.SameSiteLaxMode), csrf.HttpOnly(true),
		csrf.Path("/"), csrf.FieldName("csrf_token"), csrf.CookieName("stepup_csrf"),
		csrf.ErrorHandler(http.HandlerFunc(rt.web.CSRFError)))
	pages := http.NewServeMux()
	rt.login.Mount(pages)
	rt.account.Mount(pages)
	rt.adminPage.Mount(pages)
	page := csrfProtect(pages)
	if !rt.secure {
		inner := page
		page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(w, csrf.PlaintextHTTPRequest(r))
		})
	}
	rt.login.Pages = page
	for _, p := range []string{"/login", "/login/", "/logged-out", "/logout", "/logout/upstream", "/account", "/account/", "/admin", "/admin/"} {
		mux.Handle(p, page)
	}
	if err := rt.adminAPI.Mount(mux); err != nil {
		return nil, err
	}
	// stepup answers the client itself when a login ends, so zitadel's
	// callback, which would finish any request named in its query for
	// whoever asks, is not served.
	mux.HandleFunc("/authorize/callback", func(w http.ResponseWriter, r *http.Request) {
		rt.web.Message(w, r, http.StatusNotFound, web.TitleNotFound, web.MsgExpired)
	})
	mux.Handle("/", edge.CORSOnly(cors, rt.guards.Endpoints(rt.op), "/oauth/token", "/userinfo", "/keys"))
	return reqctx.WithRemoteAddr(web.SecurityHeaders(mux, rt.secure)), nil
}

// ready answers /readyz: 200 while the database answers and, when there
// are methods, at least one of them does.
func ready(store storage.Store, set *methods.Set) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status := map[string]any{"database": "ok"}
		code := http.StatusOK
		if err := store.Ping(ctx); err != nil {
			status["database"] = "unreachable"
			code = http.StatusServiceUnavailable
		}
		if set.Len() > 0 {
			health, up := map[string]string{}, 0
			for _, m := range set.All() {
				if m.Healthy() {
					health[m.Name()] = "ok"
					up++
				} else {
					health[m.Name()] = "down"
				}
			}
			status["methods"] = health
			if up == 0 {
				code = http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(status)
	}
}
