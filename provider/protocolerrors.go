package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/stepup-mfa/stepup/provider/web"
	"net/http"
	"strings"
	"unicode/utf8"
)

// zitadel answers some errors as text/plain: introspection without valid
// client credentials, userinfo without a valid token, and an authorization
// request it cannot send back to the client. Relying parties parse the
// first two as JSON (RFC 6749 §5.2, RFC 6750 §3) and a person reads the
// third. protocolErrors catches those answers on their way out and gives
// each the form its reader expects.

// Descriptions of the JSON errors, for the client's developers.
const (
	descIntrospectionClient = "client authentication failed: authenticate with the client's ID and secret (client_secret_basic)"
	descInvalidToken        = "the access token is missing, invalid or expired: send a current one as Authorization: Bearer"
)

// maxCaughtError bounds the text/plain body kept from an error.
const maxCaughtError = 4 << 10

// protocolErrors is an interceptor in front of zitadel's endpoints (see
// above); it also refuses, with a page, an authorization request for a
// client stepup does not know.
func (s *Server) protocolErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		var answer func(w http.ResponseWriter, status int, text string)
		switch {
		case strings.HasSuffix(path, "/authorize"):
			if !s.knownClient(w, r) {
				return
			}
			answer = func(w http.ResponseWriter, status int, text string) {
				s.web.Message(w, r, status, web.TitleCannotSignIn, fmt.Sprintf(web.MsgBadAuthorizeFmt, text))
			}
		case strings.HasSuffix(path, "/oauth/introspect"):
			answer = func(w http.ResponseWriter, status int, _ string) {
				if status == http.StatusUnauthorized {
					writeOAuthError(w, status, "invalid_client", descIntrospectionClient)
					return
				}
				writeOAuthError(w, status, errorCodeFor(status), "")
			}
		case strings.HasSuffix(path, "/userinfo"):
			_ = r.ParseForm() // to tell a request without a token (RFC 6750 §3.1)
			presented := r.Header.Get("Authorization") != "" || r.Form.Get("access_token") != ""
			answer = func(w http.ResponseWriter, status int, _ string) {
				if status != http.StatusUnauthorized {
					writeOAuthError(w, status, errorCodeFor(status), "")
					return
				}
				challenge := "Bearer"
				if presented {
					challenge += fmt.Sprintf(` error="invalid_token", error_description=%q`, descInvalidToken)
				}
				w.Header().Set("WWW-Authenticate", challenge)
				writeOAuthError(w, status, "invalid_token", descInvalidToken)
			}
		default:
			next.ServeHTTP(w, r)
			return
		}
		c := &errorCatcher{ResponseWriter: w, catch: isPlainError}
		next.ServeHTTP(c, r)
		if c.status != 0 {
			h := w.Header()
			h.Del("Content-Type")
			h.Del("Content-Length")
			answer(w, c.status, strings.TrimSpace(c.body.String()))
		}
	})
}

// knownClient says whether an authorization request names a registered
// client; when it does not, it answers with a page saying so. zitadel
// would answer in plain text, and no client can be told.
func (s *Server) knownClient(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return true // zitadel says what is wrong
	}
	id := r.Form.Get("client_id")
	if _, ok := s.clients[id]; ok {
		return true
	}
	s.log.Info("authorization request for an unknown client", "client", truncate(id, 64), "remote", remoteAddr(r.Context()))
	if id == "" {
		s.web.Message(w, r, http.StatusBadRequest, web.TitleCannotSignIn, web.MsgNoClient)
	} else {
		s.web.Message(w, r, http.StatusBadRequest, web.TitleUnknownApplication, fmt.Sprintf(web.MsgUnknownClientFmt, truncate(id, 64)))
	}
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

// writeOAuthError answers with an RFC 6749 §5.2 error document.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(oauthErrorDoc{code, desc})
}

// oauthErrorDoc is an RFC 6749 §5.2 error document.
type oauthErrorDoc struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// isPlainError: zitadel's http.Error answers.
func isPlainError(status int, h http.Header) bool {
	return status >= 400 && strings.HasPrefix(h.Get("Content-Type"), "text/plain")
}

// errorCatcher passes an answer through unless catch says to keep it,
// status and body, instead of sending it.
type errorCatcher struct {
	http.ResponseWriter
	catch func(status int, h http.Header) bool
	// passes, if set, is told the status of an answer about to pass.
	passes  func(status int)
	status  int // of the caught answer; 0 while none
	passing bool
	body    bytes.Buffer
}

func (c *errorCatcher) WriteHeader(status int) {
	if c.status != 0 || c.passing {
		return
	}
	if c.catch(status, c.Header()) {
		c.status = status
		return
	}
	if c.passes != nil {
		c.passes(status)
	}
	c.passing = true
	c.ResponseWriter.WriteHeader(status)
}

func (c *errorCatcher) Write(b []byte) (int, error) {
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
