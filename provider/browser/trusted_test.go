package browser

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

func TestBrowserName(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                                   "Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0":             "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":                      "Safari on macOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                          "Firefox on Linux",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36":                   "Chrome on Android",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36":                           "Headless Chrome on Linux",
		"Go-http-client/1.1":              "Go HTTP client",
		"":                                "Unknown browser",
		"Mozilla/5.0 (X11; Linux x86_64)": "A browser on Linux",
	} {
		if got := BrowserName(ua); got != want {
			t.Errorf("BrowserName(%q) = %q, want %q", ua, got, want)
		}
	}
}

// Over https the trust cookie is Secure and __Host-, and a request that
// carries it finds the trust again, for its user only.
func TestTrustCookieOverHTTPS(t *testing.T) {
	now := time.Date(2040, time.May, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stepup.db"), storage.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tr := &Trust{Store: store, Now: clock, Secure: true, Config: config.TrustedBrowser{Enabled: true, Days: 7},
		Policy: authflow.Policy{Levels: []authflow.Level{{Name: "aal1"}, {Name: "aal2"}, {Name: "aal3"}}}}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "https://stepup.example/login/verify", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
	f := storage.Factor{Method: "key", Levels: []string{"aal2", "aal3"}, AMR: []string{"hwk"}, Time: now}
	b, err := tr.Remember(w, r, "u1", f, nil)
	if err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", cookies)
	}
	c := cookies[0]
	if c.Name != "__Host-stepup_trusted" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 7*24*3600 {
		t.Fatalf("cookie over https: %+v", c)
	}
	if b.Name != "Firefox on Linux" || !b.ExpiresAt.Equal(now.Add(7*24*time.Hour)) || !slices.Equal(b.Levels, []string{"aal2"}) {
		t.Fatalf("stored: %+v", b)
	}
	next := httptest.NewRequest("GET", "https://stepup.example/login", nil)
	next.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	look, err := tr.Lookup(next, "u1")
	if err != nil || !look.OK || look.Factor.Method != "key" || !look.Factor.Time.Equal(now) || !slices.Equal(look.Factor.Levels, []string{"aal2"}) {
		t.Fatalf("lookup: %v %+v", err, look)
	}
	if look, _ := tr.Lookup(next, "u2"); look.OK || look.Refused != RefusedOtherUser {
		t.Fatalf("another user's lookup: %+v", look)
	}
	off := *tr
	off.Config.Enabled = false
	if look, _ := off.Lookup(next, "u1"); look.OK || look.Refused != "" {
		t.Fatalf("lookup with trust off: %+v", look)
	}
}
