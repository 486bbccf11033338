package login

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/upstream"
)

// Ending the upstream session with stepup's (upstream.end_session): a
// logout of a session whose first factor was the upstream's goes on to
// the upstream's end_session_endpoint (RP-initiated logout), which comes
// back to LogoutReturnPath with a state; the state names, for a while and
// once, where stepup's own logout was going (the client's
// post_logout_redirect_uri or the signed-out page), so only stepup's
// return URI needs registering at the upstream.

const logoutNamespace = "upstream.logout"

// logoutReturnTTL is how long the way back from the upstream's logout
// stays usable.
const logoutReturnTTL = 10 * time.Minute

// upstreamLogout returns, for a logout of session sid, what turns the
// logout's redirect into one through the upstream's logout; nil when
// there is nothing to end there.
func (h *Handler) upstreamLogout(ctx context.Context, sid string) func(location string) string {
	if !h.upstreamFirst() || !h.Upstream.Config.EndSession || sid == "" {
		return nil
	}
	sess, err := h.Store.GetSession(ctx, sid)
	at := slices.IndexFunc(sess.Factors, func(f storage.Factor) bool { return f.Method == "upstream" })
	if err != nil || at < 0 {
		return nil
	}
	hint := sess.Factors[at].IDToken
	return func(location string) string {
		state := protocol.NewID(24)
		now := h.Now()
		if _, err := h.Store.KVPut(ctx, logoutNamespace, state, []byte(location), 0, now.Add(logoutReturnTTL), now); err != nil {
			h.Log.Warn("upstream logout: keep the way back", "err", err)
			return location
		}
		to, err := h.Upstream.EndSessionURL(ctx, strings.TrimSuffix(h.Config.Issuer, "/")+upstream.LogoutReturnPath, state, hint)
		if err != nil || to == "" {
			if err != nil {
				h.Log.Warn("upstream logout", "err", err)
			}
			_ = h.Store.KVDelete(ctx, logoutNamespace, state, 0)
			return location
		}
		h.Audit.Record(ctx, storage.Event{Type: "session.upstream_logout", UserID: sess.UserID, Outcome: "success"})
		return to
	}
}

// handleUpstreamLogoutReturn is where the upstream's logout comes back:
// on to where stepup's logout was going, once.
func (h *Handler) handleUpstreamLogoutReturn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	state := r.URL.Query().Get("state")
	if state == "" {
		h.Web.LoggedOut(w, r)
		return
	}
	e, err := h.Store.KVGet(ctx, logoutNamespace, state, h.Now())
	if errors.Is(err, storage.ErrNotFound) {
		h.Web.LoggedOut(w, r)
		return
	}
	if err != nil {
		h.Web.ServerError(w, r, "upstream logout return", err)
		return
	}
	if err := h.Store.KVDelete(ctx, logoutNamespace, state, e.Version); err != nil {
		h.Web.LoggedOut(w, r) // taken by another tab: nothing more to follow
		return
	}
	http.Redirect(w, r, string(e.Value), http.StatusFound)
}
