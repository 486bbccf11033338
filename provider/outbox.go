package provider

import (
	"context"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// WaitNotifications delivers, at once, every notification queued so far
// and due (the email of SPEC §6 when a method is added): it returns once
// each has been handed over or has failed. A request has queued its
// notifications, with its change, by the time its response is written, so
// a test can tell, after a request, that it sent none. stepup serve
// delivers them with Outbox's Run.
func (s *Server) WaitNotifications() {
	if _, err := s.outbox.RunOnce(context.Background()); err != nil {
		s.outbox.Log.Warn("outbox delivery", "err", err)
	}
}

// Outbox is the worker that delivers the notifications the Server
// queues (in the store's outbox, with the changes they follow): its owner
// runs it (stepup serve: Run), on this replica or on any other of the
// same store.
func (s *Server) Outbox() *notify.Worker { return s.outbox }

// adminCommit has a method's committing write carry the events of an
// administrative change (admin.Service.WithEvents).
func adminCommit(ctx context.Context, events func(results map[string]string) []storage.Event) (context.Context, func() bool) {
	return methods.WithEvents(ctx, func(_ sdk.Credential, results map[string]string) []storage.Event { return events(results) })
}
