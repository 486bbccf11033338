package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/admin/httperr"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol/signing"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/stepauth"
)

// invalid is a request the admin API refuses as malformed.
func invalid(msg string) error { return &admin.Error{Kind: admin.Invalid, Msg: msg} }

// localKeySet verifies access tokens against this provider's own keys.
type localKeySet struct{ kr *signing.KeyRing }

func (k localKeySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return nil, err
	}
	keys, err := k.kr.Published(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: signing keys: %w", stepauth.ErrUnavailable, err)
	}
	kid := jws.Signatures[0].Header.KeyID
	for _, key := range keys {
		if key.ID() == kid {
			return jws.Verify(key.Key())
		}
	}
	return nil, errors.New("unknown signing key")
}

func (h *Handler) newAdminVerifier() (*stepauth.Verifier, stepauth.Requirement, error) {
	var levels [][]string
	for _, l := range h.Policy.Levels {
		levels = append(levels, l.Names)
	}
	lv, err := stepauth.NewLevels(levels)
	if err != nil {
		return nil, stepauth.Requirement{}, err
	}
	v, err := stepauth.NewVerifier(stepauth.Config{
		Issuer: h.Config.Issuer, Keys: localKeySet{h.Keys}, Levels: lv, Now: h.Now, Logger: h.Log,
		Audiences: h.adminClients(),
		// A token whose record is gone is revoked; a store that cannot
		// answer says nothing about it (503).
		CheckRevoked: func(ctx context.Context, jti string) (bool, error) {
			_, err := h.Store.GetAccessToken(ctx, jti)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				return true, nil
			case err != nil:
				return false, err
			}
			return false, nil
		},
	})
	if err != nil {
		return nil, stepauth.Requirement{}, err
	}
	level, _ := h.Config.LevelOf(h.Config.Admin.RequiredACR)
	return v, stepauth.Requirement{ACR: level, MaxAge: h.Config.Admin.MaxAuthAge, AllowClientCredentials: true}, nil
}

// adminClients are the clients designated for administration, those
// configured with manage_mfa: the admin API takes only tokens issued to
// one of them, so a token an administrator handed an ordinary relying
// party by signing in there is worth nothing at /admin/v1.
func (h *Handler) adminClients() []string {
	var ids []string
	for id, c := range h.Clients {
		if slices.Contains(c.Config().Permissions, config.PermissionManageMFA) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// msgNoAdminClient answers the admin API when no client may call it.
const msgNoAdminClient = "no client is designated for administration: give the client that administrators or automation use permissions: [manage_mfa]"

// Mount serves /admin/v1 on mux, behind the RFC 9470 middleware.
func (h *Handler) Mount(mux *http.ServeMux) error {
	if len(h.adminClients()) == 0 {
		mux.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
			stepauth.WriteProblem(w, http.StatusForbidden, "Forbidden", msgNoAdminClient)
		})
		return nil
	}
	v, req, err := h.newAdminVerifier()
	if err != nil {
		return err
	}
	api := http.NewServeMux()
	api.HandleFunc("POST /admin/v1/users", h.apiCreateUser)
	api.HandleFunc("GET /admin/v1/users/{username}", h.apiGetUser)
	api.HandleFunc("PATCH /admin/v1/users/{username}", h.apiPatchUser)
	api.HandleFunc("GET /admin/v1/users/{username}/methods", h.apiListMethods)
	api.HandleFunc("DELETE /admin/v1/users/{username}/methods/{id}", h.apiDisconnect)
	api.HandleFunc("GET /admin/v1/users/{username}/trusted-browsers", h.apiListTrustedBrowsers)
	api.HandleFunc("DELETE /admin/v1/users/{username}/trusted-browsers", h.apiForgetTrustedBrowsers)
	for _, a := range h.Admin.Actions() {
		api.HandleFunc(a.Verb+" /admin/v1/users/{username}/"+a.Resource, h.apiAdminAction(a))
	}
	api.HandleFunc("GET /admin/v1/events", h.apiEvents)
	api.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
		stepauth.WriteProblem(w, http.StatusNotFound, "Not Found", msgNoEndpoint)
	})
	mux.Handle("/admin/v1/", v.Require(req, h.requireManageMFA(api)))
	return nil
}

// requireManageMFA admits a client configured with manage_mfa, or an
// active user holding it.
func (h *Handler) requireManageMFA(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := stepauth.ClaimsFrom(r.Context())
		var actor reqctx.Actor
		if c.IsClient() {
			cl, ok := h.Clients[c.ClientID]
			if !ok || !slices.Contains(cl.Config().Permissions, config.PermissionManageMFA) {
				stepauth.WriteProblem(w, http.StatusForbidden, "Forbidden", "no permission: this client lacks manage_mfa")
				return
			}
			actor = reqctx.Actor{Name: "client:" + c.ClientID, ClientID: c.ClientID}
		} else {
			u, err := h.Store.GetUser(r.Context(), c.Subject)
			if storage.Unavailable(err) { // no verdict on the user's permission
				writeAPIError(w, err)
				return
			}
			if err != nil || !u.Active || !u.HasPermission(config.PermissionManageMFA) {
				stepauth.WriteProblem(w, http.StatusForbidden, "Forbidden", "no permission: you lack manage_mfa")
				return
			}
			actor = reqctx.Actor{Name: u.Username, UserID: u.ID, ClientID: c.ClientID}
		}
		next.ServeHTTP(w, r.WithContext(reqctx.Update(r.Context(), func(v *reqctx.Values) { v.Actor = actor })))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// retryAfterOutage is the Retry-After of a 503 with no wait of its own
// (the database or a method not answering), in seconds.
const retryAfterOutage = "2"

func writeAPIError(w http.ResponseWriter, err error) {
	status, msg := httperr.Status(err)
	if e, ok := admin.AsError(err); ok && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter/time.Second)))
	} else if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterOutage)
	}
	stepauth.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: msg}.Write(w)
}

// userJSON is a user as the admin API shows it.
type userJSON struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	Email       string    `json:"email,omitempty"`
	Phone       string    `json:"phone,omitempty"`
	Active      bool      `json:"active"`
	Permissions []string  `json:"permissions"`
	CreatedAt   time.Time `json:"created_at"`
}

func toUserJSON(u storage.User) userJSON {
	perms := u.Permissions
	if perms == nil {
		perms = []string{}
	}
	return userJSON{ID: u.ID, Username: u.Username, Email: u.Email, Phone: u.Phone, Active: u.Active, Permissions: perms, CreatedAt: u.CreatedAt}
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("invalid JSON body: " + err.Error())
	}
	return nil
}

func (h *Handler) apiCreateUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username    string   `json:"username"`
		Email       string   `json:"email"`
		Phone       string   `json:"phone"`
		Password    string   `json:"password"`
		Permissions []string `json:"permissions"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeAPIError(w, err)
		return
	}
	u, err := h.Admin.CreateUser(r.Context(), admin.NewUser{Username: body.Username, Email: body.Email, Phone: body.Phone,
		Password: body.Password, Permissions: body.Permissions,
		Event: func(u storage.User) storage.Event {
			return h.Audit.AdminEvent(r.Context(), "admin.user.create", u.ID, "success", map[string]string{"permissions": strings.Join(u.Permissions, " ")})
		}})
	if err != nil {
		h.Audit.Admin(r.Context(), "admin.user.create", "", "failure", map[string]string{"username": body.Username, "permissions": strings.Join(body.Permissions, " ")})
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

func (h *Handler) apiGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.Admin.UserByName(r.Context(), r.PathValue("username"))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// patchPair is what a boolean member of a PATCH of the user runs
// (sdk.AdminAction.PatchField): on (the POST) for true, off (the DELETE)
// for false; nil where the method declares none.
type patchPair struct{ on, off *admin.Action }

func (p patchPair) action(v bool) *admin.Action {
	if v {
		return p.on
	}
	return p.off
}

// patchActions are the declared members of a PATCH of the user. Of
// methods declaring one member, the first by name serves it.
func (h *Handler) patchActions() map[string]patchPair {
	out := map[string]patchPair{}
	owner := map[string]string{}
	for _, a := range h.Admin.Actions() {
		if a.PatchField == "" {
			continue
		}
		if m, taken := owner[a.PatchField]; taken && m != a.Method.Name() {
			continue
		}
		owner[a.PatchField] = a.Method.Name()
		p := out[a.PatchField]
		if a.Verb == sdk.VerbPost {
			p.on = &a
		} else {
			p.off = &a
		}
		out[a.PatchField] = p
	}
	return out
}

// msgPatchMembers says what a PATCH of the user takes.
const msgPatchMembers = "send a JSON object with any of these boolean members: %s"

// apiPatchUser changes the user: "active", and each member a method
// declares (sdk.AdminAction.PatchField), run as the action is at
// /admin/v1/users/{username}/{resource} and audited alike. The body is
// checked whole before anything changes; "active" goes first, then the
// other members by name, and the first refusal ends the request.
func (h *Handler) apiPatchUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actions := h.patchActions()
	members := slices.Sorted(maps.Keys(actions))
	allowed := strings.Join(append([]string{"active"}, members...), ", ")
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body); err != nil {
		writeAPIError(w, err)
		return
	}
	if len(body) == 0 {
		writeAPIError(w, invalid("nothing to change: "+fmt.Sprintf(msgPatchMembers, allowed)))
		return
	}
	values := map[string]bool{}
	for k, raw := range body {
		var v bool
		if _, declared := actions[k]; (k != "active" && !declared) || json.Unmarshal(raw, &v) != nil {
			writeAPIError(w, invalid(fmt.Sprintf("member %q: ", k)+fmt.Sprintf(msgPatchMembers, allowed)))
			return
		}
		if k != "active" && actions[k].action(v) == nil {
			writeAPIError(w, invalid(fmt.Sprintf("member %q cannot be %v", k, v)))
			return
		}
		values[k] = v
	}
	u, err := h.Admin.UserByName(ctx, r.PathValue("username"))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if active, ok := values["active"]; ok {
		// The change and its event are one write.
		ev := h.Audit.AdminEvent(ctx, "admin.user.update", u.ID, "success", map[string]string{"active": strconv.FormatBool(active)})
		if u, err = h.Admin.SetActive(ctx, u.ID, active, ev); err != nil {
			writeAPIError(w, err)
			return
		}
	}
	for _, k := range members {
		v, ok := values[k]
		if !ok {
			continue
		}
		a, params := *actions[k].action(v), map[string]string{}
		results, err := h.Admin.RunAction(ctx, admin.ActorFrom(ctx), a, u, params, false)
		h.Admin.AuditAction(ctx, a, u.ID, params, results, err, false)
		if err != nil {
			writeAPIError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// methodJSON is one of a user's credentials; ID is "method:credential".
type methodJSON struct {
	ID        string    `json:"id"`
	Method    string    `json:"method"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
}

func toMethodJSON(creds []admin.Credential) []methodJSON {
	out := []methodJSON{}
	for _, c := range creds {
		out = append(out, methodJSON{ID: c.ID, Method: c.Method, Label: c.Label, CreatedAt: c.CreatedAt})
	}
	return out
}

func (h *Handler) apiListMethods(w http.ResponseWriter, r *http.Request) {
	u, err := h.Admin.UserByName(r.Context(), r.PathValue("username"))
	var creds []admin.Credential
	if err == nil {
		creds, err = h.Admin.Credentials(r.Context(), u.ID)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"methods": toMethodJSON(creds)})
}

func (h *Handler) apiDisconnect(w http.ResponseWriter, r *http.Request) {
	u, err := h.Admin.UserByName(r.Context(), r.PathValue("username"))
	end := r.URL.Query().Get("end_sessions") == "true"
	if err == nil {
		err = h.Admin.Disconnect(r.Context(), u, r.PathValue("id"), end)
	}
	details := map[string]string{"method": r.PathValue("id"), "end_sessions": strconv.FormatBool(end)}
	if err != nil {
		h.Audit.Admin(r.Context(), "admin.method.remove", u.ID, "failure", details)
		writeAPIError(w, err)
		return
	}
	// Disconnect wrote the removal with its method.removed event.
	w.WriteHeader(http.StatusNoContent)
}

// msgNoEndpoint answers a path the admin API does not serve.
const msgNoEndpoint = "no such admin endpoint: see the admin API reference (a method's endpoints are there only while the method is enabled)"

// Messages of the admin API's parameters.
const (
	msgUnknownMember   = "unknown member %q: this action takes %s"
	msgNoMembers       = "unknown member %q: this action takes no parameters"
	msgMemberNotString = "member %q must be a JSON string"
)

// actionJSON is an action's answer in the admin API: its declared results,
// a bool as a JSON boolean, empty text left out, no summary.
func actionJSON(a admin.Action, results map[string]string) map[string]any {
	out := map[string]any{}
	for _, r := range a.Results {
		v := results[r.Name]
		switch {
		case r.Type == sdk.ResultSummary:
		case r.Type == sdk.ResultBool:
			out[r.Name] = v == "true"
		case v != "":
			out[r.Name] = v
		}
	}
	return out
}

// decodeParams reads an action's params from a JSON object of strings;
// an empty body is no params.
func decodeParams(r *http.Request, a admin.Action) (map[string]string, error) {
	var body map[string]any
	err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10)).Decode(&body)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, invalid("invalid JSON body: " + err.Error())
	}
	var names []string
	for _, p := range a.Params {
		names = append(names, p.Name)
	}
	params := map[string]string{}
	for k, v := range body {
		if !slices.Contains(names, k) {
			if len(names) == 0 {
				return nil, invalid(fmt.Sprintf(msgNoMembers, k))
			}
			return nil, invalid(fmt.Sprintf(msgUnknownMember, k, strings.Join(names, ", ")))
		}
		str, ok := v.(string)
		if !ok {
			return nil, invalid(fmt.Sprintf(msgMemberNotString, k))
		}
		params[k] = str
	}
	return params, nil
}

// apiAdminAction serves one declared action: POST answers 201 with its
// results, GET 200, DELETE 204. A POST's params are its JSON body; a GET's
// or a DELETE's, the declared ones of its query.
func (h *Handler) apiAdminAction(a admin.Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		params := map[string]string{}
		if a.Verb == sdk.VerbPost {
			var err error
			if params, err = decodeParams(r, a); err != nil {
				writeAPIError(w, err)
				return
			}
		} else {
			q := r.URL.Query()
			for _, p := range a.Params {
				if q.Has(p.Name) {
					params[p.Name] = q.Get(p.Name)
				}
			}
		}
		u, err := h.Admin.UserByName(ctx, r.PathValue("username"))
		var results map[string]string
		if err == nil {
			results, err = h.Admin.RunAction(ctx, admin.ActorFrom(ctx), a, u, params, false)
		}
		h.Admin.AuditAction(ctx, a, u.ID, params, results, err, false)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		switch a.Verb {
		case sdk.VerbPost:
			writeJSON(w, http.StatusCreated, actionJSON(a, results))
		case sdk.VerbDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, actionJSON(a, results))
		}
	}
}

// eventJSON is one audit event.
type eventJSON struct {
	Seq      int64             `json:"seq"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Actor    string            `json:"actor,omitempty"`
	UserID   string            `json:"user_id,omitempty"`
	ClientID string            `json:"client_id,omitempty"`
	Remote   string            `json:"remote_addr,omitempty"`
	Outcome  string            `json:"outcome,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
}

func (h *Handler) apiEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := storage.EventFilter{Type: q.Get("type"), Limit: 100}
	if name := q.Get("user"); name != "" {
		u, err := h.Admin.UserByName(r.Context(), name)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		f.UserID = u.ID
	}
	for key, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(key); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeAPIError(w, invalid(key+" must be an RFC 3339 time such as 2026-11-22T10:00:00Z"))
				return
			}
			*dst = t
		}
	}
	for key, dst := range map[string]*int64{"before": &f.BeforeSeq} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				writeAPIError(w, invalid(key+" must be a positive event seq (the next_before of a previous page)"))
				return
			}
			*dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeAPIError(w, invalid("limit must be between 1 and 1000"))
			return
		}
		f.Limit = n
	}
	events, err := h.Store.ListEvents(r.Context(), f)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := struct {
		Events     []eventJSON `json:"events"`
		NextBefore int64       `json:"next_before,omitempty"`
	}{Events: []eventJSON{}}
	for _, e := range events {
		out.Events = append(out.Events, eventJSON{Seq: e.Seq, Time: e.Time, Type: e.Type, Actor: e.Actor, UserID: e.UserID,
			ClientID: e.ClientID, Remote: e.RemoteAddr, Outcome: e.Outcome, Details: e.Details})
	}
	if len(events) == f.Limit {
		out.NextBefore = events[len(events)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
}
