package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
	"github.com/stepup-mfa/stepup/provider/web"
)

// Descriptions of the OIDC errors a login ends in, for the client's
// developers (error_description).
const (
	descLoginRequired       = "the user must sign in: no session satisfies the request, and prompt=none forbids asking"
	descHigherLevelRequired = "the user must sign in again at a higher level: %s is required, and prompt=none forbids asking"
)

// loadRequest fetches the authorization request named by the form or
// query, for the next step of its login: only the browser that started it
// may take one, and only while it is not done.
func (h *Handler) loadRequest(w http.ResponseWriter, r *http.Request, id string) (*protocol.AuthRequest, bool) {
	stored, err := h.Store.GetAuthRequest(r.Context(), id)
	// The store judges expiry by the provider's clock: an expired request
	// is not found.
	if errors.Is(err, storage.ErrNotFound) || id == "" {
		h.Web.Message(w, r, http.StatusBadRequest, web.TitleRequestExpired, web.MsgExpired)
		return nil, false
	}
	if err != nil {
		h.Web.ServerError(w, r, "load auth request", err)
		return nil, false
	}
	ar, err := protocol.DecodeAuthRequest(stored)
	if err != nil {
		h.Web.ServerError(w, r, "decode auth request", err)
		return nil, false
	}
	if ar.Stored.Done || !h.Browser.Bound(r, ar) {
		h.refuseForeign(w, r, ar, ar.Stored.Done)
		return nil, false
	}
	return ar, true
}

// handleLogin shows whatever the login needs next, or finishes it.
func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	ar, ok := handedOver(r, id)
	if !ok {
		if ar, ok = h.loadRequest(w, r, id); !ok {
			return
		}
	}
	sess, user, err := h.Browser.Session(r)
	if err != nil {
		h.Web.ServerError(w, r, "load session", err)
		return
	}
	h.advance(w, r, ar, sess, user)
}

// flowRequest translates the stored OIDC request for authflow.
func flowRequest(ar *protocol.AuthRequest) authflow.Request {
	req := authflow.Request{
		ACRValues:   ar.Data.ACRValues,
		Essential:   ar.Data.EssentialACR,
		PromptLogin: ar.HasPrompt(oidc.PromptLogin),
		PromptNone:  ar.HasPrompt(oidc.PromptNone),
		Started:     ar.Stored.CreatedAt,
	}
	if ar.Data.MaxAge != nil {
		d := time.Duration(*ar.Data.MaxAge) * time.Second
		req.MaxAge = &d
	}
	return req
}

// advance asks authflow what comes next for the browser's session and its
// signed-in user (see browser.Browser.Session) and does it.
func (h *Handler) advance(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, sess storage.Session, signedIn storage.User) {
	if ar.Data.ExternalMFA != nil { // the hint's user, the second factor alone (externalmfa.go)
		h.advanceExternal(w, r, ar)
		return
	}
	ctx := r.Context()
	var factors []authflow.Factor
	var user storage.User
	if signedIn.ID != "" && (ar.Data.HintSubject == "" || ar.Data.HintSubject == signedIn.ID) {
		user, factors = signedIn, browser.Factors(sess.Factors)
	}
	d, final := h.decideFromFactors(ar, factors)
	var spared []storage.Event // the trusted browser's, when it spares the second factor
	if user.ID != "" && !final {
		ms, err := h.userMethods(ctx, user)
		if err != nil {
			h.Web.ServerError(w, r, "user methods", err)
			return
		}
		d = authflow.Decide(h.Policy, flowRequest(ar), factors, ms, h.Now())
		if d, spared, err = h.spareByTrust(w, r, ar, user, factors, ms, d); err != nil {
			h.Web.ServerError(w, r, "trusted browser", err)
			return
		}
	}
	// A method page stores a request created in place with its challenge;
	// a refused one is not stored at all.
	if d.Step != authflow.StepMethod && d.Step != authflow.StepError {
		if err := h.saveCreated(ctx, ar); err != nil {
			h.Web.ServerError(w, r, "save auth request", err)
			return
		}
	}
	switch d.Step {
	case authflow.StepFirstFactor:
		if h.upstreamFirst() && !h.Upstream.Config.LocalPasswords {
			h.startUpstream(w, r, ar)
			return
		}
		username := ar.Data.LoginHint
		if user.Username != "" {
			username = user.Username
		}
		h.renderLogin(w, r, http.StatusOK, ar, username, "")
	case authflow.StepMethod:
		h.showMethod(w, r, ar, user, d, r.URL.Query().Get("method"), "", http.StatusOK)
	case authflow.StepDone:
		if h.renewNotice(w, r, ar, user) || h.lockedNotice(w, r, ar, user, d) {
			return
		}
		h.finish(w, r, ar, sess, user, d.Result, spared...)
	case authflow.StepError:
		h.failRequest(w, r, ar, user.ID, d.Err)
	default:
		h.Web.ServerError(w, r, "login step", fmt.Errorf("no page for step %s (target %s)", d.Step, d.Target))
	}
}

// failRequest ends the authorization with an OIDC error at the client.
func (h *Handler) failRequest(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, userID string, err error) {
	var oerr *oidc.Error
	var higher *authflow.HigherLevelRequiredError
	switch {
	case errors.Is(err, authflow.ErrUnmetAuthenticationRequirements):
		oerr = protocol.ErrUnmet("the requested authentication level cannot be met for this user")
	case errors.As(err, &higher):
		oerr = oidc.ErrLoginRequired().WithDescription(descHigherLevelRequired, higher.ACR)
	case errors.Is(err, authflow.ErrLoginRequired):
		oerr = oidc.ErrLoginRequired().WithDescription(descLoginRequired)
	default:
		h.Web.ServerError(w, r, "authflow", err)
		return
	}
	h.Audit.Record(r.Context(), storage.Event{Type: "login.refused", UserID: userID, ClientID: ar.GetClientID(),
		Outcome: "failure", Details: map[string]string{"error": string(oerr.ErrorType)}})
	if !ar.Unsaved {
		_ = h.Store.DeleteAuthRequest(r.Context(), ar.GetID())
	}
	h.Browser.ClearBinding(w, ar.GetID())
	if ar.Data.Return != "" {
		h.Web.Message(w, r, http.StatusForbidden, web.TitleCannotContinue,
			web.MsgNoSecondMethod)
		return
	}
	if ar.Data.ExternalMFA != nil { // zitadel's error answer is no form_post
		protocol.WriteFormPostError(w, ar.Data.RedirectURI, ar.GetState(), oerr)
		return
	}
	op.AuthRequestError(w, r, ar, oerr, h.OP)
}

// decideFromFactors asks authflow without the user's methods, which cost
// plugin calls. Without them authflow can only say "first factor" or
// "done", and "done" at a level the request did not ask for may just mean
// the methods are unknown: final says whether the decision stands.
func (h *Handler) decideFromFactors(ar *protocol.AuthRequest, factors []authflow.Factor) (d authflow.Decision, final bool) {
	req := flowRequest(ar)
	d = authflow.Decide(h.Policy, req, factors, nil, h.Now())
	return d, d.Step == authflow.StepDone && (len(req.ACRValues) == 0 || slices.Contains(req.ACRValues, d.Result.ACR))
}

// completeFactor ends a form post that completed factor f: it stores the
// rotated session with the factor and the post's audit events and, when
// that was the last factor the request needs, completes the request too,
// all in one write. Then it answers the client directly when the login is
// done (one redirect, as Keycloak and Okta do), or sends the browser back
// to /login for the next step. renew names a method the factor used up:
// the request is then left for /login, which asks to set it up again
// (renewNotice) before it answers the client.
func (h *Handler) completeFactor(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, old storage.Session, user storage.User, f storage.Factor, renew string, events ...storage.Event) {
	h.completeFactors(w, r, ar, old, user, []storage.Factor{f}, renew, events...)
}

// completeFactors is completeFactor for the factors of one step (an
// upstream sign-in that did a second factor too).
func (h *Handler) completeFactors(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, old storage.Session, user storage.User, fs []storage.Factor, renew string, events ...storage.Event) {
	ctx := r.Context()
	next := old
	for _, f := range fs {
		next = h.Browser.NextSession(next, user.ID, f)
	}
	lw := storage.LoginWrite{OldSessionID: old.ID, Session: next}
	var done *protocol.AuthRequest
	final := false
	if renew == "" && (ar.Data.HintSubject == "" || ar.Data.HintSubject == user.ID) {
		var d authflow.Decision
		if d, final = h.decideFromFactors(ar, browser.Factors(next.Factors)); final {
			lw.AuthRequestID, lw.Update = ar.GetID(), h.completion(ar, next, user, d.Result, &done)
			events = append(events, loginCompleted(ar, user, d.Result))
		}
	}
	lw.Events = h.Audit.Complete(ctx, events...)
	if _, err := h.Store.SaveLogin(ctx, lw); errors.Is(err, errRequestCompleted) {
		h.refuseForeign(w, r, ar, true)
		return
	} else if err != nil {
		h.Web.ServerError(w, r, "save session", err)
		return
	}
	if err := h.Browser.SetSession(w, r, next.ID); err != nil {
		h.Web.ServerError(w, r, "save session cookie", err)
		return
	}
	if !final {
		next := "/login?id=" + url.QueryEscape(ar.GetID())
		if renew != "" {
			next += "&" + renewParam + "=" + url.QueryEscape(renew)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.respond(w, r, done)
}

// finish completes a request the session already satisfies and answers
// the client; events are stored with the completion.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, sess storage.Session, user storage.User, res authflow.Result, events ...storage.Event) {
	ctx := r.Context()
	var done *protocol.AuthRequest
	_, err := h.Store.SaveLogin(ctx, storage.LoginWrite{AuthRequestID: ar.GetID(), Update: h.completion(ar, sess, user, res, &done),
		Events: h.Audit.Complete(ctx, append(events, loginCompleted(ar, user, res))...)})
	if errors.Is(err, errRequestCompleted) {
		h.refuseForeign(w, r, ar, true)
		return
	}
	if err != nil {
		h.Web.ServerError(w, r, "complete auth request", err)
		return
	}
	h.respond(w, r, done)
}

// completion is the update that records the outcome on ar; done receives
// the completed request. The request, and so its code, then lives at most
// tokens.code_ttl more. A request completes once: the update refuses one
// that is done already (errRequestCompleted), so of two racing steps one
// wins and the other changes nothing.
func (h *Handler) completion(ar *protocol.AuthRequest, sess storage.Session, user storage.User, res authflow.Result, done **protocol.AuthRequest) func(storage.AuthRequest) (storage.AuthRequest, error) {
	return func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		if cur.Done {
			return cur, errRequestCompleted
		}
		next, err := ar.AsStored(cur)
		if err != nil {
			return cur, err
		}
		next.Data.Subject, next.Data.ACR, next.Data.AMR, next.Data.AuthTime = user.ID, res.ACR, res.AMR, res.AuthTime
		next.Stored.UserID, next.Stored.SessionID, next.Stored.Done = user.ID, sess.ID, true
		if codeExpiry := h.Now().Add(h.Config.Tokens.CodeTTL); next.Stored.ExpiresAt.IsZero() || codeExpiry.Before(next.Stored.ExpiresAt) {
			next.Stored.ExpiresAt = codeExpiry
		}
		*done = next
		return next.Encode(), nil
	}
}

func loginCompleted(ar *protocol.AuthRequest, user storage.User, res authflow.Result) storage.Event {
	return storage.Event{Type: "login.completed", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success",
		Details: map[string]string{"acr": res.ACR, "amr": strings.Join(res.AMR, " ")}}
}

// respond answers for a completed request: the client gets zitadel's
// AuthResponse (the code, or form_post), sparing the browser a trip
// through the authorize callback; stepup's own pages get their redirect.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, done *protocol.AuthRequest) {
	ctx := r.Context()
	h.Browser.ClearBinding(w, done.GetID())
	if done.Data.Return != "" { // stepup's own page asked for this login
		_ = h.Store.DeleteAuthRequest(ctx, done.GetID())
		http.Redirect(w, r, done.Data.Return, http.StatusFound)
		return
	}
	ctx = reqctx.Update(op.ContextWithIssuer(ctx, h.Config.Issuer), func(v *reqctx.Values) { v.ClientID = done.GetClientID() })
	if done.GetResponseMode() == oidc.ResponseModeFormPost {
		held, finish := protocol.SelfSubmitting(w, done.GetRedirectURI())
		defer finish()
		w = held
	}
	op.AuthResponse(done, h.OP, w, r.WithContext(ctx))
}

// renderLogin shows the password form of a request.
func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, ar *protocol.AuthRequest, username, formError string) {
	p := web.Page{Title: web.TitleSignIn, RequestID: ar.GetID(), FormTarget: ar.FormTarget(), Username: username, Error: formError,
		Passkey: h.passkey(r.Context(), ar)}
	if h.upstreamFirst() {
		p.Upstream = upstreamLoginLink(ar)
	}
	h.Web.Render(w, r, status, "login.html", p)
}

// handleLoginPost checks a username and password (the first factor).
func (h *Handler) handleLoginPost(w http.ResponseWriter, r *http.Request) {
	ar, ok := h.loadRequest(w, r, r.PostFormValue("id"))
	if !ok {
		return
	}
	ctx := r.Context()
	sess, _, err := h.Browser.Session(r)
	if err != nil {
		h.Web.ServerError(w, r, "load session", err)
		return
	}
	if h.upstreamFirst() && !h.Upstream.Config.LocalPasswords {
		h.Web.Message(w, r, http.StatusForbidden, web.TitleCannotSignIn, web.MsgPasswordsUpstreamOnly)
		return
	}
	username := normalizeUsername(r.PostFormValue("username"))
	pw := r.PostFormValue("password")
	if username == "" || pw == "" {
		h.renderLogin(w, r, http.StatusBadRequest, ar, username, web.MsgMissingFields)
		return
	}
	user, err := h.checkPassword(ctx, username, pw, ar.GetClientID())
	if err != nil {
		var locked lockedError
		switch {
		case errors.Is(err, password.ErrBusy):
			w.Header().Set("Retry-After", "1")
			h.renderLogin(w, r, http.StatusServiceUnavailable, ar, username, web.MsgBusy)
			return
		case errors.As(err, &locked), errors.Is(err, errBadCredentials), errors.Is(err, errInactive):
		default:
			h.Web.ServerError(w, r, "check password", err)
			return
		}
		h.renderLogin(w, r, http.StatusUnauthorized, ar, username, userMessage(err))
		return
	}
	if h.upstreamFirst() && user.UpstreamIssuer != "" { // local passwords are for local accounts only
		h.Audit.Record(ctx, storage.Event{Type: "login.password.failed", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "denied",
			Details: map[string]string{"reason": "linked to upstream"}})
		h.renderLogin(w, r, http.StatusUnauthorized, ar, username, web.MsgUpstreamLinkedNoPassword)
		return
	}
	h.completeFactor(w, r, ar, sess, user, storage.Factor{Method: "password", First: true, AMR: []string{"pwd"}, Time: h.Now()}, "")
}

var (
	errBadCredentials = errors.New("bad credentials")
	errInactive       = errors.New("inactive user")
)

type lockedError struct{ until time.Time }

func (e lockedError) Error() string { return "locked until " + e.until.Format(time.RFC3339) }

// userMessage turns a first-factor error into what the page says. A locked
// password reads as a wrong one, right password or not, as Keycloak and
// Okta answer: saying "locked" would tell that the account exists, and
// saying it only for the right password would confirm a guess.
func userMessage(err error) string {
	if errors.Is(err, errInactive) {
		return web.MsgInactive
	}
	return web.MsgBadCredentials
}

// normalizeUsername is the typed name as sign-in compares it (package
// username). A name that can never be valid comes back as typed, trimmed,
// for the form to show again; checkPassword refuses it like an unknown one.
func normalizeUsername(u string) string {
	if name, err := username.Normalize(u); err == nil {
		return name
	}
	return strings.Trim(u, " ")
}

// checkPassword verifies the first factor. Every attempt costs one password
// hash, known name or not, and a locked password answers as a wrong one
// (userMessage), so neither the answer nor its work tells who has an
// account; an inactive user is told so only after the right password
// (SPEC §7). Failures count per user and source address and per user
// across all sources (passwordLocks); a success clears both counts.
func (h *Handler) checkPassword(ctx context.Context, typed, pw, clientID string) (storage.User, error) {
	leave, err := h.Gate.Enter(ctx) // bounds the memory of the hashes at once
	if err != nil {
		h.Metrics.RateLimited.WithLabelValues("password.busy").Inc()
		return storage.User{}, err
	}
	defer leave()
	now := h.Now()
	user := storage.User{}
	err = storage.ErrNotFound
	name, invalid := username.Normalize(typed)
	if invalid == nil {
		user, err = h.Store.GetUserByUsername(ctx, name)
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, err
	}
	if err != nil || user.PasswordHash == "" {
		h.verifyDummy(pw)
		reason := "unknown user"
		if invalid != nil {
			reason = "invalid username"
		}
		h.Metrics.Logins.WithLabelValues("failure").Inc()
		h.Audit.Record(ctx, storage.Event{Type: "login.password.failed", ClientID: clientID, Outcome: "failure",
			Details: map[string]string{"reason": reason}})
		return storage.User{}, errBadCredentials
	}
	locks := h.passwordLocks(user.ID, reqctx.From(ctx).RemoteAddr)
	states := make([]storage.Lockout, len(locks))
	for i, l := range locks {
		if states[i], err = h.Store.GetLockout(ctx, l.key, now); err != nil {
			return storage.User{}, err
		}
	}
	ok, err := h.verifyPassword(user.PasswordHash, pw)
	if err != nil {
		return storage.User{}, fmt.Errorf("user %s: %w", user.ID, err)
	}
	for i, l := range locks {
		if states[i].Locked(now) {
			h.Metrics.Logins.WithLabelValues("locked").Inc()
			h.Audit.Record(ctx, storage.Event{Type: "login.password.locked", UserID: user.ID, ClientID: clientID, Outcome: "denied",
				Details: map[string]string{"scope": l.scope, "until": states[i].LockedUntil.Format(time.RFC3339)}})
			return storage.User{}, lockedError{states[i].LockedUntil}
		}
	}
	if !ok {
		h.Metrics.Logins.WithLabelValues("failure").Inc()
		h.Audit.Record(ctx, storage.Event{Type: "login.password.failed", UserID: user.ID, ClientID: clientID, Outcome: "failure",
			Details: map[string]string{"reason": "wrong password"}})
		refusal := errBadCredentials
		for _, l := range locks {
			// The lockout's event is written with the failure that starts it.
			locked := h.Audit.Fill(ctx, storage.Event{Type: "lockout.started", UserID: user.ID, ClientID: clientID, Outcome: "denied",
				Details: map[string]string{"method": "password", "scope": l.scope, "until": now.Add(h.Config.Lockout.Duration).Format(time.RFC3339)}})
			state, err := h.Store.RecordFailure(ctx, l.key, l.max, h.Config.Lockout.Duration, now, locked...)
			if err != nil {
				return storage.User{}, err
			}
			if state.Locked(now) {
				h.Audit.Logged(locked[0])
				h.Metrics.Lockouts.WithLabelValues("password").Inc()
				refusal = lockedError{state.LockedUntil}
			}
		}
		return storage.User{}, refusal
	}
	if !user.Active {
		h.Metrics.Logins.WithLabelValues("inactive").Inc()
		h.Audit.Record(ctx, storage.Event{Type: "login.password.failed", UserID: user.ID, ClientID: clientID, Outcome: "denied",
			Details: map[string]string{"reason": "inactive user"}})
		return storage.User{}, errInactive
	}
	for i, l := range locks {
		if states[i].Failures > 0 {
			if err := h.Store.ResetFailures(ctx, l.key); err != nil {
				return storage.User{}, err
			}
		}
	}
	h.Metrics.Logins.WithLabelValues("success").Inc()
	h.Audit.Record(ctx, storage.Event{Type: "login.password.succeeded", UserID: user.ID, ClientID: clientID, Outcome: "success"})
	return user, nil
}
