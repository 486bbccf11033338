package provider

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// reverifyWithin is how recent a second factor must be before a user who
// already has a method may add or remove one.
const reverifyWithin = 10 * time.Minute

// enrolNamespace keeps pending enrolments' page data (sealed) so that a
// wrong first code can show the same QR code again, on any replica.
const enrolNamespace = "provider/enrolments"

// displayLinkSchemes are the schemes a display may link to: a web page, an
// authenticator app.
var displayLinkSchemes = []string{"https://", "otpauth://"}

// pendingEnrolment is what the enrolment page shows, kept until confirmed.
type pendingEnrolment struct {
	Method   string          `json:"method"`
	UserID   string          `json:"user_id"`
	Prompt   string          `json:"prompt"`
	Fields   []web.FormField `json:"fields"`
	Displays []sdk.Display   `json:"displays,omitempty"`
}

// accountUser returns the signed-in user of the browser, or starts a
// login that comes back to returnTo (and returns ok=false).
func (s *Server) accountUser(w http.ResponseWriter, r *http.Request, returnTo string) (storage.Session, storage.User, bool) {
	sess, u, err := s.browserSession(r)
	if err != nil {
		s.serverError(w, r, "load session", err)
		return sess, storage.User{}, false
	}
	if u.ID != "" {
		return sess, u, true
	}
	s.startOwnLogin(w, r, returnTo, nil, nil)
	return sess, storage.User{}, false
}

// startOwnLogin sends the browser through the login for one of stepup's
// own pages, asking for acr and max_age like a relying party would.
func (s *Server) startOwnLogin(w http.ResponseWriter, r *http.Request, returnTo string, acr []string, maxAge *uint) {
	now := s.now()
	ar := &protocol.AuthRequest{
		Stored: storage.AuthRequest{ID: protocol.NewID(16), CreatedAt: now, ExpiresAt: now.Add(s.cfg.Tokens.AuthRequestTTL)},
		Data:   protocol.AuthRequestData{Scopes: []string{"openid"}, ACRValues: acr, EssentialACR: len(acr) > 0, MaxAge: maxAge, Return: returnTo},
	}
	bind(ar)
	if err := s.store.CreateAuthRequest(r.Context(), ar.Encode()); err != nil {
		s.serverError(w, r, "create login", err)
		return
	}
	s.setBindingCookie(w, ar)
	http.Redirect(w, r, "/login?id="+ar.GetID(), http.StatusSeeOther)
}

// hasRecentSecondFactor reports whether the session completed a second
// factor within reverifyWithin.
func (s *Server) hasRecentSecondFactor(sess storage.Session) bool {
	for _, f := range sess.Factors {
		if !f.First && s.now().Sub(f.Time) < reverifyWithin {
			return true
		}
	}
	return false
}

// requireReverify makes a user who already has a method prove a second
// factor again before changing them. It returns false when it has sent
// the browser to do so.
func (s *Server) requireReverify(w http.ResponseWriter, r *http.Request, sess storage.Session, u storage.User, returnTo string) bool {
	if s.hasRecentSecondFactor(sess) {
		return true
	}
	any := false
	for _, name := range s.methodNames() {
		m := s.methods[name]
		if !m.desc.NeedsEnrolment || !m.plugin.Healthy() {
			continue
		}
		if creds, err := s.credentials(r.Context(), m, u.ID); err == nil && len(creds) > 0 {
			any = true
			break
		}
	}
	if !any {
		return true // nothing to prove yet: the first method is set up with the password
	}
	maxAge := uint(reverifyWithin.Seconds())
	level := s.policy.Levels[min(1, len(s.policy.Levels)-1)].Canonical()
	s.startOwnLogin(w, r, returnTo, []string{level}, &maxAge)
	return false
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	_, u, ok := s.accountUser(w, r, "/account")
	if !ok {
		return
	}
	ctx := r.Context()
	p := web.Page{Title: web.TitleAccount, Username: u.Username}
	switch r.URL.Query().Get("done") {
	case "added":
		p.Notice = "The method was added."
	case "removed":
		p.Notice = "The method was removed."
	}
	for _, name := range s.methodNames() {
		m := s.methods[name]
		if !m.desc.NeedsEnrolment {
			continue
		}
		am := web.AccountMethod{Name: name, Label: s.displayName(name), Healthy: m.plugin.Healthy(), SelfService: !m.desc.Bypass,
			RemoveLabel: cmp.Or(m.desc.Removal.Label, web.MsgRemove)}
		if am.Healthy {
			creds, err := s.credentials(ctx, m, u.ID)
			if err != nil {
				am.Healthy = false
			}
			for _, c := range creds {
				am.Credentials = append(am.Credentials, web.Credential{Method: name, ID: c.ID, Label: c.Label,
					Added: c.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")})
			}
		}
		p.Account.Methods = append(p.Account.Methods, am)
	}
	events, err := s.store.ListEvents(ctx, storage.EventFilter{UserID: u.ID, Limit: 10})
	if err != nil {
		s.serverError(w, r, "list events", err)
		return
	}
	for _, e := range events {
		line := e.Time.UTC().Format("2006-01-02 15:04 UTC") + ": " + e.Type
		if m := e.Details["method"]; m != "" {
			line += " (" + s.displayName(m) + ")"
		}
		if e.RemoteAddr != "" {
			line += " from " + e.RemoteAddr
		}
		p.Account.Events = append(p.Account.Events, line)
	}
	s.web.Render(w, r, http.StatusOK, "account.html", p)
}

// enrolUser admits a signed-in user, recently re-verified if they have a
// method already, to add a method that users enrol themselves.
func (s *Server) enrolUser(w http.ResponseWriter, r *http.Request, name, returnTo string) (storage.User, *method, bool) {
	sess, u, ok := s.accountUser(w, r, returnTo)
	if !ok {
		return u, nil, false
	}
	m, ok := s.enrollableMethod(name)
	if !ok {
		s.web.Message(w, r, http.StatusNotFound, web.TitleUnknownMethod, web.MsgNoMethodToAdd)
		return u, nil, false
	}
	if !s.requireReverify(w, r, sess, u, "/account/enrol?method="+url.QueryEscape(name)) {
		return u, nil, false
	}
	return u, m, true
}

func (s *Server) enrollableMethod(name string) (*method, bool) {
	m, ok := s.methods[name]
	return m, ok && m.desc.NeedsEnrolment
}

// handleEnrolStart begins adding a method: at once, or, for a method that
// asks for something first (its EnrolFields, such as a phone number), with
// the form that asks for it.
func (s *Server) handleEnrolStart(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("method")
	u, m, ok := s.enrolUser(w, r, name, "/account/enrol?method="+url.QueryEscape(name))
	if !ok {
		return
	}
	if len(m.desc.EnrolFields) > 0 {
		s.renderEnrolStart(w, r, http.StatusOK, name, nil, "")
		return
	}
	s.enrol(w, r, u, m, nil)
}

// handleEnrolParams starts an enrolment with what the user entered in the
// method's EnrolFields.
func (s *Server) handleEnrolParams(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("method")
	u, m, ok := s.enrolUser(w, r, name, "/account/enrol?method="+url.QueryEscape(name))
	if !ok {
		return
	}
	params := map[string]string{}
	for _, f := range m.desc.EnrolFields {
		params[f.Name] = strings.TrimSpace(r.PostFormValue(f.Name))
	}
	s.enrol(w, r, u, m, params)
}

// enrol calls Enrol and shows what it returned, with the form that
// confirms it.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request, u storage.User, m *method, params map[string]string) {
	ctx := r.Context()
	var e sdk.Enrolment
	err := s.timed(m.name, "enrol", func() (err error) {
		e, err = m.plugin.Enrol(ctx, sdk.EnrolRequest{User: sdkUser(u), Params: params})
		return err
	})
	if errors.Is(err, sdk.ErrInvalidInput) && len(m.desc.EnrolFields) > 0 { // the plugin's words, on the same form
		s.renderEnrolStart(w, r, http.StatusBadRequest, m.name, params, sdk.UserMessage(err))
		return
	}
	if err != nil {
		s.accountError(w, r, m.name, err)
		return
	}
	pe := pendingEnrolment{Method: m.name, UserID: u.ID, Prompt: e.Prompt, Fields: fieldsOf(e.Fields), Displays: displaysOf(e)}
	raw, _ := json.Marshal(pe)
	expires := e.ExpiresAt
	if expires.IsZero() {
		expires = s.now().Add(10 * time.Minute)
	}
	if _, err := s.store.KVPut(ctx, enrolNamespace, e.ID, s.secrets.Seal(raw, []byte(enrolNamespace+e.ID)), 0, expires, s.now()); err != nil {
		s.serverError(w, r, "keep enrolment", err)
		return
	}
	s.renderEnrol(w, r, http.StatusOK, e.ID, pe, "")
}

// displaysOf is what an enrolment shows: its Displays, or what a method of
// an earlier sdk showed (a QR code, an otpauth:// link, a key).
func displaysOf(e sdk.Enrolment) []sdk.Display {
	if len(e.Displays) > 0 {
		return e.Displays
	}
	var out []sdk.Display
	if len(e.ImagePNG) > 0 {
		out = append(out, sdk.Display{Kind: sdk.DisplayImage, Label: web.LegacyQRLabel, PNG: e.ImagePNG})
	}
	if uri := e.Display["otpauth_uri"]; uri != "" {
		out = append(out, sdk.Display{Kind: sdk.DisplayLink, Label: web.LegacyLinkLabel, Value: uri})
	}
	if key := e.Display["secret"]; key != "" {
		out = append(out, sdk.Display{Kind: sdk.DisplaySecret, Label: web.LegacySecretLabel, Value: key})
	}
	return out
}

// displayViews prepares displays for the template, leaving out (and
// logging) what a page cannot show safely: a link to another scheme, an
// image that is not a PNG.
func (s *Server) displayViews(method string, ds []sdk.Display) []web.Display {
	var out []web.Display
	for _, d := range ds {
		v := web.Display{Kind: d.Kind, Label: d.Label, Text: d.Value, Values: d.Values}
		ok := true
		switch d.Kind {
		case sdk.DisplayText, sdk.DisplaySecret, sdk.DisplayCodes:
		case sdk.DisplayLink:
			ok = slices.ContainsFunc(displayLinkSchemes, func(p string) bool { return strings.HasPrefix(d.Value, p) })
			v.URL = template.URL(d.Value) // a scheme html/template does not know; checked above
		case sdk.DisplayImage:
			cfg, err := png.DecodeConfig(bytes.NewReader(d.PNG))
			ok = err == nil
			v.PNG, v.Width, v.Height = base64.StdEncoding.EncodeToString(d.PNG), cfg.Width, cfg.Height
		default:
			ok = false
		}
		if !ok {
			s.log.Warn("enrolment display not shown", "method", method, "kind", d.Kind)
			continue
		}
		out = append(out, v)
	}
	return out
}

// renderEnrolStart shows the form of a method's EnrolFields.
func (s *Server) renderEnrolStart(w http.ResponseWriter, r *http.Request, status int, name string, values map[string]string, errMsg string) {
	p := web.Page{Title: fmt.Sprintf(web.TitleAddFmt, s.displayName(name)), Method: name, Error: errMsg}
	for _, f := range fieldsOf(s.methods[name].desc.EnrolFields) {
		p.Enrol.Start = append(p.Enrol.Start, web.Field{FormField: f, Value: values[f.Name]})
	}
	s.web.Render(w, r, status, "enrol.html", p)
}

func (s *Server) renderEnrol(w http.ResponseWriter, r *http.Request, status int, id string, pe pendingEnrolment, errMsg string) {
	p := web.Page{Title: fmt.Sprintf(web.TitleAddFmt, s.displayName(pe.Method)), Method: pe.Method, Prompt: pe.Prompt, Fields: pe.Fields, Error: errMsg}
	p.Enrol = web.Enrol{ID: id, Displays: s.displayViews(pe.Method, pe.Displays)}
	s.web.Render(w, r, status, "enrol.html", p)
}

// handleEnrolConfirm completes an enrolment with the user's first
// response; a post without an enrolment is the start of one, from the form
// of the method's EnrolFields.
func (s *Server) handleEnrolConfirm(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("enrolment") == "" {
		s.handleEnrolParams(w, r)
		return
	}
	name := r.PostFormValue("method")
	u, m, ok := s.enrolUser(w, r, name, "/account")
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PostFormValue("enrolment")
	entry, err := s.store.KVGet(ctx, enrolNamespace, id, s.now())
	var pe pendingEnrolment
	if err == nil {
		var raw []byte
		if raw, err = s.secrets.Open(entry.Value, []byte(enrolNamespace+id)); err == nil {
			err = json.Unmarshal(raw, &pe)
		}
	}
	if err != nil || pe.UserID != u.ID || pe.Method != name {
		s.web.Message(w, r, http.StatusBadRequest, web.TitleStartAgain, web.MsgEnrolmentExpired)
		return
	}
	response := map[string]string{}
	for _, f := range pe.Fields {
		response[f.Name] = r.PostFormValue(f.Name)
	}
	label := strings.TrimSpace(r.PostFormValue("label"))
	var cred sdk.Credential
	err = s.timed(name, "confirm", func() (err error) {
		cred, err = m.plugin.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: sdkUser(u), EnrolmentID: id, Label: label, Response: response})
		return err
	})
	switch {
	case errors.Is(err, sdk.ErrInvalidResponse):
		s.audit(ctx, storage.Event{Type: "method.add_failed", UserID: u.ID, Outcome: "failure", Details: map[string]string{"method": name}})
		s.renderEnrol(w, r, http.StatusUnauthorized, id, pe, web.MsgWrongResponse)
		return
	case errors.Is(err, sdk.ErrInvalidInput): // the plugin's own words, on the same form
		s.renderEnrol(w, r, http.StatusBadRequest, id, pe, sdk.UserMessage(err))
		return
	case err != nil:
		s.accountError(w, r, name, err)
		return
	}
	_ = s.store.KVDelete(ctx, enrolNamespace, id, -1)
	s.audit(ctx, storage.Event{Type: "method.added", UserID: u.ID, Outcome: "success",
		Details: map[string]string{"method": name, "credential": cred.ID, "label": cred.Label}})
	s.notifyMethodAdded(u, s.displayName(name)+" ("+cred.Label+")", remoteAddr(ctx))
	http.Redirect(w, r, "/account?done=added", http.StatusSeeOther)
}

func (s *Server) handleRemove(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := s.accountUser(w, r, "/account")
	if !ok {
		return
	}
	name, credID := r.PostFormValue("method"), r.PostFormValue("credential")
	m, ok := s.enrollableMethod(name)
	if !ok {
		s.web.Message(w, r, http.StatusNotFound, web.TitleUnknownMethod, web.MsgNoSuchMethod)
		return
	}
	// After re-verifying the user lands on the account page and presses
	// Remove again: a form post cannot be replayed through a redirect.
	if !m.desc.Removal.NoReverify && !s.requireReverify(w, r, sess, u, "/account") {
		return
	}
	ctx := r.Context()
	err := s.timed(name, "remove", func() error { return m.plugin.Remove(ctx, u.ID, credID) })
	if err != nil {
		s.accountError(w, r, name, err)
		return
	}
	s.audit(ctx, storage.Event{Type: cmp.Or(m.desc.Removal.Event, "method.removed"), UserID: u.ID, Outcome: "success",
		Details: map[string]string{"method": name, "credential": credID}})
	http.Redirect(w, r, "/account?done=removed", http.StatusSeeOther)
}

// accountError shows what a failed plugin call on the account page means.
func (s *Server) accountError(w http.ResponseWriter, r *http.Request, name string, err error) {
	switch {
	case errors.Is(err, sdk.ErrAlreadyEnrolled):
		s.web.Message(w, r, http.StatusConflict, web.TitleAlreadySetUp, fmt.Sprintf(web.MsgAlreadySetUpFmt, s.displayName(name)))
	case errors.Is(err, sdk.ErrNotFound):
		s.web.Message(w, r, http.StatusNotFound, web.TitleNotFound, web.MsgMethodGone)
	case errors.Is(err, sdk.ErrRateLimited):
		until, _ := sdk.RetryAfter(err)
		s.web.Message(w, r, http.StatusTooManyRequests, web.TitleTooManyAttempts, fmt.Sprintf(web.MsgRateLimited, until.Format("15:04")))
	case errors.Is(err, sdk.ErrInvalidInput):
		s.web.Message(w, r, http.StatusBadRequest, web.TitleCheckInput, sdk.UserMessage(err))
	default:
		s.log.Warn("account", "method", name, "err", err)
		s.web.Message(w, r, http.StatusServiceUnavailable, web.TitleNotAvailable, web.MsgMethodDown)
	}
}

// notifyMethodAdded emails the user (SPEC §6) without making the page wait
// for the mail server.
func (s *Server) notifyMethodAdded(u storage.User, what, from string) {
	if !s.cfg.Notify.MethodAddedEmail || s.mailer == nil || u.Email == "" {
		return
	}
	msg := notify.MethodAdded(u.Email, u.Username, what, s.now(), from)
	s.notifying.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.mailer.Send(ctx, msg); err != nil {
			s.log.Warn("method-added email not sent", "user", u.ID, "err", err)
		}
	})
}

func remoteAddr(ctx context.Context) string {
	a := reqctx.From(ctx).RemoteAddr
	return a
}
