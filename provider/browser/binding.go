package browser

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/stepup-mfa/stepup/provider/protocol"
)

const bindingCookiePrefix = "stepup_req_"

// bindingCookie is the cookie of a request's browser binding, without
// its value.
func (b *Browser) bindingCookie(requestID string) *http.Cookie {
	c := &http.Cookie{Name: bindingCookiePrefix + requestID, Path: "/login", HttpOnly: true, Secure: b.Secure, SameSite: http.SameSiteLaxMode}
	if b.Secure {
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

// Bind gives a new request its browser binding: the hash on the request,
// the value to set as its cookie (SetBinding). It is
// protocol.Storage.Bind.
func Bind(a *protocol.AuthRequest) {
	a.Binding, a.Data.Binding = newBinding()
}

// SetBinding gives the browser the cookie of a request just created.
func (b *Browser) SetBinding(w http.ResponseWriter, ar *protocol.AuthRequest) {
	if ar.Binding == "" {
		return
	}
	c := b.bindingCookie(ar.GetID())
	c.Value, c.MaxAge = ar.Binding, int(b.RequestTTL/time.Second)
	http.SetCookie(w, c)
}

// ClearBinding deletes a request's cookie: its login has ended.
func (b *Browser) ClearBinding(w http.ResponseWriter, id string) {
	c := b.bindingCookie(id)
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// Bound says whether r comes from the browser that started ar.
// A request without a binding (stored before bindings existed) belongs to
// no browser.
func (b *Browser) Bound(r *http.Request, ar *protocol.AuthRequest) bool {
	c, err := r.Cookie(b.bindingCookie(ar.Stored.ID).Name)
	if err != nil || ar.Data.Binding == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(bindingHash(c.Value)), []byte(ar.Data.Binding)) == 1
}
