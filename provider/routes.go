package provider

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/csrf"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/web"
)

// routes assembles the handler: stepup's own pages and documents first,
// zitadel's endpoints for the rest.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	cors := protocol.CORSForJSON(s.cfg.CORS.AllowedOrigins)
	discovery := cors(protocol.Discovery(s.op, s.storage, s.policy.ACRNames()))
	mux.Handle("GET /.well-known/openid-configuration", discovery)
	mux.Handle("OPTIONS /.well-known/openid-configuration", discovery)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))

	csrfProtect := csrf.Protect(s.secrets.CSRF,
		csrf.Secure(s.secure), csrf.SameSite(csrf.SameSiteLaxMode), csrf.HttpOnly(true),
		csrf.Path("/"), csrf.FieldName("csrf_token"), csrf.CookieName("stepup_csrf"),
		csrf.ErrorHandler(http.HandlerFunc(s.web.CSRFError)))
	pages := http.NewServeMux()
	pages.HandleFunc("GET /login", s.handleLogin)
	pages.HandleFunc("POST /login", s.handleLoginPost)
	pages.HandleFunc("POST /login/verify", s.handleVerifyPost)
	pages.HandleFunc("GET /logged-out", s.web.LoggedOut)
	pages.HandleFunc("GET /logout", s.handleLogoutConfirm)
	pages.HandleFunc("POST /logout", s.handleLogoutPost)
	pages.HandleFunc("GET /account", s.handleAccount)
	pages.HandleFunc("GET /account/enrol", s.handleEnrolStart)
	pages.HandleFunc("POST /account/enrol", s.handleEnrolConfirm)
	pages.HandleFunc("POST /account/remove", s.handleRemove)
	pages.HandleFunc("GET /admin", s.handleAdminPage)
	pages.HandleFunc("POST /admin/disconnect", s.handleAdminDisconnect)
	pages.HandleFunc("POST /admin/{method}", s.handleAdminAction)
	page := csrfProtect(pages)
	if !s.secure {
		inner := page
		page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(w, csrf.PlaintextHTTPRequest(r))
		})
	}
	s.pages = page
	mux.Handle("/login", page)
	mux.Handle("/login/", page)
	mux.Handle("/logged-out", page)
	mux.Handle("/logout", page)
	mux.Handle("/account", page)
	mux.Handle("/account/", page)
	mux.Handle("/admin", page)
	mux.Handle("/admin/", page)
	if err := s.adminRoutes(mux); err != nil {
		panic(err) // the levels were validated with the configuration
	}
	// stepup answers the client itself when a login ends (respond), so
	// zitadel's callback, which would finish any request named in its
	// query for whoever asks, is not served.
	mux.HandleFunc("/authorize/callback", func(w http.ResponseWriter, r *http.Request) {
		s.web.Message(w, r, http.StatusNotFound, web.TitleNotFound, web.MsgExpired)
	})
	mux.Handle("/", protocol.CORSOnly(cors, s.guards.Endpoints(s.op), "/oauth/token", "/userinfo", "/keys"))
	return s.withRemoteAddr(securityHeaders(mux, s.secure))
}

// securityHeaders sets the headers every answer carries; over https (an
// https issuer) also HSTS, so that browsers never try plain http again.
func securityHeaders(next http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin") // no-referrer would make browsers send "Origin: null" on our own forms
		h.Set("X-Frame-Options", "DENY")
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) withRemoteAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		next.ServeHTTP(w, r.WithContext(reqctx.Update(r.Context(), func(v *reqctx.Values) { v.RemoteAddr = host })))
	})
}

// intercept runs before zitadel's endpoints. It reads what the library
// leaves alone: the claims parameter (for an essential acr), the client
// (for its signing algorithm), and it asks before a logout (logout.go).
func (s *Server) intercept(next http.Handler) http.Handler {
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
			}
			s.authorizeInPlace(w, r.WithContext(ctx), next)
			return
		case strings.HasSuffix(path, "/oauth/token"):
			ctx = reqctx.Update(ctx, func(v *reqctx.Values) { v.ClientID, _, _ = protocol.TokenClient(r) })
		case strings.HasSuffix(path, "/end_session"):
			s.endSession(w, r.WithContext(ctx), next)
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

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]any{"database": "ok"}
	code := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		status["database"] = "unreachable"
		code = http.StatusServiceUnavailable
	}
	if len(s.methods) > 0 {
		health, up := map[string]string{}, 0
		for _, name := range s.methodNames() {
			if s.methods[name].plugin.Healthy() {
				health[name] = "ok"
				up++
			} else {
				health[name] = "down"
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
