package provider

import (
	"net/http"
	"strings"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// oidcEndpoints stands in front of zitadel's endpoints (next) for what
// their handlers leave undone:
//   - the authorization endpoint takes only a redirect_uri that is one of
//     its client's registered URIs byte for byte, given once (RFC 6749
//     §3.1.2.3, OAuth 2.1 §4.1.1). zitadel percent-decodes the requested
//     URI before comparing, so an encoded spelling of a registered URI
//     would pass and get the code, sent to a relative address: a path on
//     stepup's own origin. A refused URI is not trusted with the error
//     either: the browser gets a page.
//   - the token endpoint's answers, tokens and errors alike, are not to
//     be stored by any cache (RFC 6749 §5.1 and §5.2).
//   - a client that authenticated with Basic and failed (401) at the
//     token, introspection or revocation endpoint gets the Basic
//     challenge (RFC 6749 §5.2: MUST).
func (s *Server) oidcEndpoints(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path := r.URL.Path; {
		case strings.HasSuffix(path, "/authorize"):
			if clientID, uri, ok := s.inexactRedirect(r); !ok {
				s.audit(r.Context(), storage.Event{Type: "authorize.redirect_refused", Actor: "client:" + clientID,
					ClientID: clientID, Outcome: "failure", Details: map[string]string{"redirect_uri": truncate(uri, 200)}})
				s.web.Message(w, r, http.StatusBadRequest, web.TitleRedirectRefused, web.MsgRedirectRefused)
				return
			}
		case strings.HasSuffix(path, "/oauth/token"):
			h := w.Header()
			h.Set("Cache-Control", "no-store")
			h.Set("Pragma", "no-cache")
		}
		if _, _, basic := r.BasicAuth(); basic && (strings.HasSuffix(r.URL.Path, "/oauth/token") ||
			strings.HasSuffix(r.URL.Path, "/oauth/introspect") || strings.HasSuffix(r.URL.Path, "/revoke")) {
			w = basicChallenge{w}
		}
		next.ServeHTTP(w, r)
	})
}

// inexactRedirect checks the redirect_uri of authorization request r, and
// says which client and URI it refused (ok false). A request zitadel
// refuses anyway (unreadable, no known client, no redirect_uri) is left
// to it. Parameters zitadel reads the last of, this reads so too.
func (s *Server) inexactRedirect(r *http.Request) (clientID, uri string, ok bool) {
	if r.ParseForm() != nil {
		return "", "", true
	}
	ids, uris := r.Form["client_id"], r.Form["redirect_uri"]
	if len(ids) == 0 || len(uris) == 0 {
		return "", "", true
	}
	clientID, uri = ids[len(ids)-1], uris[len(uris)-1]
	c, known := s.clients[clientID]
	if !known {
		return "", "", true
	}
	return clientID, uri, len(uris) == 1 && c.registeredRedirect(uri)
}

// basicChallenge adds the Basic challenge to a 401.
type basicChallenge struct{ http.ResponseWriter }

func (b basicChallenge) WriteHeader(code int) {
	if code == http.StatusUnauthorized && b.Header().Get("WWW-Authenticate") == "" {
		b.Header().Set("WWW-Authenticate", `Basic realm="stepup", charset="UTF-8"`)
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b basicChallenge) Write(p []byte) (int, error) { return b.ResponseWriter.Write(p) }
