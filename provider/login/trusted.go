package login

import (
	"errors"
	"net/http"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// trustParam is the challenge form's "don't ask again on this browser"
// checkbox (browser.Trust).
const trustParam = "trust"

// spareByTrust decides again, with the factor the browser's trust stands
// for, a login that d would send to a method (or, with prompt=none, fail
// for want of one). When that finishes it, the
// browser spares the user the second factor: the decision is returned
// with the event that says so, and the trust is marked used. Otherwise d
// stands: at a level a trust never reaches (aal3), past max_age or with
// prompt=login (the trust's factor is as old as the trust), or for
// stepup's own pages (re-verifying before a change on /account, the help
// desk's page), which ask for a factor done now. A cookie that spares
// nothing (unknown, expired, another user's) is audited; an unknown one
// is cleared.
func (h *Handler) spareByTrust(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User,
	factors []authflow.Factor, ms []authflow.Method, d authflow.Decision) (authflow.Decision, []storage.Event, error) {
	var higher *authflow.HigherLevelRequiredError // prompt=none where a method would be asked
	asks := d.Step == authflow.StepMethod || (d.Step == authflow.StepError && errors.As(d.Err, &higher))
	if !asks || ar.Data.Return != "" || !h.Trust.Enabled() {
		return d, nil, nil
	}
	ctx := r.Context()
	look, err := h.Trust.Lookup(r, user.ID)
	if err != nil {
		return d, nil, err
	}
	if look.Refused != "" {
		h.trustRefused(w, r, ar, user, look.Browser, look.Refused)
		return d, nil, nil
	}
	if !look.OK {
		return d, nil, nil
	}
	spared := authflow.Decide(h.Policy, flowRequest(ar), append(factors[:len(factors):len(factors)], look.Factor), ms, h.Now())
	if spared.Step != authflow.StepDone {
		return d, nil, nil
	}
	if err := h.Store.TouchTrustedBrowser(ctx, look.Browser.Hash, h.Now()); errors.Is(err, storage.ErrNotFound) {
		h.trustRefused(w, r, ar, user, look.Browser, browser.RefusedUnknown) // forgotten meanwhile
		return d, nil, nil
	} else if err != nil {
		return d, nil, err
	}
	return spared, []storage.Event{{Type: "trusted_browser.used", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success",
		Details: map[string]string{"browser": look.Browser.ID, "method": look.Browser.Method, "acr": spared.Result.ACR}}}, nil
}

// trustRefused audits a trust cookie that spared nothing, and has the
// browser drop one that names no live trust.
func (h *Handler) trustRefused(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, b storage.TrustedBrowser, reason string) {
	details := map[string]string{"reason": reason}
	if b.ID != "" {
		details["browser"] = b.ID
	}
	h.Audit.Record(r.Context(), storage.Event{Type: "trusted_browser.refused", UserID: user.ID, ClientID: ar.GetClientID(),
		Outcome: "denied", Details: details})
	if reason == browser.RefusedUnknown {
		h.Trust.Clear(w)
	}
}

// rememberBrowser trusts the browser after the second factor f of a
// verification whose form asked for it, when the method may make a
// browser trusted. Failing to remember costs the user only the
// convenience: it is logged, and the sign-in goes on.
func (h *Handler) rememberBrowser(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, f storage.Factor) {
	ctx := r.Context()
	_, err := h.Trust.Remember(w, r, user.ID, f, func(b storage.TrustedBrowser) []storage.Event {
		return h.Audit.Complete(ctx, storage.Event{Type: "trusted_browser.trusted", UserID: user.ID, ClientID: ar.GetClientID(), Outcome: "success",
			Details: map[string]string{"browser": b.ID, "method": b.Method, "name": b.Name, "expires_at": b.ExpiresAt.Format(time.RFC3339)}})
	})
	if err != nil {
		h.Log.Error("trust browser", "user", user.ID, "err", err)
	}
}
