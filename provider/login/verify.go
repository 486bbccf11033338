package login

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// continueParam, on /login, says the user read the lock notice and goes on
// at the level reached (see lockedNotice; locked.html links with it).
const continueParam = "continue"

// renewParam, on /login, names the method whose credential the factor
// just completed used up (sdk.Result.Renew; see renewNotice).
const renewParam = "renew"

// renewNotice shows, before a login that is done goes back to the client,
// that the method named by renewParam is used up (the last recovery code):
// a link to set it up again, and one to go on without. Only while the user
// truly holds no credential of it: the parameter alone shows nothing. It
// reports whether it showed the page.
func (h *Handler) renewNotice(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User) bool {
	q := r.URL.Query()
	name := q.Get(renewParam)
	if name == "" || q.Get(continueParam) != "" || ar.HasPrompt(oidc.PromptNone) {
		return false
	}
	m, ok := h.Methods.Get(name)
	if !ok || !m.NeedsEnrolment() || !m.Healthy() {
		return false
	}
	if creds, err := m.ListCredentials(r.Context(), user.ID); err != nil || len(creds) > 0 {
		return false
	}
	label := h.Methods.DisplayName(name)
	h.Web.Render(w, r, http.StatusOK, "renew.html", web.Page{Title: web.TitleRenew, RequestID: ar.GetID(), Username: user.Username,
		Method: name, MethodLabel: label, Notice: fmt.Sprintf(web.MsgRenewFmt, strings.ToLower(label))})
	return true
}

// lockedNotice shows, instead of finishing at once, why a voluntary
// request ends below every level it asked for: the methods that could
// reach it are locked (authflow's StepDone with Locked), and until when.
// Its Continue link finishes at the level reached, as SPEC §4 says (the
// relying party decides). Never with prompt=none, which shows nothing. It
// reports whether it showed the page.
func (h *Handler) lockedNotice(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, d authflow.Decision) bool {
	if len(d.Locked) == 0 || ar.HasPrompt(oidc.PromptNone) || r.URL.Query().Get(continueParam) != "" {
		return false
	}
	p := web.Page{Title: web.TitleVerificationLocked, RequestID: ar.GetID(), Username: user.Username, Notice: web.MsgLockedGoOn}
	for _, l := range d.Locked {
		p.Locked = append(p.Locked, fmt.Sprintf(web.MsgMethodLocked, h.Methods.DisplayName(l.Name), l.Until.UTC().Format("15:04")))
	}
	h.Web.Render(w, r, http.StatusOK, "locked.html", p)
	return true
}

// offered returns the methods the decision offers, first one first.
func offered(d authflow.Decision) []string { return append([]string{d.Method}, d.Others...) }

// showMethod renders the challenge page of the chosen method.
func (h *Handler) showMethod(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, d authflow.Decision, want, formError string, status int) {
	name := d.Method
	if want != "" && slices.Contains(offered(d), want) {
		name = want
	}
	p := web.Page{Title: web.TitleVerify, RequestID: ar.GetID(), FormTarget: ar.FormTarget(), Username: user.Username, Error: formError}
	for _, other := range offered(d) {
		if other != name {
			p.Others = append(p.Others, web.Link{Name: other, Label: h.Methods.DisplayName(other)})
		}
	}
	for _, l := range d.Locked {
		p.Locked = append(p.Locked, fmt.Sprintf(web.MsgMethodLocked, h.Methods.DisplayName(l.Name), l.Until.Format("15:04")))
	}
	ch, err := h.challengeFor(r.Context(), ar, user, name, d.Target)
	if err != nil {
		if err := h.saveCreated(r.Context(), ar); err != nil { // the page links to it
			h.Web.ServerError(w, r, "save auth request", err)
			return
		}
		status, msg := h.beginFailed(r.Context(), ar, user, name, err)
		p.Error = msg
		h.Web.Render(w, r, status, "method.html", p)
		return
	}
	p.Method, p.MethodLabel, p.Prompt, p.Fields = name, h.Methods.DisplayName(name), ch.Prompt, ch.Fields
	if m, ok := h.Methods.Get(name); ok && h.Trust.Offered(m.Description().Bypass, m.Description().Levels) {
		p.TrustDays = h.Trust.Days()
	}
	p.Ceremony = ch.Public[sdk.PublicWebAuthnRequest]
	h.Web.Render(w, r, status, "method.html", p)
}

// maxAuditedError bounds the error text an audit event keeps.
const maxAuditedError = 200

// beginFailed audits why a challenge could not begin, and returns the
// status and sentence of the page, which offers the other methods: the
// method's own sentence when it has one (a text message that could not be
// sent, the hourly limit on messages), else the provider's.
func (h *Handler) beginFailed(ctx context.Context, ar *protocol.AuthRequest, user storage.User, name string, err error) (int, string) {
	msg := sdk.UserMessage(err)
	ev := storage.Event{UserID: user.ID, ClientID: ar.GetClientID(), Details: map[string]string{"method": name, "step": "begin"}}
	if errors.Is(err, sdk.ErrRateLimited) {
		h.Metrics.RateLimited.WithLabelValues(name + ".begin").Inc()
		ev.Type, ev.Outcome = "verification.rate_limited", "denied"
		if until, ok := sdk.RetryAfter(err); ok {
			ev.Details["until"] = until.UTC().Format(time.RFC3339)
			msg = cmp.Or(msg, fmt.Sprintf(web.MsgRateLimited, until.UTC().Format("15:04")))
		}
		h.Audit.Record(ctx, ev)
		return http.StatusTooManyRequests, cmp.Or(msg, web.MsgTooManyTries)
	}
	h.Log.Warn("begin challenge", "method", name, "err", err)
	ev.Type, ev.Outcome, ev.Details["error"] = "verification.unavailable", "failure", auditedReason(err.Error())
	h.Audit.Record(ctx, ev)
	return http.StatusServiceUnavailable, cmp.Or(msg, web.MsgMethodDown)
}

// challengeFor returns the request's live challenge of the user for a
// method, or begins one and keeps it on the request (so any replica can
// verify it), storing the request with it if it was created in place.
// level is the level aimed for, which the method may use to offer only
// the credentials that reach it.
func (h *Handler) challengeFor(ctx context.Context, ar *protocol.AuthRequest, user storage.User, name, level string) (protocol.Challenge, error) {
	if ch, ok := challengeOf(ar, name, user.ID); ok && h.Now().Before(ch.ExpiresAt) {
		return ch, nil
	}
	m, ok := h.Methods.Get(name)
	if !ok {
		return protocol.Challenge{}, fmt.Errorf("no method %q", name)
	}
	c, keep, err := m.Begin(ctx, sdk.BeginRequest{User: methods.User(user), Level: level})
	if err != nil {
		return protocol.Challenge{}, err
	}
	// A code that went out is audited with the write that keeps its
	// challenge, and the method's record of it: one transaction.
	var sent []storage.Event
	if ev := m.Description().SentEvent; ev != "" {
		sent = h.Audit.Complete(ctx, storage.Event{Type: ev, UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success",
			Details: map[string]string{"method": name, "step": "begin"}})
	}
	ch := protocol.Challenge{UserID: user.ID, ID: c.ID, Prompt: c.Prompt, Public: c.Public, ExpiresAt: c.ExpiresAt}
	if ch.ExpiresAt.IsZero() {
		ch.ExpiresAt = h.Now().Add(5 * time.Minute)
	}
	ch.Fields = c.Fields
	begun := func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		next, err := ar.AsStored(cur)
		if err != nil {
			return cur, err
		}
		if next.Data.Challenges == nil {
			next.Data.Challenges = map[string]protocol.Challenge{}
		}
		next.Data.Challenges[name] = ch
		return next.Encode(), nil
	}
	var stored storage.AuthRequest
	if ar.Unsaved {
		if stored, err = begun(ar.Stored); err == nil {
			_, err = h.Store.SaveLogin(ctx, storage.LoginWrite{Create: stored, KV: keep, Events: sent})
		}
		ar.Unsaved = err != nil
	} else {
		stored, err = h.Store.SaveLogin(ctx, storage.LoginWrite{AuthRequestID: ar.GetID(), Update: begun, KV: keep, Events: sent})
	}
	if err != nil {
		if len(sent) > 0 {
			h.Log.Error("audit event not recorded: the challenge could not be kept", "type", sent[0].Type, "user", user.ID, "err", err)
		}
		return protocol.Challenge{}, err
	}
	if ar.Data.Challenges == nil {
		ar.Data.Challenges = map[string]protocol.Challenge{}
	}
	ar.Stored, ar.Data.Challenges[name] = stored, ch
	return ch, nil
}

// challengeOf returns the request's challenge for a method if it was begun
// for the user.
func challengeOf(ar *protocol.AuthRequest, name, userID string) (protocol.Challenge, bool) {
	ch, ok := ar.Data.Challenges[name]
	return ch, ok && ch.UserID == userID
}

// handleVerifyPost checks a response to a method challenge.
func (h *Handler) handleVerifyPost(w http.ResponseWriter, r *http.Request) {
	ar, ok := h.loadRequest(w, r, r.PostFormValue("id"))
	if !ok {
		return
	}
	ctx := r.Context()
	again := "/login?id=" + ar.GetID()
	sess, user, err := h.Browser.Session(r)
	if err != nil {
		h.Web.ServerError(w, r, "load session", err)
		return
	}
	factors := browser.Factors(sess.Factors)
	if ar.Data.ExternalMFA != nil { // the hint's user, not the browser's (externalmfa.go)
		if user, ok = h.externalUser(w, r, ar); !ok {
			return
		}
		factors = hintFactors(ar)
	}
	if user.ID == "" || (ar.Data.HintSubject != "" && ar.Data.HintSubject != user.ID) {
		http.Redirect(w, r, again, http.StatusSeeOther)
		return
	}
	// decide is what the page needs when the response cannot be checked:
	// it asks the plugins, so the common path (a live challenge that this
	// request offered) does without.
	decide := func() (authflow.Decision, bool) {
		ms, err := h.userMethods(ctx, user)
		if err != nil {
			h.Web.ServerError(w, r, "user methods", err)
			return authflow.Decision{}, false
		}
		d := authflow.Decide(h.Policy, flowRequest(ar), factors, ms, h.Now())
		if d.Step != authflow.StepMethod {
			http.Redirect(w, r, again, http.StatusSeeOther)
			return d, false
		}
		return d, true
	}
	name := r.PostFormValue("method")
	m, known := h.Methods.Get(name)
	ch, begun := challengeOf(ar, name, user.ID) // another user's is not this user's failure
	lock, err := h.Store.GetLockout(ctx, methods.LockoutKey(name, user.ID), h.Now())
	if err != nil {
		h.Web.ServerError(w, r, "lockout", err)
		return
	}
	if !known || !begun || !h.Now().Before(ch.ExpiresAt) || lock.Locked(h.Now()) {
		d, ok := decide()
		if !ok {
			return
		}
		switch {
		case !slices.Contains(offered(d), name):
			h.showMethod(w, r, ar, user, d, "", web.MsgNotOffered, http.StatusBadRequest)
		default:
			h.showMethod(w, r, ar, user, d, name, web.MsgChallengeAgain, http.StatusBadRequest)
		}
		return
	}
	// A temporary code never makes a browser trusted: a post asking for it
	// (the page offers no checkbox then) is refused before the code is
	// used, so the user can still sign in with it.
	wantTrust := r.PostFormValue(trustParam) != "" && h.Trust.Enabled()
	if desc := m.Description(); wantTrust && !h.Trust.Offered(desc.Bypass, desc.Levels) {
		h.Audit.Record(ctx, storage.Event{Type: "trusted_browser.refused", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "denied",
			Details: map[string]string{"reason": "not offered for this method", "method": name}})
		if d, ok := decide(); ok {
			h.showMethod(w, r, ar, user, d, name, web.MsgTrustNotOffered, http.StatusBadRequest)
		}
		return
	}
	response := map[string]string{}
	for _, f := range ch.Fields {
		response[f.Name] = r.PostFormValue(f.Name)
	}
	desc := m.Description()
	// The step's events and the user's email (a recovery code used, and
	// how many are left).
	stepEvents := func(res sdk.Result) []storage.Event {
		events := []storage.Event{{Type: "verification.succeeded", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success",
			Details: map[string]string{"method": name}}}
		if desc.UsedEvent != "" {
			events = append(events, storage.Event{Type: desc.UsedEvent, UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success"})
		}
		if res.Notice != "" { // mailed to the user (queued with the events, sent after commit)
			events[0].Mail = notify.Queued(notify.MethodUsed(user.Email, user.Username, h.Methods.DisplayName(name), res.Notice, h.Now(),
				reqctx.From(ctx).RemoteAddr), "method used", user.ID)
		}
		return events
	}
	// A method whose use is an event of its own (a code spent) has them
	// written with the spend, when it leaves that to the host: a crash
	// after the spend cannot lose its event and email. Otherwise they go
	// with the login step below.
	vctx, spent := ctx, func() bool { return false }
	if desc.UsedEvent != "" {
		vctx, spent = methods.WithVerifyEvents(ctx, func(res sdk.Result) []storage.Event { return h.Audit.Complete(ctx, stepEvents(res)...) })
	}
	res, err := m.Verify(vctx, sdk.VerifyRequest{UserID: user.ID, ChallengeID: ch.ID, Response: response})
	if err == nil && res.UserID != "" && res.UserID != user.ID {
		// A method may name the user only in a first-factor verification.
		err = fmt.Errorf("%w: the method named user %q for %q's challenge", sdk.ErrInvalidResponse, res.UserID, user.ID)
	}
	if err != nil {
		h.verifyFailed(w, r, ar, user, decide, name, err)
		return
	}
	if lock.Failures > 0 {
		if err := h.Store.ResetFailures(ctx, methods.LockoutKey(name, user.ID)); err != nil {
			h.Web.ServerError(w, r, "reset failures", err)
			return
		}
	}
	amr := res.AMR
	if len(amr) == 0 {
		amr = desc.AMR
	}
	h.Metrics.Verifications.WithLabelValues(name, "success").Inc()
	var events []storage.Event
	if !spent() {
		events = stepEvents(res)
	}
	renew := ""
	if res.Renew {
		renew = name
	}
	// What this verification reached, held to what the method declared.
	f := storage.Factor{Method: name, Levels: authflow.Within(desc.Levels, res.Levels), AMR: amr, Time: h.Now()}
	if ar.Data.ExternalMFA != nil { // no session, no trusted browser: the IdP asked for a factor now
		h.completeExternal(w, r, ar, user, f, events...)
		return
	}
	if wantTrust {
		h.rememberBrowser(w, r, ar, user, f)
	}
	h.completeFactor(w, r, ar, sess, user, f, renew, events...)
}

// verifyFailed counts a failure towards the lockout, audits it and shows
// the page again with what went wrong.
func (h *Handler) verifyFailed(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, decide func() (authflow.Decision, bool), name string, err error) {
	ctx := r.Context()
	now := h.Now()
	ev := storage.Event{Type: "verification.failed", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "failure",
		Details: map[string]string{"method": name}}
	var msg string
	var status int
	switch {
	case errors.Is(err, sdk.ErrInvalidResponse):
		h.Metrics.Verifications.WithLabelValues(name, "failure").Inc()
		if reason := err.Error(); reason != sdk.ErrInvalidResponse.Error() {
			// The method said why (a security key's counter went back):
			// for the audit log, never for the page.
			ev.Details["error"] = auditedReason(reason)
		}
		h.Audit.Record(ctx, ev)
		// The lockout's event is written with the failure that starts it.
		locked := h.Audit.Fill(ctx, storage.Event{Type: "lockout.started", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "denied",
			Details: map[string]string{"method": name, "until": now.Add(h.Config.Lockout.Duration).Format(time.RFC3339)}})
		lock, lerr := h.Store.RecordFailure(ctx, methods.LockoutKey(name, user.ID), h.Config.Lockout.MaxFailures, h.Config.Lockout.Duration, now, locked...)
		if lerr != nil {
			h.Web.ServerError(w, r, "record failure", lerr)
			return
		}
		if lock.Locked(now) {
			h.Audit.Logged(locked[0])
			h.Metrics.Lockouts.WithLabelValues(name).Inc()
			// The page the user comes back to names the lock and when it
			// lifts, and offers the next method, if any.
			http.Redirect(w, r, "/login?id="+ar.GetID(), http.StatusSeeOther)
			return
		}
		msg, status = web.MsgWrongResponse, http.StatusUnauthorized
	case errors.Is(err, sdk.ErrRateLimited):
		// Not a failure: nothing was checked, and the lockout is not fed.
		h.Metrics.RateLimited.WithLabelValues(name + ".verify").Inc()
		until, _ := sdk.RetryAfter(err)
		ev.Type, ev.Outcome = "verification.rate_limited", "denied"
		msg, status = web.MsgTooManyTries, http.StatusTooManyRequests
		if !until.IsZero() {
			ev.Details["until"] = until.UTC().Format(time.RFC3339)
			msg = fmt.Sprintf(web.MsgRateLimited, until.UTC().Format("15:04"))
		}
		msg = cmp.Or(sdk.UserMessage(err), msg)
		h.Audit.Record(ctx, ev)
	case errors.Is(err, sdk.ErrInvalidInput):
		msg, status = sdk.UserMessage(err), http.StatusBadRequest
	default:
		h.Log.Warn("verify", "method", name, "err", err)
		msg, status = web.MsgMethodDown, http.StatusServiceUnavailable
	}
	if d, ok := decide(); ok {
		h.showMethod(w, r, ar, user, d, name, msg, status)
	}
}

// auditedReason is an error's text as an audit event keeps it: at most
// maxAuditedError bytes.
func auditedReason(reason string) string {
	if len(reason) > maxAuditedError {
		reason = strings.ToValidUTF8(reason[:maxAuditedError], "")
	}
	return reason
}
