package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// Messages of the admin actions methods declare.
const (
	msgActionForSelf     = "you cannot do this for yourself: ask another administrator"
	msgActionInactive    = "user %s is inactive: activate the account first"
	msgActionInvalid     = "the method refused the request as malformed"
	msgActionNotFound    = "user %s has nothing of that kind"
	msgActionConflict    = "the method refused: it conflicts with what user %s has now"
	msgActionRateLimited = "too many requests of this kind for user %s: try again after %s UTC"
)

// Action is an action a method declared, as the admin API, the admin page
// and the break-glass command offer it.
type Action struct {
	Method Method
	sdk.AdminAction
}

// Actor is who asks for an administrative operation.
type Actor struct {
	// Name is how the audit log names them ("client:ID", a username,
	// "break-glass").
	Name string
	// UserID is the acting user's, empty for a client or the command.
	UserID string
}

// Actions are the well-formed actions of every method, in the order of
// Methods, then in the order each declared them.
func (s *Service) Actions() []Action {
	var out []Action
	for _, m := range s.Methods {
		for _, a := range m.Actions() {
			out = append(out, Action{Method: m, AdminAction: a})
		}
	}
	return out
}

// BreakGlassAction is the action the break-glass command runs: the first
// a method declares (sdk.AdminAction.BreakGlass).
func (s *Service) BreakGlassAction() (Action, bool) {
	for _, a := range s.Actions() {
		if a.BreakGlass {
			return a, true
		}
	}
	return Action{}, false
}

// RunAction runs a for u on behalf of actor and returns its results. The
// host's own rules come first (not for oneself, active users only, as the
// action declares; breakGlass waives the first); the method's refusals
// come back as *Error values, in the method's own words where it gave
// some.
func (s *Service) RunAction(ctx context.Context, actor Actor, a Action, u storage.User, params map[string]string, breakGlass bool) (map[string]string, error) {
	if a.NotForSelf && !breakGlass && actor.UserID != "" && actor.UserID == u.ID {
		return nil, &Error{Kind: Forbidden, Msg: msgActionForSelf}
	}
	if a.ActiveUserOnly && !u.Active {
		return nil, errorf(Conflict, msgActionInactive, u.Username)
	}
	// The action's change, its event and (for a removal) the user's mail
	// are one write.
	out, err := s.commit(ctx, func(results map[string]string) []storage.Event {
		var mail *storage.Mail
		if a.Verb == sdk.VerbDelete && (a.EventIf == "" || results[a.EventIf] == "true") {
			mail = s.removedMail(ctx, u, a.Method.Name())
		}
		e, ok := ActionEvent(a, u.ID, params, results, nil, breakGlass)
		switch {
		case ok:
			return s.events(ctx, e.Type, u, e.Details, mail)
		case mail != nil:
			return s.events(ctx, "method.removed", u, map[string]string{"method": a.Method.Name()}, mail)
		}
		return nil
	}, func(ctx context.Context) (map[string]string, error) {
		return a.Method.Admin(ctx, sdk.AdminRequest{Action: a.Name, Params: params, Actor: actor.Name,
			User: sdk.User{ID: u.ID, Username: u.Username, Email: u.Email, Phone: u.Phone}})
	})
	if err != nil {
		return nil, s.actionError(a, u, err)
	}
	return out, nil
}

func (s *Service) actionError(a Action, u storage.User, err error) error {
	msg := sdk.UserMessage(err)
	switch {
	case errors.Is(err, sdk.ErrInvalidInput):
		return &Error{Kind: Invalid, Msg: cmp.Or(msg, msgActionInvalid)}
	case errors.Is(err, sdk.ErrNotFound):
		return errorf(NotFound, msgActionNotFound, u.Username)
	case errors.Is(err, sdk.ErrConflict):
		if msg == "" || msg == sdk.ErrConflict.Error() {
			msg = fmt.Sprintf(msgActionConflict, u.Username)
		}
		return &Error{Kind: Conflict, Msg: msg}
	case errors.Is(err, sdk.ErrRateLimited):
		now := s.Now()
		until, ok := sdk.RetryAfter(err)
		if !ok {
			until = now.Add(time.Minute)
		}
		return &Error{Kind: RateLimited, Msg: fmt.Sprintf(msgActionRateLimited, u.Username, until.UTC().Format("15:04")),
			RetryAfter: time.Duration(max(int(until.Sub(now).Seconds())+1, 1)) * time.Second}
	}
	if s.Log != nil {
		s.Log.Warn("admin action", "method", a.Method.Name(), "action", a.Name, "err", err)
	}
	return errorf(Unavailable, msgMethodNotAnswers, a.Method.Name())
}

// ActionEvent is the audit event a declares for one run: Event when it
// succeeded (and its EventIf result says so), RefusedEvent when err
// refused it; ok is false when it declares none for this outcome. The
// caller adds the actor and the request. Secrets and summaries never
// reach it.
func ActionEvent(a Action, userID string, params, results map[string]string, err error, breakGlass bool) (storage.Event, bool) {
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
		if a.RefusedEvent == "" {
			return storage.Event{}, false
		}
		details["reason"] = err.Error()
		return storage.Event{Type: a.RefusedEvent, UserID: userID, Outcome: "failure", Details: details}, true
	}
	if a.Event == "" || (a.EventIf != "" && results[a.EventIf] != "true") {
		return storage.Event{}, false
	}
	for _, r := range a.Results {
		if v, ok := results[r.Name]; ok && !r.Secret && r.Type != sdk.ResultSummary {
			details[r.Name] = v
		}
	}
	return storage.Event{Type: a.Event, UserID: userID, Outcome: "success", Details: details}, true
}

// ActorFrom is the actor of the request (reqctx.Actor), as this package
// knows it.
func ActorFrom(ctx context.Context) Actor {
	a := reqctx.From(ctx).Actor
	return Actor{Name: a.Name, UserID: a.UserID}
}
