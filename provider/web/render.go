package web

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/gorilla/csrf"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{"stylesheet": stylesheetURL}).ParseFS(templateFS, "templates/*.html"))

// Pages renders stepup's pages.
type Pages struct {
	Log *slog.Logger // where a template that fails to render is logged
	UI  UI           // the product name, logo and support text every page shows
	// SignedIn tells whether a request comes from a signed-in browser, for
	// the sign-out link; nil: never.
	SignedIn func(*http.Request) bool
}

// Render writes the template name with p, under stepup's Content Security
// Policy (no script, but stepup's WebAuthn script where the page has a
// ceremony; no inline style: the stylesheet and images come from this
// origin, the logo's, or data:; the form ends at this origin or at
// p.FormTarget) and never cached; p.CSRF is the request's CSRF field,
// p.UI and p.SignedIn the deployment's and the request's.
func (ps Pages) Render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	p.CSRF = csrf.TemplateField(r)
	p.UI = ps.UI
	if p.UI.ProductName == "" {
		p.UI.ProductName = "stepup"
	}
	p.SignedIn = ps.SignedIn != nil && ps.SignedIn(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	formAction := "'self'"
	if p.FormTarget != "" {
		formAction += " " + p.FormTarget
	}
	script := ceremonyOf(&p)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src "+ps.UI.imgSources()+"; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'"+script)
	w.WriteHeader(status)
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		ps.Log.Error("render page", "page", name, "err", err)
	}
}

// ceremonyOf fills in the enrolment's WebAuthn ceremony, if it has one,
// and returns the CSP that lets a page with a ceremony run stepup's
// script: its own origin's, no inline script, nothing else.
func ceremonyOf(p *Page) string {
	for _, d := range p.Enrol.Displays {
		if d.Kind == sdk.DisplayWebAuthnCreation {
			p.Ceremony, p.CeremonyCreate = d.Text, true
		}
	}
	if p.Ceremony == "" && p.Passkey == nil {
		return ""
	}
	return "; script-src 'self'"
}

// Message writes a page that says msg under title: as an error for a
// status of 400 and above, else as a notice.
func (ps Pages) Message(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	p := Page{Title: title}
	if status >= 400 {
		p.Error = msg
	} else {
		p.Notice = msg
	}
	ps.Render(w, r, status, "message.html", p)
}

// ServerError logs what failed and writes the page of a server error,
// which says nothing of the cause.
func (ps Pages) ServerError(w http.ResponseWriter, r *http.Request, what string, err error) {
	ps.Log.Error(what, "err", err, "path", r.URL.Path)
	if storage.Unavailable(err) { // the database is away: a retry, not a failure
		w.Header().Set("Retry-After", "5")
		ps.Message(w, r, http.StatusServiceUnavailable, TitleUnavailable, MsgUnavailable)
		return
	}
	ps.Message(w, r, http.StatusInternalServerError, TitleServerError, MsgServerError)
}

// CSRFError is the page of a form that failed the CSRF check
// (csrf.ErrorHandler).
func (ps Pages) CSRFError(w http.ResponseWriter, r *http.Request) {
	ps.Log.Warn("csrf check failed", "path", r.URL.Path, "reason", csrf.FailureReason(r))
	ps.Message(w, r, http.StatusForbidden, TitleFormExpired, MsgFormExpired)
}

// LoggedOut is the page a logout without a redirect ends on.
func (ps Pages) LoggedOut(w http.ResponseWriter, r *http.Request) {
	ps.Message(w, r, http.StatusOK, TitleSignedOut, MsgSignedOut)
}

// SecurityHeaders sets the headers every answer carries; over https (an
// https issuer) also HSTS, so that browsers never try plain http again.
func SecurityHeaders(next http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin") // no-referrer would make browsers send "Origin: null" on our own forms
		h.Set("X-Frame-Options", "DENY")
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
