package provider

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// A sign-in request belongs to the browser that started it. Where a
// request is created, that browser gets a random cookie of its own, named
// after the request; the request keeps only the cookie's hash. Every step
// of the login (/login, /login/verify) needs the cookie, so a link to
// someone else's request (/login?id=R) is an error page in any other
// browser, however signed in it is: an attacker cannot have a victim's
// session complete a request whose code the attacker then redeems.
//
// A cookie per request, not one per browser, so that a request created by
// a cross-site POST (which carries no SameSite=Lax cookie) never re-keys
// the sign-ins of the browser's other tabs. The cookie lives as long as the
// request can and is deleted when the login ends. Over https its name
// has the __Host- prefix, so that no sibling subdomain can plant one.

const bindingCookiePrefix = "stepup_req_"

// errRequestCompleted: a completion found the request done already.
var errRequestCompleted = errors.New("auth request already completed")

// bindingCookie is the cookie of a request's browser binding, without
// its value.
func (s *Server) bindingCookie(requestID string) *http.Cookie {
	c := &http.Cookie{Name: bindingCookiePrefix + requestID, Path: "/login", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if s.secure {
		c.Name, c.Path = "__Host-"+c.Name, "/"
	}
	return c
}

// newBinding returns a browser binding's cookie value and the hash the
// request keeps.
func newBinding() (value, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	value = base64.RawURLEncoding.EncodeToString(b)
	return value, bindingHash(value)
}

func bindingHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// bind gives a new request its browser binding: the hash on the request,
// the value to set as its cookie (setBindingCookie).
func bind(a *protocol.AuthRequest) {
	a.Binding, a.Data.Binding = newBinding()
}

// setBindingCookie gives the browser the cookie of a request just created.
func (s *Server) setBindingCookie(w http.ResponseWriter, ar *protocol.AuthRequest) {
	if ar.Binding == "" {
		return
	}
	c := s.bindingCookie(ar.GetID())
	c.Value, c.MaxAge = ar.Binding, int(s.cfg.Tokens.AuthRequestTTL/time.Second)
	http.SetCookie(w, c)
}

// clearBindingCookie deletes a request's cookie: its login has ended.
func (s *Server) clearBindingCookie(w http.ResponseWriter, id string) {
	c := s.bindingCookie(id)
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// boundToBrowser says whether r comes from the browser that started ar.
// A request without a binding (stored before bindings existed) belongs to
// no browser.
func (s *Server) boundToBrowser(r *http.Request, ar *protocol.AuthRequest) bool {
	c, err := r.Cookie(s.bindingCookie(ar.Stored.ID).Name)
	if err != nil || ar.Data.Binding == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(bindingHash(c.Value)), []byte(ar.Data.Binding)) == 1
}

// refuseForeign answers a step of a request that is done or belongs to
// another browser, and audits it: either may be an attack on the request.
func (s *Server) refuseForeign(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, completed bool) {
	reason, msg, status := "other browser", web.MsgForeignRequest, http.StatusForbidden
	if completed {
		reason, msg, status = "already completed", web.MsgRequestCompleted, http.StatusConflict
	}
	s.audit(r.Context(), storage.Event{Type: "login.request_refused", UserID: ar.Stored.UserID, ClientID: ar.GetClientID(), Outcome: "denied",
		Details: map[string]string{"reason": reason, "path": r.URL.Path}})
	s.web.Message(w, r, status, web.TitleCannotContinueSignIn, msg)
}
