package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/stepup-mfa/stepup/provider/reqctx"
)

// zitadel answers some errors as text/plain: introspection without valid
// client credentials, userinfo without a valid token, and an authorization
// request it cannot send back to the client. Relying parties parse the
// first two as JSON (RFC 6749 §5.2, RFC 6750 §3) and a person reads the
// third. Errors catches those answers on their way out and gives
// each the form its reader expects.

// Descriptions of the JSON errors, for the client's developers.
const (
	descIntrospectionClient = "client authentication failed: authenticate with the client's ID and secret (client_secret_basic)"
	descInvalidToken        = "the access token is missing, invalid or expired: send a current one as Authorization: Bearer"
)

// descUnavailable answers a request the server could not complete.
const descUnavailable = "the server could not complete the request just now: try again in a moment"

// maxCaughtError bounds the text/plain body kept from an error.
const maxCaughtError = 4 << 10

// Errors is an interceptor in front of zitadel's endpoints (see
// above); it also refuses, with a page, an authorization request for a
// client stepup does not know.
func (g *Guards) Errors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		var answer func(w http.ResponseWriter, status int, text string)
		switch {
		case strings.HasSuffix(path, "/authorize"):
			if !g.knownClient(w, r) {
				return
			}
			answer = func(w http.ResponseWriter, status int, text string) {
				g.Pages.BadAuthorize(w, r, status, text)
			}
		case strings.HasSuffix(path, "/oauth/introspect"):
			answer = func(w http.ResponseWriter, status int, _ string) {
				if status == http.StatusUnauthorized {
					WriteOAuthError(w, status, "invalid_client", descIntrospectionClient)
					return
				}
				WriteOAuthError(w, status, errorCodeFor(status), "")
			}
		case strings.HasSuffix(path, "/userinfo"):
			_ = r.ParseForm() // to tell a request without a token (RFC 6750 §3.1)
			presented := r.Header.Get("Authorization") != "" || r.Form.Get("access_token") != ""
			answer = func(w http.ResponseWriter, status int, _ string) {
				if status != http.StatusUnauthorized {
					WriteOAuthError(w, status, errorCodeFor(status), "")
					return
				}
				challenge := "Bearer"
				if presented {
					challenge += fmt.Sprintf(` error="invalid_token", error_description=%q`, descInvalidToken)
				}
				w.Header().Set("WWW-Authenticate", challenge)
				WriteOAuthError(w, status, "invalid_token", descInvalidToken)
			}
		case strings.HasSuffix(path, "/oauth/token"), strings.HasSuffix(path, "/revoke"):
			answer = func(w http.ResponseWriter, status int, _ string) {
				WriteOAuthError(w, status, errorCodeFor(status), "")
			}
		default:
			next.ServeHTTP(w, r)
			return
		}
		page := strings.HasSuffix(path, "/authorize")
		outage := &reqctx.Outage{}
		if !page {
			r = r.WithContext(reqctx.Update(r.Context(), func(v *reqctx.Values) { v.Outage = outage }))
		}
		c := &ErrorCatcher{ResponseWriter: w, Catch: func(status int, h http.Header) bool {
			return isPlainError(status, h) || (!page && (status >= 500 || (status >= 400 && outage.Seen())))
		}}
		next.ServeHTTP(c, r)
		if c.status != 0 {
			h := w.Header()
			h.Del("Content-Type")
			h.Del("Content-Length")
			if !page && (c.status >= 500 || outage.Seen()) {
				// zitadel describes a failure of the storage with its
				// message (a database's connection string included): the
				// log gets it, the client a retry.
				g.Log.Error("endpoint failed", "path", path, "status", c.status, "answer", truncate(strings.TrimSpace(c.body.String()), 500))
				h.Set("Retry-After", "1")
				WriteOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", descUnavailable)
				return
			}
			answer(w, c.status, strings.TrimSpace(c.body.String()))
		}
	})
}

// knownClient says whether an authorization request names a registered
// client; when it does not, it answers with a page saying so. zitadel
// would answer in plain text, and no client can be told.
func (g *Guards) knownClient(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return true // zitadel says what is wrong
	}
	id := r.Form.Get("client_id")
	if _, ok := g.Clients[id]; ok {
		return true
	}
	g.Log.Info("authorization request for an unknown client", "client", truncate(id, 64), "remote", reqctx.From(r.Context()).RemoteAddr)
	g.Pages.UnknownClient(w, r, truncate(id, 64))
	return false
}

// truncate shortens s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// errorCodeFor is the RFC 6749 error code of an error status.
func errorCodeFor(status int) string {
	if status >= 500 {
		return "server_error"
	}
	return "invalid_request"
}

// WriteOAuthError answers with an RFC 6749 §5.2 error document.
func WriteOAuthError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(OAuthError{code, desc})
}

// OAuthError is an RFC 6749 §5.2 error document.
type OAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// isPlainError: zitadel's http.Error answers.
func isPlainError(status int, h http.Header) bool {
	return status >= 400 && strings.HasPrefix(h.Get("Content-Type"), "text/plain")
}

// ErrorCatcher passes an answer through unless Catch says to keep it,
// status and body (up to 4 KiB), instead of sending it.
type ErrorCatcher struct {
	http.ResponseWriter
	Catch func(status int, h http.Header) bool
	// Passes, if set, is told the status of an answer about to pass.
	Passes  func(status int)
	status  int // of the caught answer; 0 while none
	passing bool
	body    bytes.Buffer
}

// WriteHeader keeps or passes the answer (see ErrorCatcher).
func (c *ErrorCatcher) WriteHeader(status int) {
	if c.status != 0 || c.passing {
		return
	}
	if c.Catch(status, c.Header()) {
		c.status = status
		return
	}
	if c.Passes != nil {
		c.Passes(status)
	}
	c.passing = true
	c.ResponseWriter.WriteHeader(status)
}

// Write keeps or passes the body (see ErrorCatcher).
func (c *ErrorCatcher) Write(b []byte) (int, error) {
	if c.status == 0 && !c.passing {
		c.WriteHeader(http.StatusOK)
	}
	if c.status != 0 {
		if room := maxCaughtError - c.body.Len(); room > 0 {
			c.body.Write(b[:min(len(b), room)])
		}
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// Caught returns the status and body of the answer kept; status 0 when
// none was.
func (c *ErrorCatcher) Caught() (int, []byte) { return c.status, c.body.Bytes() }
