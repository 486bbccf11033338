package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/upstream"
	"github.com/stepup-mfa/stepup/provider/web"
)

// Signing in at the upstream identity provider (SPEC §11), the first
// factor when upstream is configured. The login sends the browser to the
// upstream with a Pending (state, nonce, PKCE verifier) stored on the
// authorization request, so that it is bound to the browser that started
// the request (its binding cookie, sent to /login/...), expires with it,
// and lives in the store for any replica. The callback takes the Pending
// in a compare-and-swap on the request: a replayed callback, or one for a
// request this browser did not start, finds none. Every failure is a page
// and an audit event (login.upstream.failed); nothing is created or linked.

// upstreamFirst reports whether the first factor is the upstream's.
func (h *Handler) upstreamFirst() bool { return h.Upstream != nil }

// clockSkew is how far the upstream's clock may be behind stepup's when
// a fresh sign-in was asked for.
const clockSkew = time.Minute

// handleUpstreamStart sends the browser to the upstream for the request
// named in the query (the login page's link when local passwords stay).
func (h *Handler) handleUpstreamStart(w http.ResponseWriter, r *http.Request) {
	if !h.upstreamFirst() {
		h.Web.Message(w, r, http.StatusNotFound, web.TitleNotFound, web.MsgExpired)
		return
	}
	ar, ok := h.loadRequest(w, r, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	h.startUpstream(w, r, ar)
}

// startUpstream stores a new Pending on the saved request ar and
// redirects to the upstream's authorization endpoint.
func (h *Handler) startUpstream(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest) {
	ctx := r.Context()
	pending, secret := upstream.NewPending(h.Now())
	state := ar.GetID() + "." + secret
	req := flowRequest(ar)
	to, err := h.Upstream.AuthURL(ctx, pending, state, upstream.AuthParams{LoginHint: ar.Data.LoginHint, PromptLogin: req.PromptLogin, MaxAge: ar.Data.MaxAge})
	if err != nil {
		h.upstreamFailed(w, r, ar, err)
		return
	}
	raw, _ := json.Marshal(pending)
	_, err = h.Store.UpdateAuthRequest(ctx, ar.GetID(), func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		next, err := ar.AsStored(cur)
		if err != nil {
			return cur, err
		}
		if next.Stored.Done {
			return cur, errRequestCompleted
		}
		next.Data.Upstream = raw
		return next.Encode(), nil
	})
	if errors.Is(err, errRequestCompleted) {
		h.refuseForeign(w, r, ar, true)
		return
	}
	if err != nil {
		h.Web.ServerError(w, r, "save upstream sign-in", err)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// handleUpstreamCallback is the redirect URI registered at the upstream.
func (h *Handler) handleUpstreamCallback(w http.ResponseWriter, r *http.Request) {
	if !h.upstreamFirst() {
		h.Web.Message(w, r, http.StatusNotFound, web.TitleNotFound, web.MsgExpired)
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	id, _, _ := strings.Cut(state, ".")
	stored, err := h.Store.GetAuthRequest(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || id == "" {
		h.Audit.Record(ctx, storage.Event{Type: "login.upstream.failed", Outcome: "failure",
			Details: map[string]string{"reason": upstream.BadState.String(), "detail": "no such request"}})
		h.Web.Message(w, r, http.StatusBadRequest, web.TitleUpstreamFailed, web.MsgUpstreamBadState)
		return
	}
	if err != nil {
		h.Web.ServerError(w, r, "load auth request", err)
		return
	}
	ar, err := protocol.DecodeAuthRequest(stored)
	if err != nil {
		h.Web.ServerError(w, r, "decode auth request", err)
		return
	}
	if ar.Stored.Done || !h.Browser.Bound(r, ar) {
		h.refuseForeign(w, r, ar, ar.Stored.Done)
		return
	}
	pending, err := h.takePending(r, ar, state)
	if err != nil {
		h.upstreamFailed(w, r, ar, err)
		return
	}
	if e := q.Get("error"); e != "" {
		h.upstreamFailed(w, r, ar, &upstream.Error{Kind: upstream.Refused, Err: fmt.Errorf("%s: %s", e, q.Get("error_description")), Detail: e})
		return
	}
	id2, err := h.Upstream.Exchange(ctx, q.Get("code"), pending)
	if err != nil {
		h.upstreamFailed(w, r, ar, err)
		return
	}
	at, err := h.upstreamTime(ar, id2)
	if err != nil {
		h.upstreamFailed(w, r, ar, err)
		return
	}
	if hint := ar.Data.HintSubject; hint != "" {
		// The application asked for one user (id_token_hint): another is
		// refused before anything is created or linked, rather than sent
		// upstream again, which could loop on the upstream's session.
		linked, err := h.Store.GetUserByUpstream(ctx, id2.Issuer, id2.Subject)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.Web.ServerError(w, r, "upstream link", err)
			return
		}
		if linked.ID != hint {
			h.upstreamFailed(w, r, ar, &upstream.Error{Kind: upstream.OtherUser, Err: fmt.Errorf("signed in as %q, the hint names %s", linked.ID, hint)})
			return
		}
	}
	user, err := h.Accounts.SignIn(ctx, id2, ar.GetClientID())
	if err != nil {
		h.upstreamFailed(w, r, ar, err)
		return
	}
	sess, _, err := h.Browser.Session(r)
	if err != nil {
		h.Web.ServerError(w, r, "load session", err)
		return
	}
	factors := []storage.Factor{{Method: "upstream", First: true, AMR: upstream.AMR(id2), Time: at}}
	if h.Upstream.Config.EndSession {
		factors[0].IDToken = id2.IDToken
	}
	trusted := upstream.TrustedSecond(h.Upstream.Config, id2) && len(h.Policy.Levels) > 1
	if trusted {
		// The upstream did the second factor: it reaches the second level
		// and no higher (an amr value cannot show a key is device-bound).
		factors = append(factors, storage.Factor{Method: "upstream.mfa", Levels: []string{h.Policy.Levels[1].Name}, Time: at})
	}
	h.completeFactors(w, r, ar, sess, user, factors, "", storage.Event{Type: "login.upstream.succeeded", UserID: user.ID,
		ClientID: ar.GetClientID(), Outcome: "success", Details: map[string]string{"upstream": id2.Issuer,
			"amr": strings.Join(id2.AMR, " "), "trusted_second_factor": fmt.Sprint(trusted)}})
}

// takePending takes the request's Pending if state is the one it was
// sent with: once, in one write, so a replayed callback finds none.
func (h *Handler) takePending(r *http.Request, ar *protocol.AuthRequest, state string) (upstream.Pending, error) {
	var pending upstream.Pending
	_, secret, _ := strings.Cut(state, ".")
	errNone := &upstream.Error{Kind: upstream.BadState, Err: errors.New("no sign-in pending at the upstream (replayed or never started)")}
	errMismatch := &upstream.Error{Kind: upstream.BadState, Err: errors.New("state does not match")}
	_, err := h.Store.UpdateAuthRequest(r.Context(), ar.GetID(), func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		next, err := ar.AsStored(cur)
		if err != nil {
			return cur, err
		}
		if len(next.Data.Upstream) == 0 {
			return cur, errNone
		}
		if err := json.Unmarshal(next.Data.Upstream, &pending); err != nil {
			return cur, err
		}
		if !pending.StateMatches(secret) {
			return cur, errMismatch
		}
		next.Data.Upstream = nil
		*ar = *next
		return next.Encode(), nil
	})
	return pending, err
}

// upstreamTime is the first factor's time: the upstream's auth_time
// (when it is not after stepup's now). When the request asked for a
// fresh sign-in (prompt=login, max_age), the upstream must have signed
// the user in within it, or the sign-in is refused as stale rather than
// sent round again.
func (h *Handler) upstreamTime(ar *protocol.AuthRequest, id upstream.Identity) (time.Time, error) {
	now := h.Now()
	at := id.AuthTime
	if at.IsZero() || at.After(now) {
		at = now
	}
	req := flowRequest(ar)
	fresh := req.PromptLogin || req.MaxAge != nil
	if !fresh {
		return at, nil
	}
	bound := req.Started
	if req.MaxAge != nil && *req.MaxAge > 0 && !req.PromptLogin {
		bound = bound.Add(-*req.MaxAge)
	}
	if id.AuthTime.IsZero() || id.AuthTime.Before(bound.Add(-clockSkew)) {
		return time.Time{}, &upstream.Error{Kind: upstream.Stale, Err: fmt.Errorf("auth_time %v before %v", id.AuthTime, bound)}
	}
	if at.Before(bound) { // within the skew: counts from the bound
		at = bound
	}
	return at, nil
}

// upstreamFailed answers a failed upstream sign-in with its page and
// audits it. The request stays, so the user can try again from the
// application.
func (h *Handler) upstreamFailed(w http.ResponseWriter, r *http.Request, ar *protocol.AuthRequest, err error) {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		h.Web.ServerError(w, r, "upstream sign-in", err)
		return
	}
	h.Log.Info("upstream sign-in failed", "kind", ue.Kind.String(), "err", ue.Err)
	h.Audit.Record(r.Context(), storage.Event{Type: "login.upstream.failed", ClientID: ar.GetClientID(), Outcome: "failure",
		Details: map[string]string{"reason": ue.Kind.String(), "upstream": h.Upstream.Config.Issuer}})
	status, msg := http.StatusBadGateway, web.MsgUpstreamInvalidToken
	switch ue.Kind {
	case upstream.Unreachable:
		status, msg = http.StatusBadGateway, web.MsgUpstreamUnreachable
	case upstream.Refused:
		detail := quoteShort(ue.Detail)
		if strings.TrimSpace(detail) == "" {
			detail = "an error"
		}
		status, msg = http.StatusBadGateway, fmt.Sprintf(web.MsgUpstreamRefused, detail)
	case upstream.BadState:
		status, msg = http.StatusBadRequest, web.MsgUpstreamBadState
	case upstream.Stale:
		status, msg = http.StatusForbidden, web.MsgUpstreamStale
	case upstream.Inactive:
		status, msg = http.StatusForbidden, web.MsgUpstreamInactive
	case upstream.OtherUser:
		status, msg = http.StatusForbidden, web.MsgUpstreamOtherUser
	case upstream.UsernameMissing, upstream.UsernameInvalid, upstream.UsernameTaken:
		status, msg = http.StatusConflict, ue.Detail
	}
	h.Web.Message(w, r, status, web.TitleUpstreamFailed, msg)
}

// quoteShort is an upstream's error code as the page shows it: short,
// printable ASCII.
func quoteShort(s string) string {
	s = strings.Map(func(c rune) rune {
		if c < ' ' || c > '~' {
			return -1
		}
		return c
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// upstreamLoginLink is the login page's link to the upstream, when local
// passwords stay beside it.
func upstreamLoginLink(ar *protocol.AuthRequest) string {
	return "/login/upstream?id=" + url.QueryEscape(ar.GetID())
}
