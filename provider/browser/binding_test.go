package browser

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/protocol"
)

// TestBindingCookie: the cookie that binds a request to its browser is
// HttpOnly and SameSite=Lax, lives as long as the request, and over https
// is a __Host- cookie, which no sibling subdomain can set; only its own
// value passes.
func TestBindingCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		b := &Browser{Secure: secure, RequestTTL: 30 * time.Minute}
		ar := &protocol.AuthRequest{}
		ar.Stored.ID = "req1"
		Bind(ar)
		rec := httptest.NewRecorder()
		b.SetBinding(rec, ar)
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("secure %v: cookies %v", secure, cookies)
		}
		c := cookies[0]
		wantName, wantPath := "stepup_req_req1", "/login"
		if secure {
			wantName, wantPath = "__Host-stepup_req_req1", "/"
		}
		if c.Name != wantName || c.Path != wantPath || c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 1800 {
			t.Fatalf("secure %v: cookie %+v", secure, c)
		}
		if c.Value == "" || c.Value == ar.Data.Binding {
			t.Fatalf("the request keeps the cookie's value, not its hash")
		}
		for value, want := range map[string]bool{c.Value: true, c.Value + "x": false, "": false} {
			r := httptest.NewRequest(http.MethodGet, "/login?id=req1", nil)
			r.AddCookie(&http.Cookie{Name: c.Name, Value: value})
			if got := b.Bound(r, ar); got != want {
				t.Errorf("secure %v: cookie value %q bound = %v, want %v", secure, value, got, want)
			}
		}
	}
}
