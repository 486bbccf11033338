package protocol

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// A form_post page (OAuth 2.0 Form Post Response Mode) posts the
// authorization response to the client's redirect URI and submits itself
// when loaded. stepup's pages run no inline script: the page loads
// FormPostScriptPath from stepup's origin, shows a button to a browser
// without script, and carries a Content-Security-Policy that allows that
// script and a form to the client's origin, nothing else.

//go:embed formpost.js
var formPostScript []byte

// FormPostScriptPath is where the form_post pages' script is served.
const FormPostScriptPath = "/static/formpost.js"

// ServeFormPostScript serves the form_post pages' script.
func ServeFormPostScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(formPostScript)
}

const (
	formPostScriptTag = `<script src="` + FormPostScriptPath + `" defer></script>`
	formPostButton    = `<noscript><button type="submit">Return to the application</button></noscript>`
)

// formPostCSP is the Content-Security-Policy of a form_post page posting
// to redirectURI.
func formPostCSP(redirectURI string) string {
	return "default-src 'none'; script-src 'self'; form-action " + formTarget(redirectURI) +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// formTarget is the CSP source of redirectURI's origin: scheme, host and
// port for http(s), the scheme alone for an app's own scheme.
func formTarget(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	switch {
	case err != nil || u.Scheme == "":
		return "'none'"
	case u.Host != "" && (u.Scheme == "https" || u.Scheme == "http"):
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}

// formPostError is the page that posts an error back to a client that
// asked for response_mode=form_post: zitadel's form_post page carries a
// code or tokens only.
var formPostError = template.Must(template.New("form_post_error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Returning to the application</title></head>
<body>
<form method="post" action="{{.URI}}">
<input type="hidden" name="error" value="{{.Error}}">
{{with .Description}}<input type="hidden" name="error_description" value="{{.}}">{{end}}
{{with .State}}<input type="hidden" name="state" value="{{.}}">{{end}}
` + formPostButton + `
</form>` + formPostScriptTag + `</body></html>
`))

// WriteFormPostError answers with e posted to redirectURI, with the
// request's state: how an external-MFA client (SPEC §11) hears of a
// request stepup cannot satisfy. redirectURI must be one the client
// registered.
func WriteFormPostError(w http.ResponseWriter, redirectURI, state string, e *oidc.Error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", formPostCSP(redirectURI))
	w.WriteHeader(http.StatusOK)
	formPostError.Execute(w, struct{ URI, Error, Description, State string }{redirectURI, string(e.ErrorType), e.Description, state})
}

// zitadelOnload is how zitadel's form_post page submits itself.
var zitadelOnload = []byte(`<body onload="javascript:document.forms[0].submit()">`)

// SelfSubmitting returns the writer for zitadel's form_post page
// (op.AuthResponse of a request with response_mode=form_post) posting to
// redirectURI, and finish, to call once the page is written: the page is
// held until then, and sent with its inline onload replaced by the
// script, the button and the policy above. Any other answer is sent as
// it was written.
func SelfSubmitting(w http.ResponseWriter, redirectURI string) (_ http.ResponseWriter, finish func()) {
	p := &heldPage{ResponseWriter: w}
	return p, func() {
		body := p.body.Bytes()
		if p.status == http.StatusOK && bytes.Contains(body, zitadelOnload) {
			body = bytes.Replace(body, zitadelOnload, []byte("<body>"), 1)
			body = bytes.Replace(body, []byte("</form>"), []byte(formPostButton+"\n</form>"+formPostScriptTag), 1)
			w.Header().Set("Content-Security-Policy", formPostCSP(redirectURI))
			w.Header().Del("Content-Length")
		}
		if p.status != 0 {
			w.WriteHeader(p.status)
		}
		w.Write(body)
	}
}

// heldPage keeps a response until SelfSubmitting's finish sends it.
type heldPage struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (p *heldPage) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

func (p *heldPage) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return p.body.Write(b)
}
