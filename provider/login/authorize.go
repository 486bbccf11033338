package login

import (
	"context"
	"maps"
	"net/http"
	"net/url"

	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
)

// The authorization endpoint answers a browser with the login page itself,
// as Keycloak's and Entra ID's do, not with a redirect to it: a round trip
// less for every sign-in, and for a session that already satisfies the
// request the client gets its code straight away. zitadel's handler parses
// and validates the request, creates it (CreateAuthRequest) and redirects
// to the client's LoginURL; heldRedirect holds that one redirect back, and
// the page is served in its place. Every other answer (an error for the
// client, an error page) passes through unchanged. Only GET is served in
// place: the login page is behind CSRF protection, which a POST would have
// to pass. Either way the answer gives the browser the cookie that binds
// the created request to it (see package browser).
//
// The request reaches the page unsaved, and the page stores it in the
// write it makes anyway: with the challenge it begins (challengeFor), so
// a step-up costs one write less. Any other page stores it first
// (advance); a request refused at once is never stored. Were the redirect
// not held, the request is stored before it goes out.

// saveCreated stores a request created in place, unless it already is.
func (h *Handler) saveCreated(ctx context.Context, ar *protocol.AuthRequest) error {
	if !ar.Unsaved {
		return nil
	}
	if err := h.Store.CreateAuthRequest(ctx, ar.Stored); err != nil {
		return err
	}
	ar.Unsaved = false
	return nil
}

// handedOver is the request the authorization endpoint created and hands
// to the login page it serves in place, if id names it.
func handedOver(r *http.Request, id string) (*protocol.AuthRequest, bool) {
	ar := protocol.CreatedInPlace(reqctx.From(r.Context()).InPlace)
	if ar == nil || ar.GetID() != id {
		return nil, false
	}
	return ar, true
}

// heldRedirect buffers the header of zitadel's answer until its status is
// known, and holds back the redirect to the login page of the created
// request.
type heldRedirect struct {
	w      http.ResponseWriter
	header http.Header
	slot   *reqctx.InPlace
	login  func(ar *protocol.AuthRequest) string
	// save stores the created request when its redirect is not held, and
	// gives the browser its binding cookie.
	save func(ar *protocol.AuthRequest)
	// hold: hold the redirect back (GET); held: it was held back; wrote:
	// the answer went to the client.
	hold, held, wrote bool
}

func (h *heldRedirect) Header() http.Header { return h.header }

func (h *heldRedirect) WriteHeader(code int) {
	if h.held || h.wrote {
		return
	}
	if ar := protocol.CreatedInPlace(h.slot); ar != nil {
		if h.hold && code == http.StatusFound && h.header.Get("Location") == h.login(ar) {
			h.held = true
			return
		}
		h.save(ar)
	}
	h.wrote = true
	maps.Copy(h.w.Header(), h.header)
	h.w.WriteHeader(code)
}

func (h *heldRedirect) Write(b []byte) (int, error) {
	if h.held {
		return len(b), nil // the redirect's little HTML body
	}
	if !h.wrote {
		h.WriteHeader(http.StatusOK)
	}
	return h.w.Write(b)
}

// authorizeInPlace runs zitadel's authorization endpoint (next) and, for a
// GET, serves the login page in place of its redirect there.
func (h *Handler) authorizeInPlace(w http.ResponseWriter, r *http.Request, next http.Handler) {
	slot := &reqctx.InPlace{}
	ctx := reqctx.Update(r.Context(), func(v *reqctx.Values) { v.InPlace = slot })
	header := http.Header{}
	held := &heldRedirect{w: w, header: header, slot: slot, hold: r.Method == http.MethodGet, login: func(ar *protocol.AuthRequest) string {
		c, ok := h.Clients[ar.GetClientID()]
		if !ok {
			return ""
		}
		return c.LoginURL(ar.GetID())
	}, save: func(ar *protocol.AuthRequest) {
		if err := h.saveCreated(ctx, ar); err != nil {
			h.Log.Error("save auth request", "err", err, "path", r.URL.Path)
			return
		}
		h.Browser.SetBinding(headerWriter{header}, ar)
	}}
	next.ServeHTTP(held, r.WithContext(ctx))
	switch {
	case held.held:
		ar := protocol.CreatedInPlace(slot)
		h.Browser.SetBinding(w, ar)
		page := r.Clone(ctx)
		page.URL = &url.URL{Path: "/login", RawQuery: "id=" + url.QueryEscape(ar.GetID())}
		page.RequestURI, page.Form, page.PostForm = page.URL.RequestURI(), nil, nil
		h.Pages.ServeHTTP(w, page)
	case !held.wrote:
		held.WriteHeader(http.StatusOK)
	}
}

// headerWriter lets http.SetCookie add to a header not yet written.
type headerWriter struct{ h http.Header }

func (h headerWriter) Header() http.Header       { return h.h }
func (headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (headerWriter) WriteHeader(int)             {}
