package protocol

import (
	"html/template"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// formPostError is the page that posts an error back to a client that
// asked for response_mode=form_post (OAuth 2.0 Form Post Response Mode):
// zitadel's form_post page carries a code or tokens only. It submits
// itself on load, and shows its button to a browser without script.
var formPostError = template.Must(template.New("form_post_error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Returning to the application</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{{.URI}}">
<input type="hidden" name="error" value="{{.Error}}">
{{with .Description}}<input type="hidden" name="error_description" value="{{.}}">{{end}}
{{with .State}}<input type="hidden" name="state" value="{{.}}">{{end}}
<noscript><button type="submit">Return to the application</button></noscript>
</form></body></html>
`))

// WriteFormPostError answers with e posted to redirectURI, with the
// request's state: how an external-MFA client (SPEC §11) hears of a
// request stepup cannot satisfy. redirectURI must be one the client
// registered.
func WriteFormPostError(w http.ResponseWriter, redirectURI, state string, e *oidc.Error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	formPostError.Execute(w, struct{ URI, Error, Description, State string }{redirectURI, string(e.ErrorType), e.Description, state})
}
