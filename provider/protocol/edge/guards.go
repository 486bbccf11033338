package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// Guards stand in front of zitadel's endpoints for what they leave undone
// or answer in a form their readers do not expect (Endpoints, Errors).
type Guards struct {
	Clients map[string]*protocol.Client
	// Audit records a refused request (the provider's audit log).
	Audit func(context.Context, storage.Event)
	Log   *slog.Logger
	Pages Pages
}

// Pages are the provider's pages for an authorization request that no
// client can be told about: the person who followed it reads them.
type Pages interface {
	// RedirectRefused: the redirect_uri is not one the client registered.
	RedirectRefused(w http.ResponseWriter, r *http.Request)
	// UnknownClient: the request names no client (clientID "") or one
	// stepup does not know.
	UnknownClient(w http.ResponseWriter, r *http.Request, clientID string)
	// BadAuthorize: zitadel refused the request, saying text.
	BadAuthorize(w http.ResponseWriter, r *http.Request, status int, text string)
}

// Endpoints stands in front of zitadel's endpoints (next) for what
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
//   - at the token endpoint a client that sent credentials is
//     authenticated before anything else: zitadel checks an authorization
//     code (and its PKCE verifier) first, so a wrong secret with a made-up
//     code answered invalid_grant and with a real one invalid_client,
//     telling whoever holds a code, without the secret, whether it is live.
func (g *Guards) Endpoints(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path := r.URL.Path; {
		case strings.HasSuffix(path, "/authorize"):
			if clientID, uri, ok := g.inexactRedirect(r); !ok {
				g.Audit(r.Context(), storage.Event{Type: "authorize.redirect_refused", Actor: "client:" + clientID,
					ClientID: clientID, Outcome: "failure", Details: map[string]string{"redirect_uri": truncate(uri, 200)}})
				g.Pages.RedirectRefused(w, r)
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
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			if id, ok := g.tokenClientAuthenticated(r); !ok {
				id = truncate(id, 64)
				g.Audit(r.Context(), storage.Event{Type: "token.client_auth_failed", Actor: "client:" + id, ClientID: id, Outcome: "failure"})
				WriteOAuthError(w, http.StatusUnauthorized, "invalid_client", descClientAuthFailed)
				return
			}
			if gt := r.FormValue("grant_type"); gt != "" && !slices.Contains(protocol.GrantTypes, oidc.GrantType(gt)) {
				WriteOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf(descUnsupportedGrant, truncate(gt, 64)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// inexactRedirect checks the redirect_uri of authorization request r, and
// says which client and URI it refused (ok false). A request zitadel
// refuses anyway (unreadable, no known client, no redirect_uri) is left
// to it. Parameters zitadel reads the last of, this reads so too.
func (g *Guards) inexactRedirect(r *http.Request) (clientID, uri string, ok bool) {
	if r.ParseForm() != nil {
		return "", "", true
	}
	ids, uris := r.Form["client_id"], r.Form["redirect_uri"]
	if len(ids) == 0 || len(uris) == 0 {
		return "", "", true
	}
	clientID, uri = ids[len(ids)-1], uris[len(uris)-1]
	c, known := g.Clients[clientID]
	if !known {
		return "", "", true
	}
	return clientID, uri, len(uris) == 1 && c.RegisteredRedirect(uri)
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

// descClientAuthFailed is the token endpoint's invalid_client description.
const descUnsupportedGrant = "grant_type %q is not served here: use authorization_code, refresh_token or client_credentials (see grant_types_supported in the discovery document)"

const descClientAuthFailed = "client authentication failed: send the client's ID and secret, form-encoded, with Basic (client_secret_basic) or in the body (client_secret_post)"

// tokenClientAuthenticated says whether a token request's client
// credentials, when it sent any, are right, and names the client they
// claim. A request with none (a public client, or one zitadel refuses for
// other reasons) is left to zitadel.
func (g *Guards) tokenClientAuthenticated(r *http.Request) (string, bool) {
	id, secret, readable := TokenClient(r)
	switch {
	case !readable:
		return id, false
	case secret == "":
		_, _, basic := r.BasicAuth()
		if !basic {
			return "", true
		}
	}
	c, ok := g.Clients[id]
	return id, ok && c.CheckSecret(secret)
}

// TokenClient is the client a token request names and the secret it
// sends: the Basic-auth user and password, form-encoded as RFC 6749
// §2.3.1 says (and as zitadel decodes them), else the form's client_id
// and client_secret. readable is false when Basic credentials do not
// decode; id is then the user as sent.
func TokenClient(r *http.Request) (id, secret string, readable bool) {
	if user, pass, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return user, "", false
		}
		return id, secret, true
	}
	if r.ParseForm() != nil {
		return "", "", true
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), true
}
