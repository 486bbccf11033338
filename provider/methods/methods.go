// Package methods is the launched verification methods as the provider
// uses them: each one's description, its priority as configured, the
// admin actions it may offer, and its plugin's calls, each timed into
// the metrics.
//
// What must not live here: launching them (plugins/launch, for the
// composition roots), choosing one for a user (authflow and the login),
// and any method's name: what a method does differently comes from its
// sdk.Description.
package methods

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/metrics"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// Set is the launched methods, by name.
type Set struct {
	byName map[string]*Method
	names  []string // sorted
}

// Method is one launched method. It is what package admin needs of a
// method (admin.Method) and what the pages call.
type Method struct {
	name     string
	plugin   *host.Plugin
	desc     sdk.Description
	priority int
	// admin are the well-formed admin actions the method declared, less
	// those whose route another method took first.
	admin   []sdk.AdminAction
	metrics *metrics.Metrics
}

// Load takes the methods of reg (nil: none) with the priorities cfg
// gives them (else their own), and logs the admin actions it does not
// offer: malformed ones, and those whose route a method earlier by name
// took. m receives the plugin calls' latency (nil: not measured).
func Load(reg *host.Registry, cfg map[string]config.MethodConfig, log *slog.Logger, m *metrics.Metrics) *Set {
	s := &Set{byName: map[string]*Method{}}
	if reg == nil {
		return s
	}
	descs := reg.Descriptions()
	for _, name := range reg.Names() {
		p, ok := reg.Method(name)
		if !ok {
			continue
		}
		meth := &Method{name: name, plugin: p, desc: descs[name], priority: descs[name].Priority, metrics: m}
		if mc, ok := cfg[name]; ok && mc.Priority != 0 {
			meth.priority = mc.Priority
		}
		s.byName[name] = meth
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	routes := map[string]string{} // "VERB resource" -> the method serving it
	for _, meth := range s.All() {
		valid, problems := sdk.CheckAdminActions(meth.desc)
		for _, err := range problems {
			log.Warn("method's admin action not offered", "method", meth.name, "err", err)
		}
		for _, a := range valid {
			route := a.Verb + " " + a.Resource
			if other, taken := routes[route]; taken {
				log.Warn("method's admin action not offered: another method serves its route", "method", meth.name,
					"action", a.Name, "route", route, "served_by", other)
				continue
			}
			routes[route] = meth.name
			meth.admin = append(meth.admin, a)
		}
	}
	return s
}

// Names returns the methods' names, sorted.
func (s *Set) Names() []string { return s.names }

// All returns the methods in the order of Names.
func (s *Set) All() []*Method {
	out := make([]*Method, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, s.byName[n])
	}
	return out
}

// Get returns the method name.
func (s *Set) Get(name string) (*Method, bool) {
	m, ok := s.byName[name]
	return m, ok
}

// Len is the number of methods.
func (s *Set) Len() int { return len(s.names) }

// DisplayName is what the pages call the method name: its DisplayName,
// else its name.
func (s *Set) DisplayName(name string) string {
	if m, ok := s.byName[name]; ok && m.desc.DisplayName != "" {
		return m.desc.DisplayName
	}
	return name
}

// Name is the method's configured name.
func (m *Method) Name() string { return m.name }

// Description is what the method declared.
func (m *Method) Description() sdk.Description { return m.desc }

// Priority orders the method among the eligible ones: the configured
// one, else the method's own.
func (m *Method) Priority() int { return m.priority }

// Actions are the admin actions the method offers.
func (m *Method) Actions() []sdk.AdminAction { return m.admin }

// NeedsEnrolment says whether the method holds credentials a user enrols.
func (m *Method) NeedsEnrolment() bool { return m.desc.NeedsEnrolment }

// Healthy reports whether the plugin answers.
func (m *Method) Healthy() bool { return m.plugin.Healthy() }

// Begin starts a challenge. What the method keeps of it (the code it
// sent, sdk.PutOnCommit) is not written yet when keep is set: the caller
// makes keep with the challenge it stores and the code's sent event, in
// one transaction (storage.LoginWrite.KV).
func (m *Method) Begin(ctx context.Context, req sdk.BeginRequest) (c sdk.Challenge, keep *storage.KVWrite, err error) {
	ctx, d := host.DeferCommit(ctx)
	err = m.timed("begin", func() error { c, err = m.plugin.Begin(ctx, req); return err })
	if w, ok := d.Write(); ok && err == nil {
		kv := storage.KVWrite(w)
		keep = &kv
	}
	return c, keep, err
}

// Verify checks a response to a challenge.
func (m *Method) Verify(ctx context.Context, req sdk.VerifyRequest) (res sdk.Result, err error) {
	err = m.timed("verify", func() error { res, err = m.plugin.Verify(ctx, req); return err })
	return res, err
}

// Enrol starts an enrolment.
func (m *Method) Enrol(ctx context.Context, req sdk.EnrolRequest) (e sdk.Enrolment, err error) {
	err = m.timed("enrol", func() error { e, err = m.plugin.Enrol(ctx, req); return err })
	return e, err
}

// ConfirmEnrolment completes an enrolment.
func (m *Method) ConfirmEnrolment(ctx context.Context, req sdk.ConfirmRequest) (c sdk.Credential, err error) {
	err = m.timed("confirm", func() error { c, err = m.plugin.ConfirmEnrolment(ctx, req); return err })
	return c, err
}

// ListCredentials lists a user's credentials.
func (m *Method) ListCredentials(ctx context.Context, userID string) (creds []sdk.Credential, err error) {
	err = m.timed("list", func() error { creds, err = m.plugin.ListCredentials(ctx, userID); return err })
	return creds, err
}

// Remove removes one credential of a user.
func (m *Method) Remove(ctx context.Context, userID, credentialID string) error {
	return m.timed("remove", func() error { return m.plugin.Remove(ctx, userID, credentialID) })
}

// Rename names one credential of a user anew (Description.Renamable).
func (m *Method) Rename(ctx context.Context, userID, credentialID, label string) error {
	return m.timed("rename", func() error { return m.plugin.Rename(ctx, userID, credentialID, label) })
}

// Admin runs one of the method's admin actions.
func (m *Method) Admin(ctx context.Context, req sdk.AdminRequest) (out map[string]string, err error) {
	err = m.timed("admin", func() error { out, err = m.plugin.Admin(ctx, req); return err })
	return out, err
}

// timed runs one plugin call and records its latency.
func (m *Method) timed(op string, f func() error) error {
	if m.metrics == nil {
		return f()
	}
	start := time.Now()
	err := f()
	m.metrics.PluginCalls.WithLabelValues(m.name, op).Observe(time.Since(start).Seconds())
	return err
}

// User is the user as a method's calls name them.
func User(u storage.User) sdk.User {
	return sdk.User{ID: u.ID, Username: u.Username, Email: u.Email, Phone: u.Phone}
}

// LockoutKey is the key of the failure count of one method for one user.
func LockoutKey(method, userID string) string { return "lockout:" + method + ":" + userID }

// SetAside returns the method that keeps the method name (described by
// desc) from being offered to a user whose credentials of it are creds:
// the first one Description.ExceptWith names that the user holds (holds),
// unless one of creds was given to the user in particular (Explicit:
// email codes an administrator turned on beside a verified phone). ""
// when nothing sets it aside. The login and the account page share it.
func SetAside(name string, desc sdk.Description, creds []sdk.Credential, holds func(method string) bool) string {
	if slices.ContainsFunc(creds, func(c sdk.Credential) bool { return c.Explicit }) {
		return ""
	}
	for _, other := range desc.ExceptWith {
		if other != name && holds(other) {
			return other
		}
	}
	return ""
}
