// Package audit writes the audit log: every security-relevant event, with
// its time on the provider's clock, the request's remote address and its
// actor, is stored and logged (without secrets: callers put none in an
// event's details).
//
// What must not live here: deciding what is audited (the pages and the
// administration do), and reading the log back (the store and the admin
// API do).
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/stepup-mfa/stepup/provider/reqctx"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// Log is the audit log of one provider.
type Log struct {
	Store storage.Store
	Log   *slog.Logger
	// Now stamps the events (the provider's clock).
	Now func() time.Time
}

// Record appends an event, filling time, remote address and actor; a
// failure to audit is logged loudly but does not fail the user's request.
func (l *Log) Record(ctx context.Context, e storage.Event) {
	e = l.Complete(ctx, e)[0]
	if err := l.Store.AppendEvent(ctx, e); err != nil {
		l.Log.Error("audit event not recorded", "type", e.Type, "user", e.UserID, "err", err)
	}
}

// Complete fills events for the audit log (time, remote address, actor)
// and logs each; the caller stores them with its own write, so that a
// change and its event are one write.
func (l *Log) Complete(ctx context.Context, events ...storage.Event) []storage.Event {
	events = l.Fill(ctx, events...)
	for _, e := range events {
		l.Logged(e)
	}
	return events
}

// Fill fills events as Complete does without logging them: for an event
// that the store writes only when its transaction finds it due (a
// lockout's, which the failure that starts it writes); the caller logs it
// with Logged once it was.
func (l *Log) Fill(ctx context.Context, events ...storage.Event) []storage.Event {
	for i := range events {
		e := &events[i]
		if e.Time.IsZero() {
			e.Time = l.Now()
		}
		if e.RemoteAddr == "" {
			e.RemoteAddr = reqctx.From(ctx).RemoteAddr
		}
		if e.Actor == "" {
			e.Actor = e.UserID
		}
	}
	return events
}

// Logged logs an event that was stored.
func (l *Log) Logged(e storage.Event) {
	l.Log.Info("audit", "type", e.Type, "user", e.UserID, "client", e.ClientID, "outcome", e.Outcome, "remote", e.RemoteAddr)
}

// Admin records what an administrator did for the user userID: the
// request's actor (reqctx.Actor) is who, and through which client.
func (l *Log) Admin(ctx context.Context, typ, userID, outcome string, details map[string]string) {
	l.Record(ctx, adminEvent(ctx, typ, userID, outcome, details))
}

// AdminEvent is the event Admin would record, completed, for the caller
// to store with its own write (a user and its creation's event).
func (l *Log) AdminEvent(ctx context.Context, typ, userID, outcome string, details map[string]string) storage.Event {
	return l.Complete(ctx, adminEvent(ctx, typ, userID, outcome, details))[0]
}

func adminEvent(ctx context.Context, typ, userID, outcome string, details map[string]string) storage.Event {
	a := reqctx.From(ctx).Actor
	return storage.Event{Type: typ, Actor: a.Name, UserID: userID, ClientID: a.ClientID, Outcome: outcome, Details: details}
}
