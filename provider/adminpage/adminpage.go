package adminpage

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/admin/httperr"
	"github.com/stepup-mfa/stepup/provider/browser"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// pageTimeFormat is how the admin page writes times.
const pageTimeFormat = "2006-01-02 15:04 UTC"

// The done parameter of a redirect back to the admin page: "disconnected",
// or "method:action" of an action that declared its Done sentence.
const (
	adminDoneParam    = "done"
	adminDisconnected = "disconnected"
	adminDoneSep      = ":"
)

// adminSession admits a help-desk person: signed in at admin.required_acr
// within admin.max_auth_age (else it sends them to step up, like any
// relying party would) and holding manage_mfa.
func (h *Handler) adminSession(w http.ResponseWriter, r *http.Request, returnTo string) (context.Context, storage.User, bool) {
	sess, u, err := h.Browser.Session(r)
	if err != nil {
		h.Web.ServerError(w, r, "load session", err)
		return nil, storage.User{}, false
	}
	level, _ := h.Config.LevelOf(h.Config.Admin.RequiredACR)
	var lvl authflow.Level
	for _, l := range h.Policy.Levels {
		if l.Name == level {
			lvl = l
		}
	}
	maxAge := h.Config.Admin.MaxAuthAge
	req := authflow.Request{ACRValues: []string{lvl.Canonical()}, Essential: true, MaxAge: &maxAge, Started: h.Now()}
	d := authflow.Decide(h.Policy, req, browser.Factors(sess.Factors), nil, h.Now())
	if u.ID == "" || d.Step != authflow.StepDone || d.Result.ACR != lvl.Canonical() {
		secs := uint(maxAge.Seconds())
		h.Browser.StartLogin(w, r, returnTo, []string{lvl.Canonical()}, &secs)
		return nil, storage.User{}, false
	}
	if !u.HasPermission(config.PermissionManageMFA) {
		h.Web.Message(w, r, http.StatusForbidden, web.TitleNoPermission, web.MsgNoAdminPermission)
		return nil, storage.User{}, false
	}
	ctx := reqctx.Update(r.Context(), func(v *reqctx.Values) { v.Actor = reqctx.Actor{Name: u.Username, UserID: u.ID} })
	return ctx, u, true
}

func (h *Handler) handleAdminPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("user")
	ctx, staff, ok := h.adminSession(w, r, "/admin?user="+url.QueryEscape(q))
	if !ok {
		return
	}
	p := web.Page{Title: web.TitleHelpDesk, Username: staff.Username}
	p.Notice = h.adminNotice(r.URL.Query().Get(adminDoneParam))
	p.Admin.Query = q
	if q != "" {
		if err := h.fillAdminUser(ctx, &p, q); err != nil {
			if _, ok := admin.AsError(err); !ok {
				h.Web.ServerError(w, r, "admin page", err)
				return
			}
			status, msg := httperr.Status(err)
			p.Error = msg
			h.Web.Render(w, r, status, "admin.html", p)
			return
		}
	}
	h.Web.Render(w, r, http.StatusOK, "admin.html", p)
}

func (h *Handler) fillAdminUser(ctx context.Context, p *web.Page, name string) error {
	u, err := h.Admin.UserByName(ctx, name)
	if err != nil {
		return err
	}
	p.Admin.User = &u
	creds, err := h.Admin.Credentials(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, c := range creds {
		p.Admin.Methods = append(p.Admin.Methods, web.Credential{Method: c.Method, ID: c.ID, Label: c.Label,
			Added: c.CreatedAt.UTC().Format(pageTimeFormat)})
	}
	p.Admin.Sections = h.adminSections(ctx, u)
	if err := h.fillTrustedBrowsers(ctx, p, u); err != nil {
		return err
	}
	events, err := h.Store.ListEvents(ctx, storage.EventFilter{UserID: u.ID, Limit: 20})
	if err != nil {
		return err
	}
	for _, e := range events {
		p.Admin.Events = append(p.Admin.Events, web.HelpDeskActivity(e, u, h.Now(), h.Methods.DisplayName))
	}
	return nil
}

// adminNotice is the sentence for the done parameter of a redirect: a
// disconnection, or "method:action" of an action that declared one.
func (h *Handler) adminNotice(done string) string {
	if done == adminDisconnected {
		return web.MsgDisconnected
	}
	if done == adminBrowsersForgotten {
		return web.MsgBrowsersForgotten
	}
	name, action, _ := strings.Cut(done, adminDoneSep)
	if a, ok := h.pageAction(name, action); ok {
		return a.Done
	}
	return ""
}

// adminSections are the resources the methods' admin actions are about,
// for one user: the status their GET action reports, and the forms of
// the actions it offers now (OfferedIf).
func (h *Handler) adminSections(ctx context.Context, u storage.User) []web.AdminSection {
	type key struct{ method, resource string }
	var order []key
	byKey := map[key][]admin.Action{}
	for _, a := range h.Admin.Actions() {
		k := key{a.Method.Name(), a.Resource}
		if _, seen := byKey[k]; !seen {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], a)
	}
	ids := map[string]bool{"user": true} // the search field's
	var out []web.AdminSection
	for _, k := range order {
		actions := byKey[k]
		sec := web.AdminSection{Heading: h.Methods.DisplayName(k.method)}
		var status map[string]string
		if i := slices.IndexFunc(actions, func(a admin.Action) bool { return a.Verb == sdk.VerbGet }); i >= 0 {
			get := actions[i]
			sec.Heading = cmp.Or(get.Label, sec.Heading)
			var err error
			if status, err = h.Admin.RunAction(ctx, admin.ActorFrom(ctx), get, u, nil, false); err != nil {
				sec.Summary = fmt.Sprintf(web.MsgSectionDown, sec.Heading)
				out = append(out, sec)
				continue
			}
			for _, r := range get.Results {
				if r.Type == sdk.ResultSummary && status[r.Name] != "" {
					sec.Summary = status[r.Name]
				}
			}
		}
		for _, a := range actions {
			if a.Verb == sdk.VerbGet || a.Label == "" || !offeredNow(a.OfferedIf, status) {
				continue
			}
			f := web.AdminForm{Method: k.method, Action: a.Name, Label: a.Label}
			for _, p := range a.Params {
				id := p.Name
				if ids[id] {
					id = k.method + "-" + a.Name + "-" + p.Name
				}
				ids[id] = true
				f.Params = append(f.Params, web.AdminParam{ID: id, Name: p.Name, Label: cmp.Or(p.Label, p.Name), Default: p.Default, Choices: p.Choices})
			}
			sec.Forms = append(sec.Forms, f)
		}
		out = append(out, sec)
	}
	return out
}

// offeredNow reports whether the condition of sdk.AdminAction.OfferedIf holds
// for a status: "name" while it is "true", "!name" while it is not.
func offeredNow(cond string, status map[string]string) bool {
	if cond == "" {
		return true
	}
	name, negated := strings.CutPrefix(cond, "!")
	return (status[name] == "true") != negated
}

// pageAction is the action the admin page may run: declared by the
// method, with a button (Label), and not a GET.
func (h *Handler) pageAction(method, action string) (admin.Action, bool) {
	for _, a := range h.Admin.Actions() {
		if a.Method.Name() == method && a.Name == action && a.Verb != sdk.VerbGet && a.Label != "" {
			return a, true
		}
	}
	return admin.Action{}, false
}

func (h *Handler) adminPost(w http.ResponseWriter, r *http.Request) (context.Context, storage.User, storage.User, bool) {
	name := r.PostFormValue("user")
	ctx, staff, ok := h.adminSession(w, r, "/admin?user="+url.QueryEscape(name))
	if !ok {
		return nil, staff, storage.User{}, false
	}
	u, err := h.Admin.UserByName(ctx, name)
	if err != nil {
		h.adminPageError(w, r, staff, name, err)
		return nil, staff, u, false
	}
	return ctx, staff, u, true
}

func (h *Handler) adminPageError(w http.ResponseWriter, r *http.Request, staff storage.User, name string, err error) {
	if _, ok := admin.AsError(err); !ok {
		h.Web.ServerError(w, r, "admin page", err)
		return
	}
	status, msg := httperr.Status(err)
	p := web.Page{Title: web.TitleHelpDesk, Username: staff.Username, Error: msg}
	p.Admin.Query = name
	h.Web.Render(w, r, status, "admin.html", p)
}

// handleAdminAction runs an action a method declared, from its form on
// the admin page: an answer with a secret is shown this once; otherwise
// the page is shown again with the action's Done sentence.
func (h *Handler) handleAdminAction(w http.ResponseWriter, r *http.Request) {
	ctx, staff, u, ok := h.adminPost(w, r)
	if !ok {
		return
	}
	a, ok := h.pageAction(r.PathValue("method"), r.PostFormValue("action"))
	if !ok {
		h.Web.Message(w, r, http.StatusNotFound, web.TitleNoSuchAction, web.MsgNoSuchAction)
		return
	}
	params := map[string]string{}
	for _, p := range a.Params {
		params[p.Name] = r.PostFormValue(p.Name)
	}
	results, err := h.Admin.RunAction(ctx, admin.ActorFrom(ctx), a, u, params, false)
	h.Admin.AuditAction(ctx, a, u.ID, params, results, err, false)
	if err != nil {
		h.adminPageError(w, r, staff, u.Username, err)
		return
	}
	if !slices.ContainsFunc(a.Results, func(r sdk.AdminResult) bool { return r.Secret }) {
		done := url.Values{"user": {u.Username}, adminDoneParam: {a.Method.Name() + adminDoneSep + a.Name}}
		http.Redirect(w, r, "/admin?"+done.Encode(), http.StatusSeeOther)
		return
	}
	shown := &web.AdminShown{}
	for _, res := range a.Results {
		v := results[res.Name]
		switch {
		case v == "":
		case res.Secret:
			id := a.Method.Name()
			if len(shown.Secrets) > 0 {
				id += "-" + res.Name
			}
			shown.Secrets = append(shown.Secrets, web.AdminValue{ID: id, Label: res.Label, Value: v})
		case res.Type == sdk.ResultSummary:
			shown.Notes = append(shown.Notes, v)
		default:
			shown.Values = append(shown.Values, web.AdminValue{Label: cmp.Or(res.Label, res.Name), Value: pageValue(res.Type, v)})
		}
	}
	title := h.Methods.DisplayName(a.Method.Name())
	for _, sec := range h.Admin.Actions() {
		if sec.Method.Name() == a.Method.Name() && sec.Resource == a.Resource && sec.Verb == sdk.VerbGet && sec.Label != "" {
			title = sec.Label
		}
	}
	p := web.Page{Title: title, Username: staff.Username}
	p.Admin.User, p.Admin.Shown = &u, shown
	h.Web.Render(w, r, http.StatusCreated, "admincode.html", p)
}

// pageValue writes a result as a page shows it: a time in UTC, a bool as
// yes or no.
func pageValue(typ, v string) string {
	switch typ {
	case sdk.ResultTime:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC().Format(pageTimeFormat)
		}
	case sdk.ResultBool:
		if v == "true" {
			return "yes"
		}
		return "no"
	}
	return v
}

func (h *Handler) handleAdminDisconnect(w http.ResponseWriter, r *http.Request) {
	ctx, staff, u, ok := h.adminPost(w, r)
	if !ok {
		return
	}
	id, end := r.PostFormValue("id"), r.PostFormValue("end_sessions") == "true"
	details := map[string]string{"method": id, "end_sessions": map[bool]string{true: "true", false: "false"}[end]}
	if err := h.Admin.Disconnect(ctx, u, id, end); err != nil {
		h.Audit.Admin(ctx, "admin.method.remove", u.ID, "failure", details)
		h.adminPageError(w, r, staff, u.Username, err)
		return
	}
	// Disconnect wrote the removal with its method.removed event.
	http.Redirect(w, r, "/admin?"+adminDoneParam+"="+adminDisconnected+"&user="+url.QueryEscape(u.Username), http.StatusSeeOther)
}
