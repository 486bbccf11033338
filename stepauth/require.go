package stepauth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Requirement is what a route demands of an access token.
type Requirement struct {
	// ACR names the least level a user's authentication must have, by any
	// of its accepted names; "" accepts any level and no acr at all.
	ACR string
	// MaxAge is how long ago the user may have authenticated (auth_time);
	// 0 sets no limit.
	MaxAge time.Duration
	// Permission, when set, must be in the token's permissions claim.
	Permission string
	// AllowClientCredentials accepts tokens from the client-credentials
	// grant (Claims.IsClient). ACR and MaxAge do not apply to them;
	// Permission does.
	AllowClientCredentials bool
}

// Require returns a handler that verifies the request's bearer token
// (Authorization header only) and calls next with the claims in the
// request context (see ClaimsFrom) when the token meets req. Otherwise it
// answers with an RFC 9457 problem and a WWW-Authenticate challenge:
//
//   - no Authorization header, or another scheme: 401, `Bearer` with no
//     error (RFC 6750 §3.1);
//   - more than one Authorization header: 400 invalid_request;
//   - a token Verify refuses: 401 invalid_token;
//   - a client-credentials token when req.AllowClientCredentials is false,
//     or a token lacking req.Permission: 403 insufficient_scope, the detail
//     starting "no permission". No step-up can help, so this is checked
//     before the level;
//   - a user's acr below req.ACR (or none), or an auth_time older than
//     req.MaxAge (or none): 401 insufficient_user_authentication (RFC 9470)
//     with acr_values (the required level's names, canonical first) when
//     req.ACR is set and max_age (seconds) when req.MaxAge is set, so the
//     client can ask the provider for both at once.
//
// Require panics when req.ACR is not one of the Verifier's levels, when
// req.MaxAge is negative or when next is nil: these are programming errors
// to be found at start-up.
func (v *Verifier) Require(req Requirement, next http.Handler) http.Handler {
	if next == nil {
		panic("stepauth: Require with a nil handler")
	}
	if req.MaxAge < 0 {
		panic("stepauth: Requirement.MaxAge is negative")
	}
	var acrValues []string
	if req.ACR != "" {
		if acrValues = v.cfg.Levels.Names(req.ACR); acrValues == nil {
			panic(fmt.Sprintf("stepauth: Requirement.ACR %q is not a configured level", req.ACR))
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Values("Authorization")
		if len(auth) > 1 {
			v.refuse(w, r, refusal{status: http.StatusBadRequest, error: "invalid_request",
				description: "more than one Authorization header"})
			return
		}
		token, ok := bearerToken(auth)
		if !ok {
			v.refuse(w, r, refusal{status: http.StatusUnauthorized,
				description: "this resource needs a bearer access token"})
			return
		}
		c, err := v.Verify(r.Context(), token)
		if errors.Is(err, ErrUnavailable) {
			if v.cfg.Logger != nil {
				v.cfg.Logger.WarnContext(r.Context(), "stepauth: cannot check the token", "path", r.URL.Path, "cause", err.Error())
			}
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Cache-Control", "no-store")
			WriteProblem(w, http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable),
				"tokens cannot be checked just now: try again in a moment")
			return
		}
		if err != nil {
			desc := "token not valid"
			var te *tokenError
			if errors.As(err, &te) {
				desc = te.desc
			}
			v.refuse(w, r, refusal{status: http.StatusUnauthorized, error: "invalid_token",
				description: desc, cause: err})
			return
		}
		if f, denied := v.check(c, req, acrValues); denied {
			v.refuse(w, r, f)
			return
		}
		next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), c)))
	})
}

// check applies req to verified claims.
func (v *Verifier) check(c *Claims, req Requirement, acrValues []string) (refusal, bool) {
	if c.IsClient() && !req.AllowClientCredentials {
		return refusal{status: http.StatusForbidden, error: "insufficient_scope",
			description: "no permission: client-credentials tokens are not accepted here; a user's token is required"}, true
	}
	if req.Permission != "" && !c.HasPermission(req.Permission) {
		return refusal{status: http.StatusForbidden, error: "insufficient_scope",
			description: "no permission: the token lacks the " + req.Permission + " permission"}, true
	}
	if c.IsClient() {
		return refusal{}, false
	}
	var short []string
	if req.ACR != "" && !v.cfg.Levels.Satisfies(c.ACR, req.ACR) {
		if c.ACR == "" {
			short = append(short, "the token names no authentication level; "+acrValues[0]+" is required")
		} else {
			short = append(short, "authentication level "+c.ACR+" is below the required "+acrValues[0])
		}
	}
	if req.MaxAge > 0 {
		switch {
		case c.AuthTime.IsZero():
			short = append(short, "the token has no auth_time; authentication within "+req.MaxAge.String()+" is required")
		case v.cfg.Now().Sub(c.AuthTime) > req.MaxAge+v.cfg.Leeway:
			short = append(short, "authentication is older than "+req.MaxAge.String())
		}
	}
	if short == nil {
		return refusal{}, false
	}
	f := refusal{status: http.StatusUnauthorized, error: "insufficient_user_authentication",
		description: strings.Join(short, "; ")}
	if req.ACR != "" {
		f.params = append(f.params, "acr_values="+quote(strings.Join(acrValues, " ")))
	}
	if req.MaxAge > 0 {
		f.params = append(f.params, "max_age="+strconv.FormatInt(int64(req.MaxAge/time.Second), 10))
	}
	return f, true
}

// bearerToken returns the token of an "Authorization: Bearer" header and
// false when there is no such header. The scheme is case-insensitive
// (RFC 9110 §11.1).
func bearerToken(auth []string) (string, bool) {
	if len(auth) != 1 {
		return "", false
	}
	scheme, token, _ := strings.Cut(strings.TrimLeft(auth[0], " "), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.Trim(token, " "), true
}

// refusal is one negative answer: status, the challenge's error code
// ("" for none), description, extra auth-params, and a cause to log.
type refusal struct {
	status      int
	error       string
	description string
	params      []string
	cause       error
}

func (v *Verifier) refuse(w http.ResponseWriter, r *http.Request, f refusal) {
	if v.cfg.Logger != nil {
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", f.status, "reason", f.description}
		if f.error != "" {
			attrs = append(attrs, "error", f.error)
		}
		if f.cause != nil {
			attrs = append(attrs, "cause", f.cause.Error())
		}
		v.cfg.Logger.InfoContext(r.Context(), "stepauth: request refused", attrs...)
	}
	challenge := "Bearer"
	if f.error != "" {
		params := append([]string{
			"error=" + quote(f.error),
			"error_description=" + quote(descriptionText(f.description)),
		}, f.params...)
		challenge += " " + strings.Join(params, ", ")
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Cache-Control", "no-store")
	WriteProblem(w, f.status, http.StatusText(f.status), f.description)
}

// quote makes s an RFC 9110 quoted-string. Characters a quoted-string
// cannot carry (controls, non-ASCII) become '?'.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t' || (c >= 0x20 && c < 0x7f):
			b.WriteByte(c)
		default:
			b.WriteByte('?')
		}
	}
	b.WriteByte('"')
	return b.String()
}

// descriptionText keeps only what RFC 6750 §3 allows in error_description:
// printable ASCII without '"' and '\'.
func descriptionText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\':
			return '/'
		case r >= 0x20 && r < 0x7f:
			return r
		default:
			return '?'
		}
	}, s)
}
