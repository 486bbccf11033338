package web

import (
	"fmt"
	"net/http"
)

// The pages of an authorization request no client can be told about
// (protocol.Pages).

// RedirectRefused is the page of a redirect_uri the client did not
// register.
func (ps Pages) RedirectRefused(w http.ResponseWriter, r *http.Request) {
	ps.Message(w, r, http.StatusBadRequest, TitleRedirectRefused, MsgRedirectRefused)
}

// UnknownClient is the page of a request that names no client (clientID
// "") or one stepup does not know.
func (ps Pages) UnknownClient(w http.ResponseWriter, r *http.Request, clientID string) {
	if clientID == "" {
		ps.Message(w, r, http.StatusBadRequest, TitleCannotSignIn, MsgNoClient)
		return
	}
	ps.Message(w, r, http.StatusBadRequest, TitleUnknownApplication, fmt.Sprintf(MsgUnknownClientFmt, clientID))
}

// BadAuthorize is the page of a request zitadel refused, saying text.
func (ps Pages) BadAuthorize(w http.ResponseWriter, r *http.Request, status int, text string) {
	ps.Message(w, r, status, TitleCannotSignIn, fmt.Sprintf(MsgBadAuthorizeFmt, text))
}
