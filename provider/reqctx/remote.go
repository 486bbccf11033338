package reqctx

import (
	"net"
	"net/http"
)

// WithRemoteAddr records, for every request next serves, the client's
// address without its port (Values.RemoteAddr).
func WithRemoteAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		next.ServeHTTP(w, r.WithContext(Update(r.Context(), func(v *Values) { v.RemoteAddr = host })))
	})
}
