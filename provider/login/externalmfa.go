package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/upstream"
	"github.com/stepup-mfa/stepup/provider/web"
)

// External MFA (SPEC §11): an identity provider that signed its user in
// (Entra ID External Authentication Methods, Okta's IdP authenticator)
// sends the browser to the authorization endpoint with an id_token_hint
// it signed and asks for an ID token by form_post. The hint is checked
// here, before zitadel, which would check it against stepup's own keys;
// its user then runs the second factor alone, on the usual challenge
// pages, with no password and no stepup session: the hint may be
// expired, and a copy of it must not sign anyone in to stepup itself.
// The answer is the ID token of that one factor: the hint's sub, one
// requested acr, and amr [the method used]. What stepup cannot satisfy is
// an OIDC error in the form_post; a hint it cannot trust is an error
// page, never an answer, and an audit event.

// Descriptions of the OIDC errors of an external-MFA answer.
const (
	descNonceRequired = "nonce is required: the ID token carries it back to bind it to this request"
	descUserInactive  = "the user is deactivated here"
	descNoFactor      = "no verification method of this user can meet the requested level"
	descAMRUnmet      = "the method the user completed (%s) is not among the amr values the request accepts"
)

// hintFactorMethod names the first factor the hint stands for.
const hintFactorMethod = "id_token_hint"

// isExternalMFA reports whether clientID is an external-MFA client.
func (h *Handler) isExternalMFA(clientID string) bool {
	c, ok := h.Clients[clientID]
	return ok && c.Config().ExternalMFA
}

// authorizeExternalMFA checks an external-MFA client's authorization
// request (its form parsed) and hands it to zitadel (next) with its
// user in reqctx and the hint taken out of the form.
func (h *Handler) authorizeExternalMFA(w http.ResponseWriter, r *http.Request, next http.Handler) {
	ctx := r.Context()
	clientID, redirect, state := r.Form.Get("client_id"), r.Form.Get("redirect_uri"), r.Form.Get("state")
	auditID := clientID // a repeated client_id may be anything: the audit log keeps a bounded, valid prefix
	if len(auditID) > 64 {
		auditID = strings.ToValidUTF8(auditID[:64], "")
	}
	refuse := func(reason, msg string) {
		h.Audit.Record(ctx, storage.Event{Type: "login.hint_refused", ClientID: auditID, Actor: "client:" + auditID,
			Outcome: "failure", Details: map[string]string{"reason": reason}})
		h.Web.Message(w, r, http.StatusBadRequest, web.TitleExternalMFARefused, msg)
	}
	answer := func(userID string, e *oidc.Error) {
		h.Audit.Record(ctx, storage.Event{Type: "login.refused", UserID: userID, ClientID: auditID, Outcome: "failure",
			Details: map[string]string{"error": string(e.ErrorType)}})
		protocol.WriteFormPostError(w, redirect, state, e)
	}
	for _, name := range []string{"client_id", "redirect_uri", "response_type", "response_mode", "nonce", "state", "id_token_hint", "claims"} {
		if len(r.Form[name]) > 1 { // RFC 6749 §3.1: never more than once; zitadel would read another one
			refuse("repeated "+name, fmt.Sprintf(web.MsgHintRepeated, name))
			return
		}
	}
	if !h.isExternalMFA(clientID) || !h.Clients[clientID].RegisteredRedirect(redirect) {
		h.authorizeInPlace(w, r, next) // zitadel refuses it, with its page
		return
	}
	if r.Form.Get("response_mode") != string(oidc.ResponseModeFormPost) || r.Form.Get("response_type") != string(oidc.ResponseTypeIDTokenOnly) {
		refuse("not response_type=id_token with response_mode=form_post", web.MsgHintNotFormPost)
		return
	}
	raw := r.Form.Get("id_token_hint")
	if raw == "" || h.Hints == nil {
		refuse("no id_token_hint", web.MsgHintMissing)
		return
	}
	if r.Form.Get("nonce") == "" {
		answer("", oidc.ErrInvalidRequest().WithDescription(descNonceRequired))
		return
	}
	hint, err := h.Hints.Verify(ctx, raw)
	if err != nil {
		reason := upstream.Reason(err)
		h.Log.Warn("id_token_hint refused", "client", clientID, "err", err) // the detail, never the hint
		refuse(reason, fmt.Sprintf(web.MsgHintRefused, reason))
		return
	}
	amr, err := claimsAMR(r.Form.Get("claims"))
	if err != nil {
		answer("", oidc.ErrInvalidRequest().WithDescription("invalid claims parameter: %s", err.Error()))
		return
	}
	user, err := h.Accounts.HintUser(ctx, h.Hints.Issuer, hint, clientID)
	var uerr *upstream.Error
	switch {
	case errors.Is(err, upstream.ErrNotLinked):
		refuse("no linked user", web.MsgHintUnknownUser)
		return
	case errors.As(err, &uerr) && uerr.Kind == upstream.UsernameTaken:
		refuse(uerr.Kind.String(), fmt.Sprintf(web.MsgHintNameTaken, hint.Username))
		return
	case errors.As(err, &uerr) && (uerr.Kind == upstream.UsernameInvalid || uerr.Kind == upstream.UsernameMissing):
		refuse(uerr.Kind.String(), fmt.Sprintf(web.MsgHintBadName, hint.Username))
		return
	case err != nil:
		h.Web.ServerError(w, r, "user of id_token_hint", err)
		return
	}
	if !user.Active {
		answer(user.ID, oidc.ErrAccessDenied().WithDescription(descUserInactive))
		return
	}
	delete(r.Form, "id_token_hint")
	delete(r.PostForm, "id_token_hint")
	ctx = reqctx.Update(ctx, func(v *reqctx.Values) {
		v.ExternalMFA = &reqctx.ExternalMFA{UserID: user.ID, Subject: hint.Subject, AMR: amr}
	})
	h.authorizeInPlace(w, r.WithContext(ctx), next)
}

// claimsAMR reads the amr values the claims parameter accepts for the ID
// token ({"id_token":{"amr":{"essential":true,"values":[...]}}}).
func claimsAMR(raw string) ([]string, error) {
	if raw == "" {
		return nil, nil
	}
	var req struct {
		IDToken struct {
			AMR *struct {
				Value  string   `json:"value"`
				Values []string `json:"values"`
			} `json:"amr"`
		} `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		return nil, err
	}
	if req.IDToken.AMR == nil {
		return nil, nil
	}
	out := req.IDToken.AMR.Values
	if v := req.IDToken.AMR.Value; v != "" {
		out = append([]string{v}, out...)
	}
	return out, nil
}

// hintFactors are the factors an external-MFA request starts with: the
// first factor the identity provider vouched for.
func hintFactors(ar *protocol.AuthRequest) []authflow.Factor {
	return []authflow.Factor{{Method: hintFactorMethod, First: true, AMR: []string{"fed"}, Time: ar.Stored.CreatedAt}}
}

// externalUser is the user of an external-MFA request, if still active;
// else the request ends with access_denied.
func (h *Handler) externalUser(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest) (storage.User, bool) {
	u, err := h.Store.GetUser(r.Context(), ar.Data.HintSubject)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.Web.ServerError(w, r, "user of external MFA", err)
		return u, false
	}
	if err != nil || !u.Active {
		h.failExternal(w, r, ar, ar.Data.HintSubject, oidc.ErrAccessDenied().WithDescription(descUserInactive))
		return u, false
	}
	return u, true
}

// advanceExternal shows an external-MFA request's next step: the
// challenge of the user's best method, or the error.
func (h *Handler) advanceExternal(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest) {
	user, ok := h.externalUser(w, r, ar)
	if !ok {
		return
	}
	ms, err := h.userMethods(r.Context(), user)
	if err != nil {
		h.Web.ServerError(w, r, "user methods", err)
		return
	}
	d := authflow.Decide(h.Policy, flowRequest(ar), hintFactors(ar), ms, h.Now())
	switch d.Step {
	case authflow.StepMethod:
		h.showMethod(w, r, ar, user, d, r.URL.Query().Get("method"), "", http.StatusOK)
	case authflow.StepError:
		h.failRequest(w, r, ar, user.ID, d.Err)
	default:
		// Done on the hint alone (a voluntary level no method reaches):
		// the answer must rest on a factor stepup ran.
		h.failExternal(w, r, ar, user.ID, protocol.ErrUnmet(descNoFactor))
	}
}

// completeExternal answers an external-MFA request whose user completed
// factor f: with the ID token when f meets a requested level and its
// method is one the request accepts, else with the error. No stepup
// session is made or changed.
func (h *Handler) completeExternal(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, user storage.User, f storage.Factor, events ...storage.Event) {
	ctx := r.Context()
	d, final := h.decideFromFactors(ar, append(hintFactors(ar), browser.Factors([]storage.Factor{f})...))
	if !final {
		h.failExternal(w, r, ar, user.ID, protocol.ErrUnmet(descNoFactor), events...)
		return
	}
	amr, ok := usedAMR(f.AMR, ar.Data.ExternalMFA.AMR)
	if !ok {
		h.failExternal(w, r, ar, user.ID, protocol.ErrUnmet(fmt.Sprintf(descAMRUnmet, f.Method)), events...)
		return
	}
	res := d.Result
	res.AMR, res.AuthTime = []string{amr}, f.Time
	var done *protocol.AuthRequest
	complete := h.completion(ar, storage.Session{}, user, res, &done)
	update := func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		if _, err := complete(cur); err != nil {
			return cur, err
		}
		done.Data.Subject = ar.Data.ExternalMFA.Subject // the ID token's sub: the hint's own
		return done.Encode(), nil
	}
	events = append(events, loginCompleted(ar, user, res))
	_, err := h.Store.SaveLogin(ctx, storage.LoginWrite{AuthRequestID: ar.GetID(), Update: update, Events: h.Audit.Complete(ctx, events...)})
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

// usedAMR is the one amr value that names the method of a factor whose
// values are have, among those the request accepts (any, when it named
// none): not "mfa" or "user", which say how, not which.
func usedAMR(have, accepted []string) (string, bool) {
	for _, v := range have {
		if v == "mfa" || v == "user" {
			continue
		}
		if len(accepted) == 0 || slices.Contains(accepted, v) {
			return v, true
		}
	}
	return "", false
}

// failExternal ends an external-MFA request with the OIDC error e in the
// form_post, audited with events (what the step did before).
func (h *Handler) failExternal(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, userID string, e *oidc.Error, events ...storage.Event) {
	ctx := r.Context()
	events = append(events, storage.Event{Type: "login.refused", UserID: userID, ClientID: ar.GetClientID(),
		Outcome: "failure", Details: map[string]string{"error": string(e.ErrorType)}})
	for _, ev := range events {
		h.Audit.Record(ctx, ev)
	}
	if !ar.Unsaved {
		_ = h.Store.DeleteAuthRequest(ctx, ar.GetID())
	}
	h.Browser.ClearBinding(w, ar.GetID())
	protocol.WriteFormPostError(w, ar.Data.RedirectURI, ar.GetState(), e)
}
