package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// continueParam, on /login, says the user read the lock notice and goes on
// at the level reached (see lockedNotice; locked.html links with it).
const continueParam = "continue"

// lockedNotice shows, instead of finishing at once, why a voluntary
// request ends below every level it asked for: the methods that could
// reach it are locked (authflow's StepDone with Locked), and until when.
// Its Continue link finishes at the level reached, as SPEC §4 says (the
// relying party decides). Never with prompt=none, which shows nothing. It
// reports whether it showed the page.
func (s *Server) lockedNotice(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, d authflow.Decision) bool {
	if len(d.Locked) == 0 || ar.HasPrompt(oidc.PromptNone) || r.URL.Query().Get(continueParam) != "" {
		return false
	}
	p := web.Page{Title: web.TitleVerificationLocked, RequestID: ar.GetID(), Username: user.Username, Notice: web.MsgLockedGoOn}
	for _, l := range d.Locked {
		p.Locked = append(p.Locked, fmt.Sprintf(web.MsgMethodLocked, s.displayName(l.Name), l.Until.UTC().Format("15:04")))
	}
	s.web.Render(w, r, http.StatusOK, "locked.html", p)
	return true
}

// offered returns the methods the decision offers, first one first.
func offered(d authflow.Decision) []string { return append([]string{d.Method}, d.Others...) }

// showMethod renders the challenge page of the chosen method.
func (s *Server) showMethod(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, d authflow.Decision, want, formError string, status int) {
	name := d.Method
	if want != "" && slices.Contains(offered(d), want) {
		name = want
	}
	p := web.Page{Title: web.TitleVerify, RequestID: ar.GetID(), FormTarget: ar.FormTarget(), Username: user.Username, Error: formError}
	for _, other := range offered(d) {
		if other != name {
			p.Others = append(p.Others, web.Link{Name: other, Label: s.displayName(other)})
		}
	}
	for _, l := range d.Locked {
		p.Locked = append(p.Locked, fmt.Sprintf(web.MsgMethodLocked, s.displayName(l.Name), l.Until.Format("15:04")))
	}
	ch, err := s.challengeFor(r.Context(), ar, user, name)
	if err != nil {
		s.log.Warn("begin challenge", "method", name, "err", err)
		if err := s.saveCreated(r.Context(), ar); err != nil { // the page links to it
			s.serverError(w, r, "save auth request", err)
			return
		}
		p.Error = web.MsgMethodDown
		s.web.Render(w, r, http.StatusServiceUnavailable, "method.html", p)
		return
	}
	p.Method, p.MethodLabel, p.Prompt, p.Fields = name, s.displayName(name), ch.Prompt, ch.Fields
	s.web.Render(w, r, status, "method.html", p)
}

// challengeFor returns the request's live challenge of the user for a
// method, or begins one and keeps it on the request (so any replica can
// verify it), storing the request with it if it was created in place.
func (s *Server) challengeFor(ctx context.Context, ar *protocol.AuthRequest, user storage.User, name string) (protocol.Challenge, error) {
	if ch, ok := challengeOf(ar, name, user.ID); ok && s.now().Before(ch.ExpiresAt) {
		return ch, nil
	}
	m := s.methods[name]
	var c sdk.Challenge
	err := s.timed(name, "begin", func() (err error) {
		c, err = m.plugin.Begin(ctx, sdk.BeginRequest{User: sdkUser(user)})
		return err
	})
	if err != nil {
		return protocol.Challenge{}, err
	}
	ch := protocol.Challenge{UserID: user.ID, ID: c.ID, Prompt: c.Prompt, Public: c.Public, ExpiresAt: c.ExpiresAt}
	if ch.ExpiresAt.IsZero() {
		ch.ExpiresAt = s.now().Add(5 * time.Minute)
	}
	ch.Fields = fieldsOf(c.Fields)
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
			err = s.store.CreateAuthRequest(ctx, stored)
		}
		ar.Unsaved = err != nil
	} else {
		stored, err = s.store.UpdateAuthRequest(ctx, ar.GetID(), begun)
	}
	if err != nil {
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

// fieldsOf keeps a plugin's form fields for the page.
func fieldsOf(fs []sdk.Field) []web.FormField {
	out := make([]web.FormField, 0, len(fs))
	for _, f := range fs {
		out = append(out, web.FormField{Name: f.Name, Label: f.Label, Type: f.Type, Autocomplete: f.Autocomplete,
			InputMode: f.InputMode, Pattern: f.Pattern, MaxLength: f.MaxLength})
	}
	return out
}

// handleVerifyPost checks a response to a method challenge.
func (s *Server) handleVerifyPost(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.loadRequest(w, r, r.PostFormValue("id"))
	if !ok {
		return
	}
	ctx := r.Context()
	again := "/login?id=" + ar.GetID()
	sess, user, err := s.browserSession(r)
	if err != nil {
		s.serverError(w, r, "load session", err)
		return
	}
	if user.ID == "" || (ar.Data.HintSubject != "" && ar.Data.HintSubject != user.ID) {
		http.Redirect(w, r, again, http.StatusSeeOther)
		return
	}
	// decide is what the page needs when the response cannot be checked:
	// it asks the plugins, so the common path (a live challenge that this
	// request offered) does without.
	decide := func() (authflow.Decision, bool) {
		methods, err := s.userMethods(ctx, user)
		if err != nil {
			s.serverError(w, r, "user methods", err)
			return authflow.Decision{}, false
		}
		d := authflow.Decide(s.policy, flowRequest(ar), flowFactors(sess.Factors), methods, s.now())
		if d.Step != authflow.StepMethod {
			http.Redirect(w, r, again, http.StatusSeeOther)
			return d, false
		}
		return d, true
	}
	name := r.PostFormValue("method")
	m, known := s.methods[name]
	ch, begun := challengeOf(ar, name, user.ID) // another user's is not this user's failure
	lock, err := s.store.GetLockout(ctx, lockoutKey(name, user.ID), s.now())
	if err != nil {
		s.serverError(w, r, "lockout", err)
		return
	}
	if !known || !begun || !s.now().Before(ch.ExpiresAt) || lock.Locked(s.now()) {
		d, ok := decide()
		if !ok {
			return
		}
		switch {
		case !slices.Contains(offered(d), name):
			s.showMethod(w, r, ar, user, d, "", web.MsgNotOffered, http.StatusBadRequest)
		default:
			s.showMethod(w, r, ar, user, d, name, web.MsgChallengeAgain, http.StatusBadRequest)
		}
		return
	}
	response := map[string]string{}
	for _, f := range ch.Fields {
		response[f.Name] = r.PostFormValue(f.Name)
	}
	var res sdk.Result
	err = s.timed(name, "verify", func() (err error) {
		res, err = m.plugin.Verify(ctx, sdk.VerifyRequest{UserID: user.ID, ChallengeID: ch.ID, Response: response})
		return err
	})
	if err != nil {
		s.verifyFailed(w, r, ar, user, decide, name, err)
		return
	}
	if lock.Failures > 0 {
		if err := s.store.ResetFailures(ctx, lockoutKey(name, user.ID)); err != nil {
			s.serverError(w, r, "reset failures", err)
			return
		}
	}
	amr := res.AMR
	if len(amr) == 0 {
		amr = m.desc.AMR
	}
	s.metrics.Verifications.WithLabelValues(name, "success").Inc()
	events := []storage.Event{{Type: "verification.succeeded", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success",
		Details: map[string]string{"method": name}}}
	if m.desc.UsedEvent != "" {
		events = append(events, storage.Event{Type: m.desc.UsedEvent, UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success"})
	}
	s.completeFactor(w, r, ar, sess, user, storage.Factor{Method: name, Levels: m.desc.Levels, AMR: amr, Time: s.now()}, events...)
}

// verifyFailed counts a failure towards the lockout, audits it and shows
// the page again with what went wrong.
func (s *Server) verifyFailed(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, decide func() (authflow.Decision, bool), name string, err error) {
	ctx := r.Context()
	now := s.now()
	ev := storage.Event{Type: "verification.failed", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "failure",
		Details: map[string]string{"method": name}}
	var msg string
	var status int
	switch {
	case errors.Is(err, sdk.ErrInvalidResponse):
		s.metrics.Verifications.WithLabelValues(name, "failure").Inc()
		s.audit(ctx, ev)
		lock, lerr := s.store.RecordFailure(ctx, lockoutKey(name, user.ID), s.cfg.Lockout.MaxFailures, s.cfg.Lockout.Duration, now)
		if lerr != nil {
			s.serverError(w, r, "record failure", lerr)
			return
		}
		if lock.Locked(now) {
			s.metrics.Lockouts.WithLabelValues(name).Inc()
			s.audit(ctx, storage.Event{Type: "lockout.started", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "denied",
				Details: map[string]string{"method": name, "until": lock.LockedUntil.Format(time.RFC3339)}})
			// The page the user comes back to names the lock and when it
			// lifts, and offers the next method, if any.
			http.Redirect(w, r, "/login?id="+ar.GetID(), http.StatusSeeOther)
			return
		}
		msg, status = web.MsgWrongResponse, http.StatusUnauthorized
	case errors.Is(err, sdk.ErrRateLimited):
		// Not a failure: nothing was checked, and the lockout is not fed.
		s.metrics.RateLimited.WithLabelValues(name + ".verify").Inc()
		until, _ := sdk.RetryAfter(err)
		ev.Type, ev.Outcome = "verification.rate_limited", "denied"
		msg, status = web.MsgTooManyTries, http.StatusTooManyRequests
		if !until.IsZero() {
			ev.Details["until"] = until.UTC().Format(time.RFC3339)
			msg = fmt.Sprintf(web.MsgRateLimited, until.UTC().Format("15:04"))
		}
		s.audit(ctx, ev)
	case errors.Is(err, sdk.ErrInvalidInput):
		msg, status = sdk.UserMessage(err), http.StatusBadRequest
	default:
		s.log.Warn("verify", "method", name, "err", err)
		msg, status = web.MsgMethodDown, http.StatusServiceUnavailable
	}
	if d, ok := decide(); ok {
		s.showMethod(w, r, ar, user, d, name, msg, status)
	}
}
