package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"
)

//go:embed static/stepup.css
var staticFS embed.FS

// StylesheetPath is where stepup serves its one stylesheet.
const StylesheetPath = "/static/stepup.css"

var (
	stylesheet, _ = staticFS.ReadFile("static/stepup.css")
	styleSum      = sha256.Sum256(stylesheet)
	// styleVersion names this build's stylesheet in the pages' links, so
	// that a browser may keep it for a year and still fetches a new one
	// after an upgrade.
	styleVersion = hex.EncodeToString(styleSum[:6])
	styleETag    = `"` + hex.EncodeToString(styleSum[:16]) + `"`
)

// stylesheetURL is the link every page uses.
func stylesheetURL() string { return StylesheetPath + "?v=" + styleVersion }

// Stylesheet serves the stylesheet: cacheable for a year (immutable) when
// asked for by this build's version, with an ETag either way.
func Stylesheet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("ETag", styleETag)
		if r.URL.Query().Get("v") == styleVersion {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=300")
		}
		http.ServeContent(w, r, "stepup.css", time.Time{}, bytes.NewReader(stylesheet))
	})
}

// UI is what every page shows of the deployment (config ui).
type UI struct {
	ProductName string
	LogoURL     string // an https: URL or a path on this origin; "" for none
	SupportText string
}

// imgSources is the CSP img-src of the pages: this origin (a logo path),
// data: (QR codes), and the logo's origin when it is elsewhere.
func (u UI) imgSources() string {
	src := "'self' data:"
	if l, err := url.Parse(u.LogoURL); err == nil && l.Scheme == "https" && l.Host != "" {
		src += " https://" + l.Host
	}
	return src
}

// webAuthnScript is the one script stepup's pages use: the browser side of
// a WebAuthn ceremony (see Page.Ceremony). It is served from stepup's own
// origin, so the pages that need it allow script-src 'self' and nothing
// more.
//
//go:embed static/webauthn.js
var webAuthnScript []byte

// WebAuthnScriptPath is where stepup serves webAuthnScript.
const WebAuthnScriptPath = "/static/webauthn.js"

// ServeWebAuthnScript serves the ceremony script.
func ServeWebAuthnScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(webAuthnScript)
}
