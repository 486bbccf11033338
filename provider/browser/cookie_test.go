package browser

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// TestSessionCookieValues: the session cookie carries JSON, reads back,
// and a cookie written with gob (before JSON) still reads, so an upgrade
// signs nobody out.
func TestSessionCookieValues(t *testing.T) {
	hash, block := securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32)
	store := func(sz securecookie.Serializer) *sessions.CookieStore {
		cs := sessions.NewCookieStore(hash, block)
		if sz != nil {
			for _, c := range cs.Codecs {
				c.(*securecookie.SecureCookie).SetSerializer(sz)
			}
		}
		return cs
	}
	write := func(cs *sessions.CookieStore, sid string) string {
		t.Helper()
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		sess, _ := cs.Get(r, sessionCookie)
		sess.Values["sid"] = sid
		if err := sess.Save(r, w); err != nil {
			t.Fatal(err)
		}
		return w.Header().Get("Set-Cookie")
	}
	read := func(cs *sessions.CookieStore, cookie string) (string, error) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", strings.Split(cookie, ";")[0])
		sess, err := cs.Get(r, sessionCookie)
		sid, _ := sess.Values["sid"].(string)
		return sid, err
	}
	ours := store(cookieValues{})
	for name, cookie := range map[string]string{"json": write(ours, "sid-json"), "gob": write(store(nil), "sid-gob")} {
		sid, err := read(ours, cookie)
		if err != nil || sid != "sid-"+name {
			t.Errorf("%s cookie read as %q, %v", name, sid, err)
		}
	}
	if _, err := (cookieValues{}).Serialize(map[any]any{"sid": 42}); err == nil {
		t.Error("a value that is not a string serialized")
	}
	got, err := (cookieValues{}).Serialize(map[any]any{"sid": "abc"})
	if err != nil || string(got) != `{"sid":"abc"}` {
		t.Errorf("Serialize = %s, %v", got, err)
	}
}
