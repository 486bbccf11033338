package login

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// Passwordless sign-in (SPEC §4): a method that declares
// sdk.Description.FirstFactor (a discoverable passkey) gets a challenge on
// the sign-in page before anyone is known, and its verification names the
// user. With the authenticator's user verification ("user" in its amr) the
// factor is both factors at once (authflow.Factor.Both).

// passkey begins, or finds, the request's first-factor challenge of the
// first healthy method that offers one, for the sign-in page; nil when
// there is none (the page then shows the password form only).
func (h *Handler) passkey(ctx context.Context, ar *protocol.AuthRequest) *web.Passkey {
	if ar.Unsaved {
		return nil // a request refused before it was kept
	}
	for _, m := range h.Methods.All() {
		if !m.Description().FirstFactor || !m.Healthy() {
			continue
		}
		ch, err := h.challengeFor(ctx, ar, storage.User{}, m.Name(), "")
		if err != nil {
			h.Log.Warn("begin passwordless challenge", "method", m.Name(), "err", err)
			continue
		}
		if opts := ch.Public[sdk.PublicWebAuthnRequest]; opts != "" {
			return &web.Passkey{Method: m.Name(), Label: h.Methods.DisplayName(m.Name()), Options: opts}
		}
	}
	return nil
}

// handlePasskeyPost checks the answer to the sign-in page's first-factor
// challenge: the method says which user it was, who then has the factor.
func (h *Handler) handlePasskeyPost(w http.ResponseWriter, r *http.Request) {
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
	name := r.PostFormValue("method")
	m, known := h.Methods.Get(name)
	ch, begun := challengeOf(ar, name, "")
	if !known || !m.Description().FirstFactor || !begun || !h.Now().Before(ch.ExpiresAt) {
		h.renderLogin(w, r, http.StatusBadRequest, ar, "", web.MsgChallengeAgain)
		return
	}
	response := map[string]string{}
	for _, f := range ch.Fields {
		response[f.Name] = r.PostFormValue(f.Name)
	}
	res, err := m.Verify(ctx, sdk.VerifyRequest{ChallengeID: ch.ID, Response: response})
	ev := storage.Event{Type: "login.passkey.failed", ClientID: ar.GetClientID(), Outcome: "failure", Details: map[string]string{"method": name}}
	var user storage.User
	if err == nil {
		user, err = h.Store.GetUser(ctx, res.UserID)
		if errors.Is(err, storage.ErrNotFound) {
			err = sdk.ErrInvalidResponse // a passkey of a user deleted since
		}
	}
	if err == nil {
		ev.UserID = user.ID
		var lock storage.Lockout
		if lock, err = h.Store.GetLockout(ctx, methods.LockoutKey(name, user.ID), h.Now()); err == nil &&
			(lock.Locked(h.Now()) || (ar.Data.HintSubject != "" && ar.Data.HintSubject != user.ID)) {
			err = sdk.ErrInvalidResponse // locked, or not the user the client named
		}
	}
	if err == nil && !user.Active {
		ev.Details["reason"] = "inactive user"
		h.Audit.Record(ctx, ev)
		h.renderLogin(w, r, http.StatusUnauthorized, ar, "", web.MsgInactive)
		return
	}
	if err != nil {
		status, msg := http.StatusUnauthorized, web.MsgPasskeyRefused
		switch {
		case errors.Is(err, sdk.ErrInvalidInput): // the browser refused: its sentence
			status, msg = http.StatusBadRequest, sdk.UserMessage(err)
		case errors.Is(err, sdk.ErrInvalidResponse):
			if reason := err.Error(); reason != sdk.ErrInvalidResponse.Error() {
				ev.Details["error"] = auditedReason(reason)
			}
			h.Metrics.Verifications.WithLabelValues(name, "failure").Inc()
			h.Audit.Record(ctx, ev)
		case storage.Unavailable(err):
			h.Web.ServerError(w, r, "passkey sign-in", err)
			return
		default:
			h.Log.Warn("passkey sign-in", "method", name, "err", err)
			status, msg = http.StatusServiceUnavailable, web.MsgMethodDown
		}
		h.renderLogin(w, r, status, ar, "", msg)
		return
	}
	h.Metrics.Verifications.WithLabelValues(name, "success").Inc()
	f := storage.Factor{Method: name, First: true, Both: slices.Contains(res.AMR, "user"),
		Levels: authflow.Within(m.Description().Levels, res.Levels), AMR: res.AMR, Time: h.Now()}
	if !f.Both {
		f.Levels = nil // a passkey without user verification identifies the user only
	}
	h.completeFactor(w, r, ar, sess, user, f, "",
		storage.Event{Type: "verification.succeeded", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success",
			Details: map[string]string{"method": name, "step": "first-factor"}},
		storage.Event{Type: "login.passkey.succeeded", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success",
			Details: map[string]string{"method": name}})
}
