package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/protocol/edge"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). A request
// to end_session that carries a valid id_token_hint for the browser's user
// ends the session at once, as zitadel's handler does it; any other, while
// a session exists, gets a page asking the user to confirm (§2: the OP
// MUST ask when the hint is missing or names someone else), so that a
// link on another site cannot sign anybody out. The page posts, with a
// CSRF token, to /logout, which hands the same request to zitadel's
// handler. Ending the session also expires its cookie.

// logoutParams are the parameters of end_session that the confirmation
// carries over; id_token_hint is not one (the user confirms instead).
var logoutParams = []string{"client_id", "post_logout_redirect_uri", "state"}

// endSession answers zitadel's end_session endpoint (next).
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if err := r.ParseForm(); err != nil {
		h.Web.Message(w, r, http.StatusBadRequest, web.TitleCannotSignOut, web.MsgBadLogoutForm)
		return
	}
	sess, _, err := h.Browser.Session(r)
	if err != nil {
		h.Web.ServerError(w, r, "load session", err)
		return
	}
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		sub, ok := h.verifyLogoutHint(r, hint)
		switch {
		case ok && (sess.ID == "" || sub == sess.UserID):
			h.endSessionNow(w, r, sess.ID, next.ServeHTTP)
			return
		case !ok:
			h.Audit.Record(r.Context(), storage.Event{Type: "session.logout_hint_refused", UserID: sess.UserID,
				ClientID: r.Form.Get("client_id"), Outcome: "failure"})
			r.Form.Del("id_token_hint") // as if none was sent
		}
	}
	if sess.ID == "" { // nothing to end: zitadel redirects as the request asks
		h.endSessionNow(w, r, "", next.ServeHTTP)
		return
	}
	confirm := r.Clone(r.Context())
	q := url.Values{}
	for _, k := range logoutParams {
		if v := r.Form.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	confirm.Method, confirm.Body = http.MethodGet, http.NoBody
	confirm.URL = &url.URL{Path: "/logout", RawQuery: q.Encode()}
	confirm.RequestURI, confirm.Form, confirm.PostForm = confirm.URL.RequestURI(), nil, nil
	h.Pages.ServeHTTP(w, confirm)
}

// verifyLogoutHint returns the subject of an ID token stepup issued; an
// expired one will do (RP-Initiated Logout §2: the OP should accept it).
func (h *Handler) verifyLogoutHint(r *http.Request, hint string) (string, bool) {
	ctx := op.ContextWithIssuer(r.Context(), h.Config.Issuer)
	claims, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ctx, hint, h.OP.IDTokenHintVerifier(ctx))
	if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
		h.Log.Info("end_session: id_token_hint refused", "err", err)
		return "", false
	}
	return claims.GetSubject(), true
}

// handleLogoutConfirm shows the page that asks whether to sign out.
func (h *Handler) handleLogoutConfirm(w http.ResponseWriter, r *http.Request) {
	sess, user, err := h.Browser.Session(r)
	if err != nil {
		h.Web.ServerError(w, r, "load session", err)
		return
	}
	if sess.ID == "" {
		h.Web.Message(w, r, http.StatusOK, web.TitleSignedOut, web.MsgLogoutNotSignedIn)
		return
	}
	q := r.URL.Query()
	v := web.Logout{Message: web.MsgLogoutNoClient, State: q.Get("state")}
	if c, ok := h.Clients[q.Get("client_id")]; ok {
		v.Client, v.Message = c.GetID(), fmt.Sprintf(web.MsgLogoutClientFmt, c.GetID())
		if uri := q.Get("post_logout_redirect_uri"); uri != "" {
			if !slices.Contains(c.PostLogoutRedirectURIs(), uri) {
				h.Web.Message(w, r, http.StatusBadRequest, web.TitleCannotSignOut, fmt.Sprintf(web.MsgBadLogoutFmt, "post_logout_redirect_uri is not registered for this client"))
				return
			}
			v.PostLogoutRedirectURI = uri
		}
	}
	target := (&protocol.AuthRequest{Data: protocol.AuthRequestData{RedirectURI: v.PostLogoutRedirectURI}}).FormTarget()
	h.Web.Render(w, r, http.StatusOK, "logout.html", web.Page{Title: web.TitleSignOutConfirm, FormTarget: target, Username: user.Username, Logout: v})
}

// handleLogoutPost ends the session the user confirmed ending, through
// zitadel's end_session handler, without a hint.
func (h *Handler) handleLogoutPost(w http.ResponseWriter, r *http.Request) {
	q := url.Values{}
	for _, k := range logoutParams {
		if v := r.PostFormValue(k); v != "" {
			q.Set(k, v)
		}
	}
	end := r.Clone(r.Context())
	end.Method, end.Body = http.MethodGet, http.NoBody
	end.URL = &url.URL{Path: "/end_session", RawQuery: q.Encode()}
	end.RequestURI, end.Form, end.PostForm = end.URL.RequestURI(), q, url.Values{}
	h.endSessionNow(w, end, h.Browser.SessionID(r), func(w http.ResponseWriter, r *http.Request) {
		op.EndSession(w, r, h.OP)
	})
}

// endSessionNow runs zitadel's end_session handler (serve), which ends the
// session sid (TerminateSession), and expires the session cookie when it
// redirects; an error it answers becomes a page.
func (h *Handler) endSessionNow(w http.ResponseWriter, r *http.Request, sid string, serve func(http.ResponseWriter, *http.Request)) {
	ctx := op.ContextWithIssuer(r.Context(), h.Config.Issuer)
	if sid != "" {
		ctx = reqctx.Update(ctx, func(v *reqctx.Values) { v.SessionID = sid })
	}
	hadCookie := h.Browser.HasSessionCookie(r)
	viaUpstream := h.upstreamLogout(ctx, sid) // nil unless the upstream's session ends too
	c := &edge.ErrorCatcher{ResponseWriter: w,
		Catch: func(status int, _ http.Header) bool { return status >= 400 },
		Passes: func(status int) {
			if status >= 300 && status < 400 && hadCookie {
				h.Browser.ExpireSession(w)
			}
			if status >= 300 && status < 400 && viaUpstream != nil {
				w.Header().Set("Location", viaUpstream(w.Header().Get("Location")))
			}
		}}
	serve(c, r.WithContext(ctx))
	status, body := c.Caught()
	if status == 0 {
		return
	}
	var e edge.OAuthError
	_ = json.Unmarshal(body, &e)
	w.Header().Del("Content-Type")
	w.Header().Del("Content-Length")
	if status >= 500 || e.Description == "" {
		h.Web.ServerError(w, r, "end session", fmt.Errorf("zitadel answered %d: %s", status, body))
		return
	}
	h.Web.Message(w, r, status, web.TitleCannotSignOut, fmt.Sprintf(web.MsgBadLogoutFmt, e.Description))
}
