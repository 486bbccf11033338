package admin

import (
	"context"
	"errors"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/reqctx"
)

// BreakGlassActor names the offline command in the audit log.
const BreakGlassActor = "break-glass"

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

// AuditAction writes the event a declares for a refused run (ActionEvent),
// with the request's actor. A run that succeeded was written with its
// event by RunAction: nothing more is written for it.
func (s *Service) AuditAction(ctx context.Context, a Action, userID string, params, results map[string]string, err error, breakGlass bool) {
	if err == nil {
		return
	}
	if e, ok := ActionEvent(a, userID, params, results, err, breakGlass); ok && s.Audit != nil {
		s.Audit(ctx, e.Type, e.UserID, e.Outcome, e.Details)
	}
}

// BreakGlass runs the break-glass action offline for the only
// administrator who is locked out (stepup temp-code issue): every rule of
// the admin API holds except the one against acting for oneself, and it is
// audited as break-glass. duration fills the action's duration param (its
// default when empty). Refusals are *Error values, as the admin API's.
func (s *Service) BreakGlass(ctx context.Context, username, duration string) ([]BreakGlassValue, error) {
	a, ok := s.BreakGlassAction()
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
	ctx = reqctx.Update(ctx, func(v *reqctx.Values) { v.Actor = reqctx.Actor{Name: BreakGlassActor} })
	u, err := s.UserByName(ctx, username)
	var results map[string]string
	if err == nil {
		results, err = s.RunAction(ctx, Actor{Name: BreakGlassActor}, a, u, params, true)
	}
	s.AuditAction(ctx, a, u.ID, params, results, err, true)
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
