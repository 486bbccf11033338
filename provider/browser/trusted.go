package browser

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
)

const trustCookie = "stepup_trusted"

// Why a trust cookie the browser sent spares nothing (TrustLookup.Refused).
const (
	RefusedUnknown   = "unknown or expired"
	RefusedOtherUser = "another user's"
)

// Trust is "don't ask again on this browser" (SPEC §5): after a second
// factor a user may have the browser remembered, and then it stands in
// for that factor at the level just above the first (aal2) for
// trusted_browser.days. The browser holds an opaque random value in a
// cookie of its own; the store keeps its hash, the user it belongs to and
// the factor that earned it, so a user or an administrator can forget it
// and a cookie copied to another user's sign-in does nothing there.
//
// A nil *Trust, or one whose Config is not enabled, offers nothing and
// reads no cookie.
type Trust struct {
	Store  storage.Store
	Now    func() time.Time
	Policy authflow.Policy
	Config config.TrustedBrowser
	// Secure: the issuer is https (a Secure, __Host- cookie).
	Secure bool
}

// Enabled reports whether browsers may be trusted.
func (t *Trust) Enabled() bool { return t != nil && t.Config.Enabled }

// Days is how long a browser stays trusted.
func (t *Trust) Days() int { return t.Config.Days }

// Offered reports whether the challenge of a method declaring levels may
// offer "don't ask again": trusting is enabled, the method is no bypass
// (a temporary code never makes a browser trusted: the help desk issued
// it for one sign-in, not to enrol a device) and it reaches a level a
// trusted browser can stand in for.
func (t *Trust) Offered(bypass bool, levels []string) bool {
	return t.Enabled() && !bypass && len(authflow.TrustedLevels(t.Policy, levels)) > 0
}

func (t *Trust) cookie() *http.Cookie {
	c := &http.Cookie{Name: trustCookie, Path: "/", HttpOnly: true, Secure: t.Secure, SameSite: http.SameSiteLaxMode}
	if t.Secure {
		c.Name = "__Host-" + c.Name
	}
	return c
}

// Remember trusts the browser of r for userID, for the second factor f
// just completed: it stores the trust with the events made from it, in
// one write, and gives the browser its cookie. A trust of the user's that
// the browser held already (ticked again where it could not spare the
// factor: aal3, max_age) is replaced, so the account page lists the
// browser once. Call it before the response is written.
func (t *Trust) Remember(w http.ResponseWriter, r *http.Request, userID string, f storage.Factor, events func(storage.TrustedBrowser) []storage.Event) (storage.TrustedBrowser, error) {
	prev, _ := t.Lookup(r, userID) // at worst the old one stays listed until it expires
	value, hash := newBinding()
	now := t.Now()
	b := storage.TrustedBrowser{Hash: hash, ID: protocol.NewID(12), UserID: userID, Name: BrowserName(r.UserAgent()),
		Method: f.Method, Levels: authflow.TrustedLevels(t.Policy, f.Levels), AMR: f.AMR, CreatedAt: f.Time,
		ExpiresAt: now.Add(time.Duration(t.Days()) * 24 * time.Hour)}
	var evs []storage.Event
	if events != nil {
		evs = events(b)
	}
	if err := t.Store.CreateTrustedBrowser(r.Context(), b, evs...); err != nil {
		return b, err
	}
	c := t.cookie()
	c.Value, c.MaxAge = value, t.Days()*24*60*60
	http.SetCookie(w, c)
	if prev.Browser.UserID == userID && prev.Browser.ID != "" {
		_ = t.Store.DeleteTrustedBrowser(r.Context(), userID, prev.Browser.ID)
	}
	return b, nil
}

// TrustLookup is what the browser's trust cookie holds for a user.
type TrustLookup struct {
	// Browser is the stored trust the cookie names, when there is one.
	Browser storage.TrustedBrowser
	// OK: Browser is the user's and live; Factor is what it stands for.
	OK     bool
	Factor authflow.Factor
	// Refused says why a cookie that was sent spares nothing
	// (RefusedUnknown, RefusedOtherUser); "" when none was sent.
	Refused string
}

// Lookup reads the browser's trust cookie for userID. Without one, or
// with trusting disabled, it is the zero TrustLookup: a cookie is then
// ignored. The Factor of a trust stands at the time the trust was
// earned, so that max_age and prompt=login weigh it as the factor it
// was, and never above the levels TrustedLevels allows.
func (t *Trust) Lookup(r *http.Request, userID string) (TrustLookup, error) {
	if !t.Enabled() {
		return TrustLookup{}, nil
	}
	c, err := r.Cookie(t.cookie().Name)
	if err != nil || c.Value == "" {
		return TrustLookup{}, nil
	}
	b, err := t.Store.GetTrustedBrowser(r.Context(), bindingHash(c.Value))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return TrustLookup{Refused: RefusedUnknown}, nil
	case err != nil:
		return TrustLookup{}, err
	case b.UserID != userID:
		return TrustLookup{Browser: b, Refused: RefusedOtherUser}, nil
	}
	levels := authflow.TrustedLevels(t.Policy, b.Levels)
	return TrustLookup{Browser: b, OK: len(levels) > 0,
		Factor: authflow.Factor{Method: b.Method, Levels: levels, AMR: b.AMR, Time: b.CreatedAt}}, nil
}

// IsCurrent reports whether b is the trust of the browser of r.
func (t *Trust) IsCurrent(r *http.Request, b storage.TrustedBrowser) bool {
	c, err := r.Cookie(t.cookie().Name)
	return err == nil && c.Value != "" && bindingHash(c.Value) == b.Hash
}

// Clear tells the browser to drop its trust cookie.
func (t *Trust) Clear(w http.ResponseWriter) {
	c := t.cookie()
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// BrowserName names a browser for a person from its User-Agent: "Chrome
// on Linux", "Safari on iPhone"; "Unknown browser" when it says nothing
// recognisable. Only for display: a User-Agent proves nothing.
func BrowserName(ua string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	browser := ""
	switch {
	case has("Edg/", "EdgA/", "EdgiOS/"):
		browser = "Edge"
	case has("OPR/", "Opera"):
		browser = "Opera"
	case has("Firefox/", "FxiOS/"):
		browser = "Firefox"
	case has("HeadlessChrome/"):
		browser = "Headless Chrome"
	case has("Chromium/"):
		browser = "Chromium"
	case has("Chrome/", "CriOS/"):
		browser = "Chrome"
	case has("Safari/") && has("Version/"):
		browser = "Safari"
	case has("curl/"):
		browser = "curl"
	case has("Go-http-client/"):
		browser = "Go HTTP client"
	}
	system := ""
	switch {
	case has("iPhone"):
		system = "iPhone"
	case has("iPad"):
		system = "iPad"
	case has("Android"):
		system = "Android"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Windows"):
		system = "Windows"
	case has("Mac OS X", "Macintosh"):
		system = "macOS"
	case has("Linux", "X11"):
		system = "Linux"
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	return "Unknown browser"
}
