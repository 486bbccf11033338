package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/stepauth"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
)

// tempCodeMethod is the built-in method of admin-issued temporary codes.
const tempCodeMethod = "tempcode"

// apiError is an admin-operation failure with its HTTP status; the same
// operations serve the JSON API and the admin page.
type apiError struct {
	status     int
	title      string
	detail     string
	retryAfter time.Time
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

// adminActor is who calls the admin API or page.
type adminActor struct {
	name     string // username, or "client:ID"
	userID   string // empty for a client
	clientID string
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
	api.HandleFunc("POST /admin/v1/users/{username}/temporary-code", s.apiIssueTempCode)
	api.HandleFunc("GET /admin/v1/users/{username}/temporary-code", s.apiTempCodeStatus)
	api.HandleFunc("DELETE /admin/v1/users/{username}/temporary-code", s.apiExpireTempCode)
	api.HandleFunc("GET /admin/v1/events", s.apiEvents)
	api.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
		stepauth.WriteProblem(w, http.StatusNotFound, "Not Found", "no such admin endpoint: see the admin API reference")
	})
	mux.Handle("/admin/v1/", v.Require(req, s.requireManageMFA(api)))
	return nil
}

// requireManageMFA admits a client configured with manage_mfa, or an
// active user holding it.
func (s *Server) requireManageMFA(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := stepauth.ClaimsFrom(r.Context())
		var actor adminActor
		if c.IsClient() {
			cl, ok := s.clients[c.ClientID]
			if !ok || !slices.Contains(cl.cfg.Permissions, config.PermissionManageMFA) {
				stepauth.WriteProblem(w, http.StatusForbidden, "Forbidden", "no permission: this client lacks manage_mfa")
				return
			}
			actor = adminActor{name: "client:" + c.ClientID, clientID: c.ClientID}
		} else {
			u, err := s.store.GetUser(r.Context(), c.Subject)
			if err != nil || !u.Active || !u.HasPermission(config.PermissionManageMFA) {
				stepauth.WriteProblem(w, http.StatusForbidden, "Forbidden", "no permission: you lack manage_mfa")
				return
			}
			actor = adminActor{name: u.Username, userID: u.ID, clientID: c.ClientID}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminActorKey{}, actor)))
	})
}

type adminActorKey struct{}

func actorFrom(ctx context.Context) adminActor {
	a, _ := ctx.Value(adminActorKey{}).(adminActor)
	return a
}

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
	if !ae.retryAfter.IsZero() {
		secs := int(time.Until(ae.retryAfter).Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
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
	s.audit(ctx, storage.Event{Type: typ, Actor: a.name, UserID: userID, ClientID: a.clientID, Outcome: outcome, Details: details})
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
			return nil, apiErr(http.StatusServiceUnavailable, fmt.Sprintf("method %s is not answering; try again", name))
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
		return apiErr(http.StatusServiceUnavailable, fmt.Sprintf("method %s is not answering; try again", name))
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

// TempCode is an issued temporary code: Code is shown once, never stored.
type TempCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IssueTempCode issues a temporary verification code for a user on
// behalf of actor (SPEC §6): errors are *apiError with the status the API
// answers (400 ttl, 403 self, 404, 409 inactive or active code, 429).
func (s *Server) IssueTempCode(ctx context.Context, actor adminActor, u storage.User, ttl string) (TempCode, error) {
	m, ok := s.methods[tempCodeMethod]
	if !ok {
		return TempCode{}, apiErr(http.StatusServiceUnavailable, "temporary codes are not enabled (methods.tempcode)")
	}
	if actor.userID != "" && actor.userID == u.ID {
		return TempCode{}, apiErr(http.StatusForbidden, "you cannot issue a temporary code for yourself: ask another administrator")
	}
	if !u.Active {
		return TempCode{}, apiErr(http.StatusConflict, fmt.Sprintf("user %s is inactive: activate the account first", u.Username))
	}
	var out map[string]string
	err := s.timed(tempCodeMethod, "admin", func() (err error) {
		out, err = m.plugin.Admin(ctx, sdk.AdminRequest{Action: "issue", User: sdkUser(u), Params: map[string]string{"ttl": ttl, "actor": actor.name}})
		return err
	})
	if err != nil {
		return TempCode{}, tempCodeError(err)
	}
	exp, _ := time.Parse(time.RFC3339, out["expires_at"])
	return TempCode{Code: out["code"], ExpiresAt: exp}, nil
}

func tempCodeError(err error) error {
	switch {
	case errors.Is(err, sdk.ErrInvalidInput):
		return apiErr(http.StatusBadRequest, sdk.UserMessage(err))
	case errors.Is(err, sdk.ErrConflict):
		msg := sdk.UserMessage(err)
		if msg == "" || msg == sdk.ErrConflict.Error() {
			msg = "a temporary code is already active: expire the current code first"
		}
		return apiErr(http.StatusConflict, msg)
	case errors.Is(err, sdk.ErrRateLimited):
		until, _ := sdk.RetryAfter(err)
		e := apiErr(http.StatusTooManyRequests, "too many temporary codes issued for this user in the last hour: try again later")
		e.retryAfter = until
		return e
	}
	return apiErr(http.StatusServiceUnavailable, "temporary codes are not available right now; try again")
}

func (s *Server) apiIssueTempCode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		TTL string `json:"ttl"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeAPIError(w, err)
		return
	}
	ctx := r.Context()
	u, err := s.userByName(ctx, r.PathValue("username"))
	var tc TempCode
	if err == nil {
		tc, err = s.IssueTempCode(ctx, actorFrom(ctx), u, body.TTL)
	}
	if err != nil {
		var ae *apiError
		errors.As(err, &ae)
		s.adminAudit(ctx, "tempcode.issue_refused", u.ID, "failure", map[string]string{"ttl": body.TTL, "reason": err.Error()})
		writeAPIError(w, err)
		return
	}
	s.adminAudit(ctx, "tempcode.issued", u.ID, "success", map[string]string{"ttl": body.TTL, "expires_at": tc.ExpiresAt.Format(time.RFC3339)})
	writeJSON(w, http.StatusCreated, tc)
}

// TempCodeStatus returns a user's temporary-code metadata (never the code).
func (s *Server) TempCodeStatus(ctx context.Context, u storage.User) (map[string]string, error) {
	m, ok := s.methods[tempCodeMethod]
	if !ok {
		return nil, apiErr(http.StatusServiceUnavailable, "temporary codes are not enabled (methods.tempcode)")
	}
	var out map[string]string
	err := s.timed(tempCodeMethod, "admin", func() (err error) {
		out, err = m.plugin.Admin(ctx, sdk.AdminRequest{Action: "status", User: sdkUser(u)})
		return err
	})
	if err != nil {
		return nil, tempCodeError(err)
	}
	return out, nil
}

func (s *Server) apiTempCodeStatus(w http.ResponseWriter, r *http.Request) {
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	var st map[string]string
	if err == nil {
		st, err = s.TempCodeStatus(r.Context(), u)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := map[string]any{"active": st["active"] == "true"}
	for _, k := range []string{"issued_at", "expires_at", "issued_by"} {
		if st[k] != "" {
			out[k] = st[k]
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// ExpireTempCode ends a user's temporary code now; false when none was active.
func (s *Server) ExpireTempCode(ctx context.Context, u storage.User) (bool, error) {
	m, ok := s.methods[tempCodeMethod]
	if !ok {
		return false, apiErr(http.StatusServiceUnavailable, "temporary codes are not enabled (methods.tempcode)")
	}
	var out map[string]string
	err := s.timed(tempCodeMethod, "admin", func() (err error) {
		out, err = m.plugin.Admin(ctx, sdk.AdminRequest{Action: "expire", User: sdkUser(u)})
		return err
	})
	if err != nil {
		return false, tempCodeError(err)
	}
	return out["expired"] == "true", nil
}

func (s *Server) apiExpireTempCode(w http.ResponseWriter, r *http.Request) {
	u, err := s.userByName(r.Context(), r.PathValue("username"))
	expired := false
	if err == nil {
		expired, err = s.ExpireTempCode(r.Context(), u)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if expired {
		s.adminAudit(r.Context(), "tempcode.expired", u.ID, "success", nil)
	}
	w.WriteHeader(http.StatusNoContent)
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
