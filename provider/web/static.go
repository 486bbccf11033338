package web

import (
	_ "embed"
	"net/http"
)

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
