package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// adminView is what the help-desk page shows.
type adminView struct {
	Query        string
	User         *storage.User
	Methods      []accountCredential
	Events       []string
	CodeActive   bool
	CodeExpires  string
	CodeIssuedBy string
	Code         string
	TTLs         []string
}

// adminSession admits a help-desk person: signed in at admin.required_acr
// within admin.max_auth_age (else it sends them to step up, like any
// relying party would) and holding manage_mfa.
func (s *Server) adminSession(w http.ResponseWriter, r *http.Request, returnTo string) (context.Context, storage.User, bool) {
	sess, u, err := s.browserSession(r)
	if err != nil {
		s.serverError(w, r, "load session", err)
		return nil, storage.User{}, false
	}
	level, _ := s.cfg.LevelOf(s.cfg.Admin.RequiredACR)
	var lvl authflow.Level
	for _, l := range s.policy.Levels {
		if l.Name == level {
			lvl = l
		}
	}
	maxAge := s.cfg.Admin.MaxAuthAge
	req := authflow.Request{ACRValues: []string{lvl.Canonical()}, Essential: true, MaxAge: &maxAge, Started: s.now()}
	d := authflow.Decide(s.policy, req, flowFactors(sess.Factors), nil, s.now())
	if u.ID == "" || d.Step != authflow.StepDone || d.Result.ACR != lvl.Canonical() {
		secs := uint(maxAge.Seconds())
		s.startOwnLogin(w, r, returnTo, []string{lvl.Canonical()}, &secs)
		return nil, storage.User{}, false
	}
	if !u.HasPermission(config.PermissionManageMFA) {
		s.renderMessage(w, r, http.StatusForbidden, "No permission", "Your account cannot administer other users (it lacks manage_mfa).")
		return nil, storage.User{}, false
	}
	ctx := context.WithValue(r.Context(), adminActorKey{}, adminActor{name: u.Username, userID: u.ID})
	return ctx, u, true
}

func (s *Server) handleAdminPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("user")
	ctx, admin, ok := s.adminSession(w, r, "/admin?user="+url.QueryEscape(q))
	if !ok {
		return
	}
	p := page{Title: "Help desk", Username: admin.Username}
	switch r.URL.Query().Get("done") {
	case "expired":
		p.Notice = "The temporary code was expired."
	case "disconnected":
		p.Notice = "The method was disconnected."
	}
	p.Admin.Query = q
	if q != "" {
		if err := s.fillAdminUser(ctx, &p, q); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.serverError(w, r, "admin page", err)
				return
			}
			p.Error = ae.detail
			s.render(w, r, ae.status, "admin.html", p)
			return
		}
	}
	s.render(w, r, http.StatusOK, "admin.html", p)
}

func (s *Server) fillAdminUser(ctx context.Context, p *page, name string) error {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	p.Admin.User = &u
	creds, err := s.UserCredentials(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, c := range creds {
		p.Admin.Methods = append(p.Admin.Methods, accountCredential{Method: c.Method, ID: c.ID, Label: c.Label,
			Added: c.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")})
	}
	if _, ok := s.methods[tempCodeMethod]; ok {
		st, err := s.TempCodeStatus(ctx, u)
		if err != nil {
			return err
		}
		p.Admin.CodeActive, p.Admin.CodeIssuedBy = st["active"] == "true", st["issued_by"]
		if t, err := time.Parse(time.RFC3339, st["expires_at"]); err == nil {
			p.Admin.CodeExpires = t.UTC().Format("2006-01-02 15:04 UTC")
		}
		minTTL := s.cfg.Methods[tempCodeMethod].Duration("min_ttl", time.Hour)
		maxTTL := s.cfg.Methods[tempCodeMethod].Duration("max_ttl", 24*time.Hour)
		for d := minTTL; d <= maxTTL; d += time.Hour {
			p.Admin.TTLs = append(p.Admin.TTLs, shortDuration(d))
		}
	}
	events, err := s.store.ListEvents(ctx, storage.EventFilter{UserID: u.ID, Limit: 20})
	if err != nil {
		return err
	}
	for _, e := range events {
		line := e.Time.UTC().Format("2006-01-02 15:04 UTC") + ": " + e.Type + " (" + e.Outcome + ")"
		if e.Actor != "" && e.Actor != e.UserID {
			line += " by " + e.Actor
		}
		p.Admin.Events = append(p.Admin.Events, line)
	}
	return nil
}

// shortDuration writes whole hours as "4h".
func shortDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func (s *Server) adminPost(w http.ResponseWriter, r *http.Request) (context.Context, storage.User, storage.User, bool) {
	name := r.PostFormValue("user")
	ctx, admin, ok := s.adminSession(w, r, "/admin?user="+url.QueryEscape(name))
	if !ok {
		return nil, admin, storage.User{}, false
	}
	u, err := s.userByName(ctx, name)
	if err != nil {
		s.adminPageError(w, r, admin, name, err)
		return nil, admin, u, false
	}
	return ctx, admin, u, true
}

func (s *Server) adminPageError(w http.ResponseWriter, r *http.Request, admin storage.User, name string, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.serverError(w, r, "admin page", err)
		return
	}
	p := page{Title: "Help desk", Username: admin.Username, Error: ae.detail}
	p.Admin.Query = name
	s.render(w, r, ae.status, "admin.html", p)
}

func (s *Server) handleAdminIssue(w http.ResponseWriter, r *http.Request) {
	ctx, admin, u, ok := s.adminPost(w, r)
	if !ok {
		return
	}
	ttl := r.PostFormValue("ttl")
	tc, err := s.IssueTempCode(ctx, actorFrom(ctx), u, ttl)
	if err != nil {
		s.adminAudit(ctx, "tempcode.issue_refused", u.ID, "failure", map[string]string{"ttl": ttl, "reason": err.Error()})
		s.adminPageError(w, r, admin, u.Username, err)
		return
	}
	s.adminAudit(ctx, "tempcode.issued", u.ID, "success", map[string]string{"ttl": ttl, "expires_at": tc.ExpiresAt.Format(time.RFC3339)})
	p := page{Title: "Temporary code", Username: admin.Username}
	p.Admin.User, p.Admin.Code = &u, tc.Code
	p.Admin.CodeExpires = tc.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	s.render(w, r, http.StatusCreated, "admincode.html", p)
}

func (s *Server) handleAdminExpire(w http.ResponseWriter, r *http.Request) {
	ctx, admin, u, ok := s.adminPost(w, r)
	if !ok {
		return
	}
	expired, err := s.ExpireTempCode(ctx, u)
	if err != nil {
		s.adminPageError(w, r, admin, u.Username, err)
		return
	}
	if expired {
		s.adminAudit(ctx, "tempcode.expired", u.ID, "success", nil)
	}
	http.Redirect(w, r, "/admin?done=expired&user="+url.QueryEscape(u.Username), http.StatusSeeOther)
}

func (s *Server) handleAdminDisconnect(w http.ResponseWriter, r *http.Request) {
	ctx, admin, u, ok := s.adminPost(w, r)
	if !ok {
		return
	}
	id, end := r.PostFormValue("id"), r.PostFormValue("end_sessions") == "true"
	details := map[string]string{"method": id, "end_sessions": map[bool]string{true: "true", false: "false"}[end]}
	if err := s.Disconnect(ctx, u, id, end); err != nil {
		s.adminAudit(ctx, "admin.method.remove", u.ID, "failure", details)
		s.adminPageError(w, r, admin, u.Username, err)
		return
	}
	s.adminAudit(ctx, "method.removed", u.ID, "success", details)
	http.Redirect(w, r, "/admin?done=disconnected&user="+url.QueryEscape(u.Username), http.StatusSeeOther)
}
