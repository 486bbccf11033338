package account

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// reverifyWithin is how recent a second factor must be before a user who
// already has a method may add or remove one.
const reverifyWithin = 10 * time.Minute

// enrolNamespace keeps pending enrolments' page data (sealed) so that a
// wrong first code can show the same QR code again, on any replica: one
// per user and method (pendingKey). The newest enrolment of a method is
// the one that counts, as the methods keep one pending enrolment per user:
// a page it replaced (the page opened again) is gone, its codes with it.
const enrolNamespace = "provider/enrolments"

func pendingKey(userID, method string) string { return userID + "/" + method }

// pendingEnrolment is what the enrolment page shows, kept until confirmed.
type pendingEnrolment struct {
	ID       string        `json:"id"`
	Method   string        `json:"method"`
	UserID   string        `json:"user_id"`
	Prompt   string        `json:"prompt"`
	Fields   []sdk.Field   `json:"fields"`
	Displays []sdk.Display `json:"displays,omitempty"`
	// Resume is the sign-in request to go on with once confirmed (resumeParam).
	Resume  string `json:"resume,omitempty"`
	version int64  // of the entry read (pending)
}

// accountUser returns the signed-in user of the browser, or starts a
// login that comes back to returnTo (and returns ok=false).
func (h *Handler) accountUser(w http.ResponseWriter, r *http.Request, returnTo string) (storage.Session, storage.User, bool) {
	sess, u, err := h.Browser.Session(r)
	if err != nil {
		h.Web.ServerError(w, r, "load session", err)
		return sess, storage.User{}, false
	}
	if u.ID != "" {
		return sess, u, true
	}
	h.Browser.StartLogin(w, r, returnTo, nil, nil)
	return sess, storage.User{}, false
}

// hasRecentSecondFactor reports whether the session completed a second
// factor within reverifyWithin.
func (h *Handler) hasRecentSecondFactor(sess storage.Session) bool {
	for _, f := range sess.Factors {
		if !f.First && h.Now().Sub(f.Time) < reverifyWithin {
			return true
		}
	}
	return false
}

// requireReverify makes a user who already has a method prove a second
// factor again before changing them. It returns false when it has sent
// the browser to do so.
func (h *Handler) requireReverify(w http.ResponseWriter, r *http.Request, sess storage.Session, u storage.User, returnTo string) bool {
	if h.hasRecentSecondFactor(sess) {
		return true
	}
	any := false
	for _, m := range h.Methods.All() {
		if !m.NeedsEnrolment() || !m.Healthy() {
			continue
		}
		if creds, err := m.ListCredentials(r.Context(), u.ID); err == nil && len(creds) > 0 {
			any = true
			break
		}
	}
	if !any {
		return true // nothing to prove yet: the first method is set up with the password
	}
	maxAge := uint(reverifyWithin.Seconds())
	level := h.Policy.Levels[min(1, len(h.Policy.Levels)-1)].Canonical()
	h.Browser.StartLogin(w, r, returnTo, []string{level}, &maxAge)
	return false
}

func (h *Handler) handleAccount(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.accountUser(w, r, "/account")
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
	case "forgotten":
		p.Notice = web.MsgBrowserForgotten
	case "preferred":
		p.Notice = web.MsgPreferredSet
	case "renamed":
		p.Notice = web.MsgRenamed
	}
	preferred, err := methods.Preferred(ctx, h.Store, u.ID, h.Now())
	if err != nil {
		h.Web.ServerError(w, r, "preferred method", err)
		return
	}
	held := map[string][]sdk.Credential{} // the user's credentials by method
	for _, m := range h.Methods.All() {
		name, desc := m.Name(), m.Description()
		if !desc.NeedsEnrolment {
			continue
		}
		am := web.AccountMethod{Name: name, Label: h.Methods.DisplayName(name), Healthy: m.Healthy(),
			SelfService: !desc.Bypass && !desc.Managed, RemoveLabel: cmp.Or(desc.Removal.Label, web.MsgRemove),
			Renamable: desc.Renamable && !desc.Managed}
		if desc.Managed {
			am.RemoveLabel = "" // no Remove button: an administrator gave it
		}
		if am.Healthy {
			creds, err := m.ListCredentials(ctx, u.ID)
			if err != nil {
				am.Healthy = false
			}
			for _, c := range creds {
				am.Credentials = append(am.Credentials, web.Credential{Method: name, ID: c.ID, Label: c.Label,
					Added: addedOn(c.CreatedAt), Warning: c.Warning, Note: c.Note, LastUsed: lastUsed(c.LastUsedAt)})
			}
			am.CanPrefer = canPrefer(m, len(creds))
			am.Preferred = am.CanPrefer && name == preferred
			held[name] = creds
		}
		p.Account.Methods = append(p.Account.Methods, am)
	}
	// A method the user holds but is not offered beside another (email
	// codes beside a verified phone) says so, as the login leaves it out.
	for i := range p.Account.Methods {
		am := &p.Account.Methods[i]
		m, _ := h.Methods.Get(am.Name)
		holds := func(other string) bool { return len(held[other]) > 0 }
		if other := methods.SetAside(am.Name, m.Description(), held[am.Name], holds); other != "" && len(held[am.Name]) > 0 {
			am.SetAside = fmt.Sprintf(web.MsgSetAside, h.Methods.DisplayName(other))
			am.CanPrefer, am.Preferred = false, false
		}
	}
	if err := h.fillTrustedBrowsers(r, &p.Account, u); err != nil {
		h.Web.ServerError(w, r, "list trusted browsers", err)
		return
	}
	events, err := h.Store.ListEvents(ctx, storage.EventFilter{UserID: u.ID, Limit: 10})
	if err != nil {
		h.Web.ServerError(w, r, "list events", err)
		return
	}
	for _, e := range events {
		p.Account.Events = append(p.Account.Events, web.Activity(e, h.Now(), h.Methods.DisplayName))
	}
	h.Web.Render(w, r, http.StatusOK, "account.html", p)
}

// enrolUser admits a signed-in user, recently re-verified if they have a
// method already, to add a method that users enrol themselves.
func (h *Handler) enrolUser(w http.ResponseWriter, r *http.Request, name, returnTo string) (storage.User, *methods.Method, bool) {
	sess, u, ok := h.accountUser(w, r, returnTo)
	if !ok {
		return u, nil, false
	}
	m, ok := h.enrollableMethod(name)
	if !ok {
		h.Web.Message(w, r, http.StatusNotFound, web.TitleUnknownMethod, web.MsgNoMethodToAdd)
		return u, nil, false
	}
	if !h.requireReverify(w, r, sess, u, "/account/enrol?method="+url.QueryEscape(name)) {
		return u, nil, false
	}
	return u, m, true
}

// enrollableMethod returns the method name if its credentials are the
// user's to add and remove: not a Managed one.
func (h *Handler) enrollableMethod(name string) (*methods.Method, bool) {
	m, ok := h.Methods.Get(name)
	return m, ok && m.NeedsEnrolment() && !m.Description().Managed
}

// handleEnrolStart begins adding a method: at once, or, for a method that
// asks for something first (its EnrolFields, such as a phone number), with
// the form that asks for it.
func (h *Handler) handleEnrolStart(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("method")
	u, m, ok := h.enrolUser(w, r, name, enrolPath(name, r.FormValue(resumeParam)))
	if !ok {
		return
	}
	if len(m.Description().EnrolFields) > 0 {
		h.renderEnrolStart(w, r, http.StatusOK, name, nil, "")
		return
	}
	h.enrol(w, r, u, m, nil)
}

// resumeParam names a sign-in request to go back to once the enrolment is
// confirmed: the renewal page of a used-up method (login's renewNotice)
// sends the user here with it, and the sign-in then goes on.
const resumeParam = "request"

// enrolPath is the enrolment page of method name, resuming the sign-in
// request resume (may be empty) once done.
func enrolPath(name, resume string) string {
	p := "/account/enrol?method=" + url.QueryEscape(name)
	if resume != "" {
		p += "&" + resumeParam + "=" + url.QueryEscape(resume)
	}
	return p
}

// handleEnrolParams starts an enrolment with what the user entered in the
// method's EnrolFields.
func (h *Handler) handleEnrolParams(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("method")
	u, m, ok := h.enrolUser(w, r, name, enrolPath(name, r.FormValue(resumeParam)))
	if !ok {
		return
	}
	params := map[string]string{}
	for _, f := range m.Description().EnrolFields {
		params[f.Name] = strings.TrimSpace(r.PostFormValue(f.Name))
	}
	h.enrol(w, r, u, m, params)
}

// enrol calls Enrol and shows what it returned, with the form that
// confirms it.
func (h *Handler) enrol(w http.ResponseWriter, r *http.Request, u storage.User, m *methods.Method, params map[string]string) {
	ctx := r.Context()
	e, err := m.Enrol(ctx, sdk.EnrolRequest{User: methods.User(u), Params: params})
	if err != nil && !errors.Is(err, sdk.ErrInvalidInput) {
		h.Audit.Record(ctx, storage.Event{Type: "method.add_failed", UserID: u.ID, Outcome: "failure",
			Details: map[string]string{"method": m.Name(), "step": "enrol", "error": errorKind(err)}})
	}
	if ev := m.Description().SentEvent; ev != "" && err == nil { // a code went out
		h.Audit.Record(ctx, storage.Event{Type: ev, UserID: u.ID, Outcome: "success", Details: map[string]string{"method": m.Name(), "step": "enrol"}})
	}
	if msg := sdk.UserMessage(err); msg != "" && len(m.Description().EnrolFields) > 0 { // the plugin's words, on the same form
		h.renderEnrolStart(w, r, enrolStatus(err), m.Name(), params, msg)
		return
	}
	if err != nil {
		h.accountError(w, r, m.Name(), err)
		return
	}
	pe := pendingEnrolment{ID: e.ID, Method: m.Name(), UserID: u.ID, Prompt: e.Prompt, Fields: e.Fields, Displays: web.EnrolmentDisplays(e),
		Resume: r.FormValue(resumeParam)}
	raw, _ := json.Marshal(pe)
	expires := e.ExpiresAt
	if expires.IsZero() {
		expires = h.Now().Add(10 * time.Minute)
	}
	key := pendingKey(u.ID, m.Name())
	if _, err := h.Store.KVPut(ctx, enrolNamespace, key, h.Secrets.Seal(raw, []byte(enrolNamespace+key)), -1, expires, h.Now()); err != nil {
		h.Web.ServerError(w, r, "keep enrolment", err)
		return
	}
	h.renderEnrol(w, r, http.StatusOK, e.ID, pe, "")
}

// renderEnrolStart shows the form of a method's EnrolFields.
func (h *Handler) renderEnrolStart(w http.ResponseWriter, r *http.Request, status int, name string, values map[string]string, errMsg string) {
	p := web.Page{Title: fmt.Sprintf(web.TitleAddFmt, h.Methods.DisplayName(name)), Method: name, Error: errMsg, RequestID: r.FormValue(resumeParam)}
	m, _ := h.Methods.Get(name)
	for _, f := range m.Description().EnrolFields {
		p.Enrol.Start = append(p.Enrol.Start, web.Field{Field: f, Value: values[f.Name]})
	}
	h.restricted(&p.Enrol, m)
	h.Web.Render(w, r, status, "enrol.html", p)
}

func (h *Handler) renderEnrol(w http.ResponseWriter, r *http.Request, status int, id string, pe pendingEnrolment, errMsg string) {
	p := web.Page{Title: fmt.Sprintf(web.TitleAddFmt, h.Methods.DisplayName(pe.Method)), Method: pe.Method, Prompt: pe.Prompt, Fields: pe.Fields, Error: errMsg}
	p.Enrol = web.Enrol{ID: id, Displays: h.Web.Displays(pe.Method, pe.Displays),
		Codes: slices.ContainsFunc(pe.Displays, func(d sdk.Display) bool { return d.Kind == sdk.DisplayCodes })}
	if m, ok := h.Methods.Get(pe.Method); ok {
		h.restricted(&p.Enrol, m)
		p.Enrol.Unnamed = m.Description().NamesCredentials
	}
	h.Web.Render(w, r, status, "enrol.html", p)
}

// restricted fills in, for a restricted authenticator (SMS), the sentence
// that says so and the stronger methods the user can add instead: those
// users enrol themselves that are not restricted.
func (h *Handler) restricted(e *web.Enrol, m *methods.Method) {
	if !m.Description().Restricted {
		return
	}
	e.Restricted = fmt.Sprintf(web.MsgRestrictedFmt, h.Methods.DisplayName(m.Name()))
	for _, o := range h.Methods.All() {
		d := o.Description()
		if o != m && d.NeedsEnrolment && !d.Restricted && !d.Bypass && !d.Managed && o.Healthy() {
			e.Stronger = append(e.Stronger, web.Link{Name: o.Name(), Label: h.Methods.DisplayName(o.Name())})
		}
	}
	if len(e.Stronger) > 0 { // else there is no list to point at
		e.Restricted += " " + web.MsgStrongerMethod
	}
}

// handleCodes serves the codes a pending enrolment shows (recovery codes),
// to the user it is for, as a text file (as=txt) or a page to print; once
// the enrolment is confirmed or expired they are gone.
func (h *Handler) handleCodes(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.accountUser(w, r, "/account")
	if !ok {
		return
	}
	q := r.URL.Query()
	pe, ok := h.pending(r.Context(), q.Get("enrolment"), u, q.Get("method"))
	var codes []string
	for _, d := range pe.Displays {
		if d.Kind == sdk.DisplayCodes {
			codes = append(codes, d.Values...)
		}
	}
	if !ok || len(codes) == 0 {
		h.Web.Message(w, r, http.StatusNotFound, web.TitleStartAgain, web.MsgEnrolmentExpired)
		return
	}
	if q.Get("as") == "txt" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+pe.Method+`-codes.txt"`)
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "%s for %s\r\n\r\n%s\r\n", h.Methods.DisplayName(pe.Method), u.Username, strings.Join(codes, "\r\n"))
		return
	}
	p := web.Page{Title: h.Methods.DisplayName(pe.Method), Username: u.Username, Prompt: pe.Prompt}
	p.Enrol.Displays = h.Web.Displays(pe.Method, pe.Displays)
	h.Web.Render(w, r, http.StatusOK, "codes.html", p)
}

// pending reads the user's pending enrolment id of the method name, sealed
// at rest; ok is false for one that is absent, expired, replaced by a
// newer one, or another's.
func (h *Handler) pending(ctx context.Context, id string, u storage.User, name string) (pendingEnrolment, bool) {
	var pe pendingEnrolment
	if id == "" {
		return pe, false
	}
	key := pendingKey(u.ID, name)
	entry, err := h.Store.KVGet(ctx, enrolNamespace, key, h.Now())
	if err == nil {
		var raw []byte
		if raw, err = h.Secrets.Open(entry.Value, []byte(enrolNamespace+key)); err == nil {
			err = json.Unmarshal(raw, &pe)
		}
	}
	pe.version = entry.Version
	return pe, err == nil && pe.ID == id && pe.UserID == u.ID && pe.Method == name
}

// handleEnrolConfirm completes an enrolment with the user's first
// response; a post without an enrolment is the start of one, from the form
// of the method's EnrolFields.
func (h *Handler) handleEnrolConfirm(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("enrolment") == "" {
		h.handleEnrolParams(w, r)
		return
	}
	name := r.PostFormValue("method")
	u, m, ok := h.enrolUser(w, r, name, "/account")
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PostFormValue("enrolment")
	pe, ok := h.pending(ctx, id, u, name)
	if !ok {
		h.Web.Message(w, r, http.StatusBadRequest, web.TitleStartAgain, web.MsgEnrolmentExpired)
		return
	}
	response := map[string]string{}
	for _, f := range pe.Fields {
		response[f.Name] = r.PostFormValue(f.Name)
	}
	label := strings.TrimSpace(r.PostFormValue("label"))
	// The credential, its method.added event and the user's email are one
	// write: a crash cannot leave a method added without them.
	from := reqctx.From(ctx).RemoteAddr
	added := func(cred sdk.Credential) []storage.Event {
		e := storage.Event{Type: "method.added", UserID: u.ID, Outcome: "success",
			Details: map[string]string{"method": name, "credential": cred.ID, "label": cred.Label}}
		e.Mail = h.methodAddedMail(u, h.Methods.DisplayName(name)+" ("+cred.Label+")", from)
		return h.Audit.Complete(ctx, e)
	}
	cctx, committed := methods.WithEvents(ctx, func(cred sdk.Credential, _ map[string]string) []storage.Event { return added(cred) })
	cred, err := m.ConfirmEnrolment(cctx, sdk.ConfirmRequest{User: methods.User(u), EnrolmentID: id, Label: label, Response: response})
	switch {
	case errors.Is(err, sdk.ErrInvalidResponse):
		h.Audit.Record(ctx, storage.Event{Type: "method.add_failed", UserID: u.ID, Outcome: "failure", Details: map[string]string{"method": name}})
		h.renderEnrol(w, r, http.StatusUnauthorized, id, pe, web.MsgWrongResponse)
		return
	case errors.Is(err, sdk.ErrInvalidInput): // the plugin's own words, on the same form
		h.renderEnrol(w, r, http.StatusBadRequest, id, pe, sdk.UserMessage(err))
		return
	case err != nil:
		h.accountError(w, r, name, err)
		return
	}
	_ = h.Store.KVDelete(ctx, enrolNamespace, pendingKey(u.ID, name), pe.version) // not a newer one
	if !committed() {                                                             // the method wrote its credential itself
		for _, e := range added(cred) {
			h.Audit.Record(ctx, e)
		}
	}
	if pe.Resume != "" {
		http.Redirect(w, r, "/login?id="+url.QueryEscape(pe.Resume)+"&continue=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?done=added", http.StatusSeeOther)
}

func (h *Handler) handleRemove(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := h.accountUser(w, r, "/account")
	if !ok {
		return
	}
	name, credID := r.PostFormValue("method"), r.PostFormValue("credential")
	m, ok := h.enrollableMethod(name)
	if !ok {
		h.Web.Message(w, r, http.StatusNotFound, web.TitleUnknownMethod, web.MsgNoSuchMethod)
		return
	}
	// After re-verifying the user lands on the account page and presses
	// Remove again: a form post cannot be replayed through a redirect.
	if !m.Description().Removal.NoReverify && !h.requireReverify(w, r, sess, u, "/account") {
		return
	}
	ctx := r.Context()
	// The removal and its event are one write.
	removed := h.Audit.Complete(ctx, storage.Event{Type: cmp.Or(m.Description().Removal.Event, "method.removed"), UserID: u.ID, Outcome: "success",
		Details: map[string]string{"method": name, "credential": credID}})
	cctx, committed := methods.WithEvents(ctx, func(sdk.Credential, map[string]string) []storage.Event { return removed })
	err := m.Remove(cctx, u.ID, credID)
	if err != nil {
		h.accountError(w, r, name, err)
		return
	}
	if !committed() {
		h.Audit.Record(ctx, removed[0])
	}
	http.Redirect(w, r, "/account?done=removed", http.StatusSeeOther)
}

// addedOn is when a credential was added as the page writes it; "" for
// one without a time (granted by configuration, such as email codes for
// everyone).
func addedOn(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// enrolStatus is the status of the enrolment form shown again after err.
func enrolStatus(err error) int {
	switch {
	case errors.Is(err, sdk.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, sdk.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// errorKind names err for the audit log by its sentinel, never its text.
func errorKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{{sdk.ErrRateLimited, "rate_limited"}, {sdk.ErrUnavailable, "unavailable"}, {sdk.ErrAlreadyEnrolled, "already_enrolled"}, {sdk.ErrConflict, "conflict"}} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "error"
}

// accountError shows what a failed plugin call on the account page means.
func (h *Handler) accountError(w http.ResponseWriter, r *http.Request, name string, err error) {
	switch {
	case errors.Is(err, sdk.ErrAlreadyEnrolled):
		h.Web.Message(w, r, http.StatusConflict, web.TitleAlreadySetUp, fmt.Sprintf(web.MsgAlreadySetUpFmt, h.Methods.DisplayName(name)))
	case errors.Is(err, sdk.ErrNotFound):
		h.Web.Message(w, r, http.StatusNotFound, web.TitleNotFound, web.MsgMethodGone)
	case errors.Is(err, sdk.ErrRateLimited):
		until, _ := sdk.RetryAfter(err)
		msg := cmp.Or(sdk.UserMessage(err), fmt.Sprintf(web.MsgRateLimited, until.UTC().Format("15:04")))
		h.Web.Message(w, r, http.StatusTooManyRequests, web.TitleTooManyAttempts, msg)
	case errors.Is(err, sdk.ErrInvalidInput):
		h.Web.Message(w, r, http.StatusBadRequest, web.TitleCheckInput, sdk.UserMessage(err))
	default:
		h.Log.Warn("account", "method", name, "err", err)
		h.Web.Message(w, r, http.StatusServiceUnavailable, web.TitleNotAvailable, cmp.Or(sdk.UserMessage(err), web.MsgMethodDown))
	}
}

// methodAddedMail is the email that tells the user a method was added
// (SPEC §6), queued with the method.added event and delivered after
// commit; nil when notify.method_added_email is false or the user has no
// address.
func (h *Handler) methodAddedMail(u storage.User, what, from string) *storage.Mail {
	if !h.Config.Notify.MethodAddedEmail {
		return nil
	}
	return notify.Queued(notify.MethodAdded(u.Email, u.Username, what, h.Now(), from), "method added", u.ID)
}

// lastUsed is when a credential last verified, as the account page says
// it; "" when never or not kept.
func lastUsed(t time.Time) string { return addedOn(t) }
