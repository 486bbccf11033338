package browser

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/secrets"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

const sessionCookie = "stepup_session"

// Browser reads and writes what a browser holds of stepup.
type Browser struct {
	Store   storage.Store
	Cookies *sessions.CookieStore // NewCookies
	Now     func() time.Time
	// SessionTTL is session.ttl; RequestTTL is tokens.auth_request_ttl,
	// how long a request's binding cookie lives.
	SessionTTL, RequestTTL time.Duration
	// Secure: the issuer is https (Secure and __Host- cookies).
	Secure bool
	Web    web.Pages
}

// NewCookies is the session cookie's store: signed and encrypted with
// keys of s, for ttl, Secure when secure.
func NewCookies(s *secrets.Secrets, ttl time.Duration, secure bool) *sessions.CookieStore {
	cs := sessions.NewCookieStore(s.CookieHash, s.CookieBlock)
	for _, c := range cs.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(cookieValues{})
		}
	}
	cs.MaxAge(int(ttl.Seconds()))
	cs.Options.HttpOnly = true
	cs.Options.SameSite = http.SameSiteLaxMode
	cs.Options.Secure = secure
	cs.Options.Path = "/"
	return cs
}

// SessionID returns the browser's session ID, or "" when the cookie is
// absent, stale or forged.
func (b *Browser) SessionID(r *http.Request) string {
	cs, err := b.Cookies.Get(r, sessionCookie)
	if err != nil {
		return ""
	}
	sid, _ := cs.Values["sid"].(string)
	return sid
}

// HasSessionCookie reports whether the browser sent a session cookie at
// all, valid or not.
func (b *Browser) HasSessionCookie(r *http.Request) bool {
	_, err := r.Cookie(sessionCookie)
	return err == nil
}

// Session loads the server side of the browser's session and its
// signed-in user, in one read. A missing or expired session is a zero
// Session; the User is zero unless the session's user exists and is
// active. Neither is an error.
func (b *Browser) Session(r *http.Request) (storage.Session, storage.User, error) {
	sid := b.SessionID(r)
	if sid == "" {
		return storage.Session{}, storage.User{}, nil
	}
	sess, user, err := b.Store.GetSessionUser(r.Context(), sid)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.Session{}, storage.User{}, nil
	case err != nil:
		return storage.Session{}, storage.User{}, err
	case !user.Active:
		return sess, storage.User{}, nil
	}
	return sess, user, nil
}

// NextSession is the session that records a completed factor. It always
// has a new ID (rotation when the level rises, SPEC §7) and keeps the
// earlier factors only when they belong to the same user.
func (b *Browser) NextSession(old storage.Session, userID string, f storage.Factor) storage.Session {
	now := b.Now()
	next := storage.Session{ID: protocol.NewID(24), UserID: userID, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(b.SessionTTL)}
	if old.ID != "" && old.UserID == userID {
		next.CreatedAt = old.CreatedAt
		for _, have := range old.Factors {
			// A method's new factor replaces its old one of the same kind;
			// a passkey that signed the user in stays their first factor
			// when the same method then steps them up.
			if have.Method != f.Method || have.First != f.First {
				next.Factors = append(next.Factors, have)
			}
		}
	}
	next.Factors = append(next.Factors, f)
	return next
}

// SetSession points the browser at the session id.
func (b *Browser) SetSession(w http.ResponseWriter, r *http.Request, id string) error {
	cs, _ := b.Cookies.Get(r, sessionCookie) // a stale cookie still yields a usable session
	cs.Values["sid"] = id
	return cs.Save(r, w)
}

// ExpireSession tells the browser to drop its session cookie.
func (b *Browser) ExpireSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: b.Secure, SameSite: http.SameSiteLaxMode})
}

// Factors translates a session's factors for authflow.
func Factors(fs []storage.Factor) []authflow.Factor {
	out := make([]authflow.Factor, 0, len(fs))
	for _, f := range fs {
		out = append(out, authflow.Factor{Method: f.Method, First: f.First, Both: f.Both, Levels: f.Levels, AMR: f.AMR, Time: f.Time})
	}
	return out
}

// StartLogin sends the browser through the login for one of stepup's own
// pages, asking for acr and max_age like a relying party would, and comes
// back to returnTo.
func (b *Browser) StartLogin(w http.ResponseWriter, r *http.Request, returnTo string, acr []string, maxAge *uint) {
	now := b.Now()
	ar := &protocol.AuthRequest{
		Stored: storage.AuthRequest{ID: protocol.NewID(16), CreatedAt: now, ExpiresAt: now.Add(b.RequestTTL)},
		Data:   protocol.AuthRequestData{Scopes: []string{"openid"}, ACRValues: acr, EssentialACR: len(acr) > 0, MaxAge: maxAge, Return: returnTo},
	}
	Bind(ar)
	if err := b.Store.CreateAuthRequest(r.Context(), ar.Encode()); err != nil {
		b.Web.ServerError(w, r, "create login", err)
		return
	}
	b.SetBinding(w, ar)
	http.Redirect(w, r, "/login?id="+ar.GetID(), http.StatusSeeOther)
}
