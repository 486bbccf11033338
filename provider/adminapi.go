package provider

import (
	"cmp"
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
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
	"github.com/stepup-mfa/stepup/stepauth"
)

// apiError is an admin-operation failure with its HTTP status; the same
// operations serve the JSON API and the admin page.
type apiError struct {
	status int
	title  string
	detail string
	// retryAfter is the Retry-After of a 429, in seconds.
	retryAfter int
}

func (e *apiError) Error() string { return e.detail }

func apiErr(status int, detail string) *apiError {
	return &apiError{status: status, title: http.StatusText(status), detail: detail}
}

// localKeySet verifies access tokens against this provider's own keys.
type localKeySet struct{ kr *keyRing }

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
		if slices.Contains(c.cfg.Permissions, config.PermissionManageMFA) {
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
			if !ok || !slices.Contains(cl.cfg.Permissions, config.PermissionManageMFA) {
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
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = apiErr(http.StatusInternalServerError, "the operation failed; see the server log")
	}
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	stepauth.Problem{Type: "about:blank", Title: ae.title, Status: ae.status, Detail: ae.detail}.Write(w)
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
	norm, err := username.Normalize(name)
	if err != nil {
		return storage.User{}, apiErr(http.StatusNotFound, fmt.Sprintf("no user %q: %v", name, err))
	}
	u, err := s.store.GetUserByUsername(ctx, norm)
	if errors.Is(err, storage.ErrNotFound) {
		return u, apiErr(http.StatusNotFound, fmt.Sprintf("no user %q", norm))
	}
	return u, err
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
		return apiErr(http.StatusBadRequest, "invalid JSON body: "+err.Error())
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
	u, err := s.CreateUser(r.Context(), body.Username, body.Email, body.Phone, body.Password, body.Permissions)
	if err != nil {
		s.adminAudit(r.Context(), "admin.user.create", "", "failure", map[string]string{"username": body.Username, "permissions": strings.Join(body.Permissions, " ")})
		writeAPIError(w, err)
		return
	}
	s.adminAudit(r.Context(), "admin.user.create", u.ID, "success", map[string]string{"permissions": strings.Join(u.Permissions, " ")})
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

// CreateUser adds an active local user; the admin API and the offline
// command share it. Errors are *apiError values with an HTTP status.
func (s *Server) CreateUser(ctx context.Context, username, email, phone, pw string, perms []string) (storage.User, error) {
	return CreateUser(ctx, s.store, s.hasher, s.now(), username, email, phone, pw, perms)
}

// CreateUser validates and stores a new active user (a username by the
// rule of package username that looks like no existing one, known
// permissions, argon2id password when one is given). Errors that are the
// caller's are *apiError values carrying an HTTP status and a message.
func CreateUser(ctx context.Context, store storage.Store, hasher password.Hasher, now time.Time, name, email, phone, pw string, perms []string) (storage.User, error) {
	name, err := username.Normalize(name)
	if err != nil {
		return storage.User{}, apiErr(http.StatusBadRequest, err.Error())
	}
	for _, p := range perms {
		if !slices.Contains(config.KnownPermissions, p) {
			return storage.User{}, apiErr(http.StatusBadRequest, fmt.Sprintf("unknown permission %q: use one of %s", p, strings.Join(config.KnownPermissions, ", ")))
		}
	}
	if pw != "" && len(pw) < 8 {
		return storage.User{}, apiErr(http.StatusBadRequest, "password must have at least 8 characters")
	}
	if err := lookAlike(ctx, store, name); err != nil {
		return storage.User{}, err
	}
	u := storage.User{ID: newID(12), Username: name, Email: strings.TrimSpace(email), Phone: strings.TrimSpace(phone),
		Active: true, Permissions: perms, CreatedAt: now, UpdatedAt: now}
	if pw != "" {
		hash, err := hasher.Hash(pw)
		if err != nil {
			return storage.User{}, err
		}
		u.PasswordHash = hash
	}
	if err := store.CreateUser(ctx, u); errors.Is(err, storage.ErrAlreadyExists) {
		return storage.User{}, apiErr(http.StatusConflict, fmt.Sprintf("user %q already exists", name))
	} else if err != nil {
		return storage.User{}, err
	}
	return u, nil
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
		writeAPIError(w, apiErr(http.StatusBadRequest, `nothing to change: send {"active": true} or {"active": false}`))
		return
	}
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	if err == nil {
		u, err = s.SetUserActive(r.Context(), u.ID, *body.Active)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	s.adminAudit(r.Context(), "admin.user.update", u.ID, "success", map[string]string{"active": strconv.FormatBool(u.Active)})
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// SetUserActive activates or deactivates a user; deactivating ends the
// user's sessions and revokes their tokens.
func (s *Server) SetUserActive(ctx context.Context, userID string, active bool) (storage.User, error) {
	u, err := s.store.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
		u.Active, u.UpdatedAt = active, s.now()
		return u, nil
	})
	if err != nil {
		return u, err
	}
	if !active {
		if _, err := s.store.DeleteUserSessions(ctx, userID); err != nil {
			return u, err
		}
		if _, err := s.store.DeleteUserTokens(ctx, userID, ""); err != nil {
			return u, err
		}
	}
	return u, nil
}

// methodJSON is one of a user's credentials; ID is "method:credential".
type methodJSON struct {
	ID        string    `json:"id"`
	Method    string    `json:"method"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
}

// UserCredentials lists a user's credentials across every method.
func (s *Server) UserCredentials(ctx context.Context, userID string) ([]methodJSON, error) {
	out := []methodJSON{}
	for _, name := range s.methodNames() {
		m := s.methods[name]
		if !m.desc.NeedsEnrolment {
			continue
		}
		creds, err := s.credentials(ctx, m, userID)
		if err != nil {
			return nil, apiErr(http.StatusServiceUnavailable, fmt.Sprintf(msgMethodNotAnswers, name))
		}
		for _, c := range creds {
			out = append(out, methodJSON{ID: name + ":" + c.ID, Method: name, Label: c.Label, CreatedAt: c.CreatedAt})
		}
	}
	return out, nil
}

func (s *Server) apiListMethods(w http.ResponseWriter, r *http.Request) {
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	var list []methodJSON
	if err == nil {
		list, err = s.UserCredentials(r.Context(), u.ID)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"methods": list})
}

// Disconnect removes one credential ("method:credential") of a user; with
// endSessions it also ends the user's sessions and revokes their tokens
// (a lost or stolen device).
func (s *Server) Disconnect(ctx context.Context, u storage.User, id string, endSessions bool) error {
	name, credID, ok := strings.Cut(id, ":")
	m, known := s.methods[name]
	if !ok || !known {
		return apiErr(http.StatusNotFound, fmt.Sprintf("no method %q: ids look like totp:ABC (list them first)", id))
	}
	err := s.timed(name, "remove", func() error { return m.plugin.Remove(ctx, u.ID, credID) })
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return apiErr(http.StatusNotFound, fmt.Sprintf("user %s has no %s", u.Username, id))
	case err != nil:
		return apiErr(http.StatusServiceUnavailable, fmt.Sprintf(msgMethodNotAnswers, name))
	}
	if endSessions {
		if _, err := s.store.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		if _, err := s.store.DeleteUserTokens(ctx, u.ID, ""); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) apiDisconnect(w http.ResponseWriter, r *http.Request) {
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	end := r.URL.Query().Get("end_sessions") == "true"
	if err == nil {
		err = s.Disconnect(r.Context(), u, r.PathValue("id"), end)
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

// Messages of the admin actions methods declare.
const (
	msgActionForSelf     = "you cannot do this for yourself: ask another administrator"
	msgActionInactive    = "user %s is inactive: activate the account first"
	msgActionInvalid     = "the method refused the request as malformed"
	msgActionNotFound    = "user %s has nothing of that kind"
	msgActionConflict    = "the method refused: it conflicts with what user %s has now"
	msgActionRateLimited = "too many requests of this kind for user %s: try again after %s UTC"
	msgMethodNotAnswers  = "method %s is not answering; try again"
	msgUnknownMember     = "unknown member %q: this action takes %s"
	msgNoMembers         = "unknown member %q: this action takes no parameters"
	msgMemberNotString   = "member %q must be a JSON string"
)

// adminAction is an action a method declared (sdk.AdminAction), as the
// admin API, the admin page and the break-glass command offer it.
type adminAction struct {
	method *method
	sdk.AdminAction
}

// adminActions are the well-formed actions of every launched method, by
// method name, then in the order each declared them (see loadMethods).
func (s *Server) adminActions() []adminAction {
	var out []adminAction
	for _, name := range s.methodNames() {
		m := s.methods[name]
		for _, a := range m.admin {
			out = append(out, adminAction{method: m, AdminAction: a})
		}
	}
	return out
}

// runAdminAction runs an action for u on behalf of actor and returns its
// results. The host's own rules come first (not for oneself, active users
// only, as the action declares; breakGlass waives the first); the
// method's refusals are *apiError values with the status the admin API
// answers.
func (s *Server) runAdminAction(ctx context.Context, actor reqctx.Actor, a adminAction, u storage.User, params map[string]string, breakGlass bool) (map[string]string, error) {
	if a.NotForSelf && !breakGlass && actor.UserID != "" && actor.UserID == u.ID {
		return nil, apiErr(http.StatusForbidden, msgActionForSelf)
	}
	if a.ActiveUserOnly && !u.Active {
		return nil, apiErr(http.StatusConflict, fmt.Sprintf(msgActionInactive, u.Username))
	}
	var out map[string]string
	err := s.timed(a.method.name, "admin", func() (err error) {
		out, err = a.method.plugin.Admin(ctx, sdk.AdminRequest{Action: a.Name, User: sdkUser(u), Params: params, Actor: actor.Name})
		return err
	})
	if err != nil {
		return nil, s.adminActionError(a, u, err)
	}
	return out, nil
}

// adminActionError maps a method's refusal to the admin API's answer,
// with the method's own words where it gave some.
func (s *Server) adminActionError(a adminAction, u storage.User, err error) error {
	msg := sdk.UserMessage(err)
	switch {
	case errors.Is(err, sdk.ErrInvalidInput):
		return apiErr(http.StatusBadRequest, cmp.Or(msg, msgActionInvalid))
	case errors.Is(err, sdk.ErrNotFound):
		return apiErr(http.StatusNotFound, fmt.Sprintf(msgActionNotFound, u.Username))
	case errors.Is(err, sdk.ErrConflict):
		if msg == "" || msg == sdk.ErrConflict.Error() {
			msg = fmt.Sprintf(msgActionConflict, u.Username)
		}
		return apiErr(http.StatusConflict, msg)
	case errors.Is(err, sdk.ErrRateLimited):
		until, ok := sdk.RetryAfter(err)
		if !ok {
			until = s.now().Add(time.Minute)
		}
		e := apiErr(http.StatusTooManyRequests, fmt.Sprintf(msgActionRateLimited, u.Username, until.UTC().Format("15:04")))
		e.retryAfter = max(int(until.Sub(s.now()).Seconds())+1, 1)
		return e
	}
	s.log.Warn("admin action", "method", a.method.name, "action", a.Name, "err", err)
	return apiErr(http.StatusServiceUnavailable, fmt.Sprintf(msgMethodNotAnswers, a.method.name))
}

// auditAdminAction writes the events the action declares: Event when it
// succeeded (and its EventIf result says so), RefusedEvent when err
// refused it. Secrets and summaries never reach the audit log.
func (s *Server) auditAdminAction(ctx context.Context, a adminAction, userID string, params, results map[string]string, err error, breakGlass bool) {
	details := map[string]string{}
	for _, p := range a.Params {
		if v, ok := params[p.Name]; ok {
			details[p.Name] = v
		}
	}
	if breakGlass {
		details["break_glass"] = "true"
	}
	if err != nil {
		if a.RefusedEvent != "" {
			details["reason"] = err.Error()
			s.adminAudit(ctx, a.RefusedEvent, userID, "failure", details)
		}
		return
	}
	if a.Event == "" || (a.EventIf != "" && results[a.EventIf] != "true") {
		return
	}
	for _, r := range a.Results {
		if v, ok := results[r.Name]; ok && !r.Secret && r.Type != sdk.ResultSummary {
			details[r.Name] = v
		}
	}
	s.adminAudit(ctx, a.Event, userID, "success", details)
}

// actionJSON is an action's answer in the admin API: its declared results,
// a bool as a JSON boolean, empty text left out, no summary.
func actionJSON(a adminAction, results map[string]string) map[string]any {
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
func decodeParams(r *http.Request, a adminAction) (map[string]string, error) {
	var body map[string]any
	err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10)).Decode(&body)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, apiErr(http.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	var names []string
	for _, p := range a.Params {
		names = append(names, p.Name)
	}
	params := map[string]string{}
	for k, v := range body {
		if !slices.Contains(names, k) {
			if len(names) == 0 {
				return nil, apiErr(http.StatusBadRequest, fmt.Sprintf(msgNoMembers, k))
			}
			return nil, apiErr(http.StatusBadRequest, fmt.Sprintf(msgUnknownMember, k, strings.Join(names, ", ")))
		}
		str, ok := v.(string)
		if !ok {
			return nil, apiErr(http.StatusBadRequest, fmt.Sprintf(msgMemberNotString, k))
		}
		params[k] = str
	}
	return params, nil
}

// apiAdminAction serves one declared action: POST answers 201 with its
// results, GET 200, DELETE 204. A POST's params are its JSON body; a GET's
// or a DELETE's, the declared ones of its query.
func (s *Server) apiAdminAction(a adminAction) http.HandlerFunc {
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
			results, err = s.runAdminAction(ctx, actorFrom(ctx), a, u, params, false)
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
				writeAPIError(w, apiErr(http.StatusBadRequest, key+" must be an RFC 3339 time such as 2026-11-22T10:00:00Z"))
				return
			}
			*dst = t
		}
	}
	for key, dst := range map[string]*int64{"before": &f.BeforeSeq} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				writeAPIError(w, apiErr(http.StatusBadRequest, key+" must be a positive event seq (the next_before of a previous page)"))
				return
			}
			*dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeAPIError(w, apiErr(http.StatusBadRequest, "limit must be between 1 and 1000"))
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
