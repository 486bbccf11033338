package provider

import (
	"context"
	"log/slog"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// AuditRefused returns what records a plugin file that was not run because
// its checksum is not the pinned one (replaced on disk, at start or while
// stepup runs): a method.plugin_refused event in store, stamped by now.
// It is launch.Options.OnRefused.
func AuditRefused(store storage.Store, log *slog.Logger, now func() time.Time) func(method string, err error) {
	return func(name string, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e := storage.Event{Time: now(), Type: "method.plugin_refused", Actor: "system", Outcome: "denied",
			Details: map[string]string{"method": name, "reason": err.Error()}}
		if aerr := store.AppendEvent(ctx, e); aerr != nil {
			log.Error("audit event not recorded", "type", e.Type, "method", name, "err", aerr)
		}
	}
}
