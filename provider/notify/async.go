package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Async sends messages in the background, so that no page waits for the
// mail server. A nil Sender sends nothing.
type Async struct {
	Sender Sender
	Log    *slog.Logger

	wg sync.WaitGroup
}

// Send hands msg to the Sender in the background; a failure is logged
// with what (the kind of message) and the user's ID, never the text.
func (a *Async) Send(msg Message, what, userID string) {
	if a == nil || a.Sender == nil || msg.To == "" {
		return
	}
	a.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Sender.Send(ctx, msg); err != nil {
			a.Log.Warn("email not sent", "what", what, "user", userID, "err", err)
		}
	})
}

// Wait returns once every message Send started has been handed over or
// has failed.
func (a *Async) Wait() {
	if a != nil {
		a.wg.Wait()
	}
}
