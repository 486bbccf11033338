package stepauth

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Write sends p as the whole response, with Content-Type
// application/problem+json and p.Status as the status code. Headers set
// on w before the call, such as WWW-Authenticate, are kept.
func (p Problem) Write(w http.ResponseWriter) {
	body, err := json.Marshal(p)
	if err != nil { // cannot happen: only strings and an int
		http.Error(w, p.Title, p.Status)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// WriteProblem sends an RFC 9457 problem with type "about:blank", the given
// status, title and detail (omitted when empty).
func WriteProblem(w http.ResponseWriter, status int, title, detail string) {
	Problem{Type: "about:blank", Title: title, Status: status, Detail: detail}.Write(w)
}
