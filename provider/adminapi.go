package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/stepauth"
)

// adminService is the administration's operations on this server's
// store, clock and launched methods.
func (s *Server) adminService() *admin.Service {
	var methods []admin.Method
	for _, name := range s.methodNames() {
		methods = append(methods, adminMethod{s: s, m: s.methods[name]})
	}
	return &admin.Service{Store: s.store, Hasher: s.hasher, Now: s.now, Log: s.log, Methods: methods}
}

// adminMethod is a launched method as package admin uses it, each call
// timed.
type adminMethod struct {
	s *Server
	m *method
}

func (a adminMethod) Name() string               { return a.m.name }
func (a adminMethod) Actions() []sdk.AdminAction { return a.m.admin }
func (a adminMethod) NeedsEnrolment() bool       { return a.m.desc.NeedsEnrolment }

func (a adminMethod) Admin(ctx context.Context, req sdk.AdminRequest) (out map[string]string, err error) {
	err = a.s.timed(a.m.name, "admin", func() error {
		out, err = a.m.plugin.Admin(ctx, req)
		return err
	})
	return out, err
}

func (a adminMethod) ListCredentials(ctx context.Context, userID string) ([]sdk.Credential, error) {
	return a.s.credentials(ctx, a.m, userID)
}

func (a adminMethod) Remove(ctx context.Context, userID, credID string) error {
	return a.s.timed(a.m.name, "remove", func() error { return a.m.plugin.Remove(ctx, userID, credID) })
}

// adminStatus is the HTTP status the admin API answers for each kind of
// admin.Error.
var adminStatus = map[admin.Kind]int{
	admin.NotFound: http.StatusNotFound, admin.Invalid: http.StatusBadRequest, admin.Conflict: http.StatusConflict,
	admin.Forbidden: http.StatusForbidden, admin.RateLimited: http.StatusTooManyRequests, admin.Unavailable: http.StatusServiceUnavailable,
}

// msgAdminFailed answers an admin request that failed for the server's
// own reason.
const msgAdminFailed = "the operation failed; see the server log"

// adminErrorStatus is the status and the message for err: its kind's, or
// a 500 that says nothing of the cause.
func adminErrorStatus(err error) (int, string) {
	if e, ok := admin.AsError(err); ok {
		if st, ok := adminStatus[e.Kind]; ok {
			return st, e.Msg
		}
	}
	return http.StatusInternalServerError, msgAdminFailed
}

// invalid is a request the admin API refuses as malformed.
func invalid(msg string) error { return &admin.Error{Kind: admin.Invalid, Msg: msg} }

// localKeySet verifies access tokens against this provider's own keys.
type localKeySet struct{ kr *protocol.KeyRing }

func (k localKeySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return nil, err
	}
	keys, err := k.kr.Published(ctx)
	if err != nil {
		return nil, err
	}
	kid := jws.Signatures[0].Header.KeyID
	for _, key := range keys {
		if key.ID() == kid {
			return jws.Verify(key.Key())
		}
	}
	return nil, errors.New("unknown signing key")
}

func (s *Server) newAdminVerifier() (*stepauth.Verifier, stepauth.Requirement, error) {
	var levels [][]string
	for _, l := range s.policy.Levels {
		levels = append(levels, l.Names)
	}
	lv, err := stepauth.NewLevels(levels)
	if err != nil {
		return nil, stepauth.Requirement{}, err
	}
	v, err := stepauth.NewVerifier(stepauth.Config{
		Issuer: s.cfg.Issuer, Keys: localKeySet{s.keys}, Levels: lv, Now: s.now, Logger: s.log,
		Audiences: s.adminClients(),
		Revoked: func(ctx context.Context, jti string) bool {
			_, err := s.store.GetAccessToken(ctx, jti)
			return err != nil
		},
	})
	if err != nil {
		return nil, stepauth.Requirement{}, err
	}
	level, _ := s.cfg.LevelOf(s.cfg.Admin.RequiredACR)
	return v, stepauth.Requirement{ACR: level, MaxAge: s.cfg.Admin.MaxAuthAge, AllowClientCredentials: true}, nil
}

// adminClients are the clients designated for administration, those
// configured with manage_mfa: the admin API takes only tokens issued to
// one of them, so a token an administrator handed an ordinary relying
// party by signing in there is worth nothing at /admin/v1.
func (s *Server) adminClients() []string {
	var ids []string
	for id, c := range s.clients {
		if slices.Contains(c.Config().Permissions, config.PermissionManageMFA) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// msgNoAdminClient answers the admin API when no client may call it.
const msgNoAdminClient = "no client is designated for administration: give the client that administrators or automation use permissions: [manage_mfa]"

// adminRoutes mounts /admin/v1 behind the RFC 9470 middleware.
func (s *Server) adminRoutes(mux *http.ServeMux) error {
	if len(s.adminClients()) == 0 {
		mux.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
			stepauth.WriteProblem(w, http.StatusForbidden, "Forbidden", msgNoAdminClient)
		})
		return nil
	}
	v, req, err := s.newAdminVerifier()
	if err != nil {
		return err
	}
	api := http.NewServeMux()
	api.HandleFunc("POST /admin/v1/users", s.apiCreateUser)
	api.HandleFunc("GET /admin/v1/users/{username}", s.apiGetUser)
	api.HandleFunc("PATCH /admin/v1/users/{username}", s.apiPatchUser)
	api.HandleFunc("GET /admin/v1/users/{username}/methods", s.apiListMethods)
	api.HandleFunc("DELETE /admin/v1/users/{username}/methods/{id}", s.apiDisconnect)
	for _, a := range s.adminActions() {
		api.HandleFunc(a.Verb+" /admin/v1/users/{username}/"+a.Resource, s.apiAdminAction(a))
	}
	api.HandleFunc("GET /admin/v1/events", s.apiEvents)
	api.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
		stepauth.WriteProblem(w, http.StatusNotFound, "Not Found", msgNoEndpoint)
	})
	mux.Handle("/admin/v1/", v.Require(req, s.requireManageMFA(api)))
	return nil
}

// requireManageMFA admits a client configured with manage_mfa, or an
// active user holding it.
func (s *Server) requireManageMFA(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := stepauth.ClaimsFrom(r.Context())
		var actor reqctx.Actor
		if c.IsClient() {
			cl, ok := s.clients[c.ClientID]
			if !ok || !slices.Contains(cl.Config().Permissions, config.PermissionManageMFA) {
				stepauth.WriteProblem(w, http.StatusForbidden, "Forbidden", "no permission: this client lacks manage_mfa")
				return
			}
			actor = reqctx.Actor{Name: "client:" + c.ClientID, ClientID: c.ClientID}
		} else {
			u, err := s.store.GetUser(r.Context(), c.Subject)
			if err != nil || !u.Active || !u.HasPermission(config.PermissionManageMFA) {
				stepauth.WriteProblem(w, http.StatusForbidden, "Forbidden", "no permission: you lack manage_mfa")
				return
			}
			actor = reqctx.Actor{Name: u.Username, UserID: u.ID, ClientID: c.ClientID}
		}
		next.ServeHTTP(w, r.WithContext(reqctx.Update(r.Context(), func(v *reqctx.Values) { v.Actor = actor })))
	})
}

func actorFrom(ctx context.Context) reqctx.Actor { return reqctx.From(ctx).Actor }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, err error) {
	status, msg := adminErrorStatus(err)
	if e, ok := admin.AsError(err); ok && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter/time.Second)))
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

func (s *Server) userByName(ctx context.Context, name string) (storage.User, error) {
	return s.adminService().UserByName(ctx, name)
}

// adminAudit records an admin action: who, for whom, from where, outcome.
func (s *Server) adminAudit(ctx context.Context, typ, userID, outcome string, details map[string]string) {
	a := actorFrom(ctx)
	s.audit(ctx, storage.Event{Type: typ, Actor: a.Name, UserID: userID, ClientID: a.ClientID, Outcome: outcome, Details: details})
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("invalid JSON body: " + err.Error())
	}
	return nil
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request) {
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
	u, err := s.adminService().CreateUser(r.Context(), admin.NewUser{Username: body.Username, Email: body.Email, Phone: body.Phone,
		Password: body.Password, Permissions: body.Permissions})
	if err != nil {
		s.adminAudit(r.Context(), "admin.user.create", "", "failure", map[string]string{"username": body.Username, "permissions": strings.Join(body.Permissions, " ")})
		writeAPIError(w, err)
		return
	}
	s.adminAudit(r.Context(), "admin.user.create", u.ID, "success", map[string]string{"permissions": strings.Join(u.Permissions, " ")})
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

func (s *Server) apiGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

func (s *Server) apiPatchUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Active *bool `json:"active"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeAPIError(w, err)
		return
	}
	if body.Active == nil {
		writeAPIError(w, invalid(`nothing to change: send {"active": true} or {"active": false}`))
		return
	}
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	if err == nil {
		u, err = s.adminService().SetActive(r.Context(), u.ID, *body.Active)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	s.adminAudit(r.Context(), "admin.user.update", u.ID, "success", map[string]string{"active": strconv.FormatBool(u.Active)})
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

func (s *Server) apiListMethods(w http.ResponseWriter, r *http.Request) {
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	var creds []admin.Credential
	if err == nil {
		creds, err = s.adminService().Credentials(r.Context(), u.ID)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"methods": toMethodJSON(creds)})
}

func (s *Server) apiDisconnect(w http.ResponseWriter, r *http.Request) {
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	end := r.URL.Query().Get("end_sessions") == "true"
	if err == nil {
		err = s.adminService().Disconnect(r.Context(), u, r.PathValue("id"), end)
	}
	details := map[string]string{"method": r.PathValue("id"), "end_sessions": strconv.FormatBool(end)}
	if err != nil {
		s.adminAudit(r.Context(), "admin.method.remove", u.ID, "failure", details)
		writeAPIError(w, err)
		return
	}
	s.adminAudit(r.Context(), "method.removed", u.ID, "success", details)
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

// adminActions are the well-formed actions of every launched method, by
// method name, then in the order each declared them (see loadMethods).
func (s *Server) adminActions() []admin.Action { return s.adminService().Actions() }

// adminActor is the actor of the request, as package admin knows it.
func adminActor(ctx context.Context) admin.Actor {
	a := actorFrom(ctx)
	return admin.Actor{Name: a.Name, UserID: a.UserID}
}

// auditAdminAction writes the event the action declares for this run
// (admin.ActionEvent), with the request's actor.
func (s *Server) auditAdminAction(ctx context.Context, a admin.Action, userID string, params, results map[string]string, err error, breakGlass bool) {
	if e, ok := admin.ActionEvent(a, userID, params, results, err, breakGlass); ok {
		s.adminAudit(ctx, e.Type, e.UserID, e.Outcome, e.Details)
	}
}

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
func (s *Server) apiAdminAction(a admin.Action) http.HandlerFunc {
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
		u, err := s.userByName(ctx, r.PathValue("username"))
		var results map[string]string
		if err == nil {
			results, err = s.adminService().RunAction(ctx, adminActor(ctx), a, u, params, false)
		}
		s.auditAdminAction(ctx, a, u.ID, params, results, err, false)
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

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := storage.EventFilter{Type: q.Get("type"), Limit: 100}
	if name := q.Get("user"); name != "" {
		u, err := s.userByName(r.Context(), name)
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
	events, err := s.store.ListEvents(r.Context(), f)
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
