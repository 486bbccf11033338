package provider

import (
	"embed"
	"html/template"
	"net/http"

	"github.com/gorilla/csrf"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// page is what every template gets.
type page struct {
	Title     string
	CSRF      template.HTML
	RequestID string
	Username  string
	Error     string // tied to the form's fields with aria-describedby
	Notice    string
	// FormTarget is the CSP source of where the page's form may end: the
	// client's redirect URI (see authRequest.formTarget).
	FormTarget string

	// Method pages.
	Method      string
	MethodLabel string
	Prompt      string
	Fields      []sdkField
	Others      []link
	Locked      []string

	Account accountView
	Enrol   enrolView
	Admin   adminView
	Logout  logoutView
}

// link is a named link ("use another method").
type link struct{ Name, Label string }

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.CSRF = csrf.TemplateField(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	formAction := "'self'"
	if p.FormTarget != "" {
		formAction += " " + p.FormTarget
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
	}
}

func (s *Server) renderMessage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	p := page{Title: title}
	if status >= 400 {
		p.Error = msg
	} else {
		p.Notice = msg
	}
	s.render(w, r, status, "message.html", p)
}

func (s *Server) handleCSRFError(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("csrf check failed", "path", r.URL.Path, "reason", csrf.FailureReason(r))
	s.renderMessage(w, r, http.StatusForbidden, "Form expired",
		"This form has expired or was sent from another site. Go back, reload the page and try again.")
}

func (s *Server) handleLoggedOut(w http.ResponseWriter, r *http.Request) {
	s.renderMessage(w, r, http.StatusOK, "Signed out", "You have been signed out. You can close this window.")
}
