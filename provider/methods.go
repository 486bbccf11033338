package provider

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// method is one launched verification method as the provider uses it.
type method struct {
	name     string
	plugin   *host.Plugin
	desc     sdk.Description
	priority int
	// admin are the well-formed admin actions the method declared, less
	// those whose route another method took first.
	admin []sdk.AdminAction
}

// methodNames returns the launched methods in a stable order.
func (s *Server) methodNames() []string {
	names := make([]string, 0, len(s.methods))
	for n := range s.methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Server) loadMethods() {
	s.methods = map[string]*method{}
	if s.registry == nil {
		return
	}
	descs := s.registry.Descriptions()
	for _, name := range s.registry.Names() {
		p, ok := s.registry.Method(name)
		if !ok {
			continue
		}
		m := &method{name: name, plugin: p, desc: descs[name], priority: descs[name].Priority}
		if mc, ok := s.cfg.Methods[name]; ok && mc.Priority != 0 {
			m.priority = mc.Priority
		}
		s.methods[name] = m
	}
	routes := map[string]string{} // "VERB resource" -> the method serving it
	for _, name := range s.methodNames() {
		m := s.methods[name]
		valid, problems := sdk.CheckAdminActions(m.desc)
		for _, err := range problems {
			s.log.Warn("method's admin action not offered", "method", name, "err", err)
		}
		for _, a := range valid {
			route := a.Verb + " " + a.Resource
			if other, taken := routes[route]; taken {
				s.log.Warn("method's admin action not offered: another method serves its route", "method", name,
					"action", a.Name, "route", route, "served_by", other)
				continue
			}
			routes[route] = name
			m.admin = append(m.admin, a)
		}
	}
}

func sdkUser(u storage.User) sdk.User {
	return sdk.User{ID: u.ID, Username: u.Username, Email: u.Email, Phone: u.Phone}
}

func lockoutKey(method, userID string) string { return "lockout:" + method + ":" + userID }

// timed runs one plugin call and records its latency.
func (s *Server) timed(name, op string, f func() error) error {
	start := time.Now()
	err := f()
	s.metrics.PluginCalls.WithLabelValues(name, op).Observe(time.Since(start).Seconds())
	return err
}

// credentials lists a user's credentials for one method.
func (s *Server) credentials(ctx context.Context, m *method, userID string) ([]sdk.Credential, error) {
	var creds []sdk.Credential
	err := s.timed(m.name, "list", func() (err error) {
		creds, err = m.plugin.ListCredentials(ctx, userID)
		return err
	})
	return creds, err
}

// userMethods describes the user's methods for authflow. A method whose
// plugin fails to answer counts as unhealthy: the user is offered the
// next one.
func (s *Server) userMethods(ctx context.Context, u storage.User) ([]authflow.Method, error) {
	now := s.now()
	out := make([]authflow.Method, 0, len(s.methods))
	for _, name := range s.methodNames() {
		m := s.methods[name]
		fm := authflow.Method{Name: name, Levels: m.desc.Levels, Priority: m.priority, Enabled: true, Healthy: m.plugin.Healthy()}
		if fm.Healthy {
			if !m.desc.NeedsEnrolment {
				fm.Enrolled = true
			} else {
				creds, err := s.credentials(ctx, m, u.ID)
				switch {
				case err == nil:
					fm.Enrolled = len(creds) > 0
				case errors.Is(err, sdk.ErrUnavailable):
					fm.Healthy = false
				default:
					s.log.Warn("list credentials", "method", name, "err", err)
					fm.Healthy = false
				}
			}
		}
		// An active temporary code is offered before every other method.
		fm.Bypass = m.desc.Bypass && fm.Enrolled
		if fm.Enrolled {
			lock, err := s.store.GetLockout(ctx, lockoutKey(name, u.ID), now)
			if err != nil {
				return nil, err
			}
			fm.LockedUntil = lock.LockedUntil
		}
		out = append(out, fm)
	}
	return out, nil
}

// displayName is what the page calls a method.
func (s *Server) displayName(name string) string {
	if m, ok := s.methods[name]; ok && m.desc.DisplayName != "" {
		return m.desc.DisplayName
	}
	return name
}
