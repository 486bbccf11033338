package provider

import (
	"context"
	"errors"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/reqctx"
)

// breakGlassActor names the offline command in the audit log.
const breakGlassActor = "break-glass"

// msgNoBreakGlass answers the break-glass command when no enabled method
// offers it.
const msgNoBreakGlass = "no enabled method offers a break-glass action: enable one that does (the built-in temporary code does)"

// BreakGlassValue is one result of the break-glass action, as the command
// prints it.
type BreakGlassValue struct {
	Label, Value string
	// Secret: shown once, now (the temporary code itself).
	Secret bool
}

// BreakGlass runs the break-glass action offline for the only
// administrator who is locked out (stepup temp-code issue): every rule of
// the admin API holds except the one against acting for oneself, and it is
// audited as break-glass. duration fills the action's duration param (its
// default when empty). Refusals are *admin.Error values, as the admin API's.
func (s *Server) BreakGlass(ctx context.Context, username, duration string) ([]BreakGlassValue, error) {
	svc := s.adminService()
	a, ok := svc.BreakGlassAction()
	if !ok {
		return nil, errors.New(msgNoBreakGlass)
	}
	params := map[string]string{}
	for _, p := range a.Params {
		if p.Type == sdk.ParamDuration && duration != "" {
			params[p.Name] = duration
		} else if p.Default != "" {
			params[p.Name] = p.Default
		}
	}
	actor := reqctx.Actor{Name: breakGlassActor}
	ctx = reqctx.Update(ctx, func(v *reqctx.Values) { v.Actor = actor })
	u, err := svc.UserByName(ctx, username)
	var results map[string]string
	if err == nil {
		results, err = svc.RunAction(ctx, admin.Actor{Name: actor.Name}, a, u, params, true)
	}
	s.auditAdminAction(ctx, a, u.ID, params, results, err, true)
	if err != nil {
		return nil, err
	}
	var out []BreakGlassValue
	for _, r := range a.Results {
		v := results[r.Name]
		if v == "" || r.Type == sdk.ResultBool {
			continue
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil && r.Type == sdk.ResultTime {
			v = t.UTC().Format(time.RFC3339)
		}
		out = append(out, BreakGlassValue{Label: r.Label, Value: v, Secret: r.Secret})
	}
	return out, nil
}
