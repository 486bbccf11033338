package edge

import (
	"net/http"
	"slices"

	"github.com/rs/cors"
)

// Cross-origin requests. A page or an endpoint that uses the browser
// session (the authorization endpoint and the login it serves, its
// form_post answer, end_session, /account, /admin) never answers CORS: a
// script on another origin, sending the browser's cookies, could read
// codes and pages meant for the user. The JSON endpoints that a browser
// application may call with a token or nothing (token, userinfo, keys,
// discovery) allow the origins of cors.allowed_origins, without
// credentials; none by default.

// CORSForJSON returns the CORS middleware of the JSON endpoints: the origins
// of cors.allowed_origins, nothing when there are none.
func CORSForJSON(allowedOrigins []string) func(http.Handler) http.Handler {
	if len(allowedOrigins) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return cors.New(cors.Options{
		AllowedOrigins:   allowedOrigins,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type"},
		AllowCredentials: false,
		MaxAge:           600,
	}).Handler
}

// CORSOnly applies mw to the requests of next whose path is one of paths.
func CORSOnly(mw func(http.Handler) http.Handler, next http.Handler, paths ...string) http.Handler {
	withCORS := mw(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(paths, r.URL.Path) {
			withCORS.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
