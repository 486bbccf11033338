package methods

import (
	"context"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// WithEvents returns a ctx for one call of a method that changes what a
// user has (ConfirmEnrolment, Remove, Admin): when the method leaves its
// write to the host (sdk.PutOnCommit), events made from what the call
// returned (the credential confirmed, the admin action's results) are
// written with it, in one transaction (the provider's plugin backend
// reads them from the write's context). When done reports false after a
// successful call, the method wrote itself, and the caller appends the
// events on its own.
func WithEvents(ctx context.Context, events func(cred sdk.Credential, results map[string]string) []storage.Event) (_ context.Context, done func() bool) {
	ctx, c := host.OnCommit(ctx, func(o host.Outcome) any { return events(o.Credential, o.Results) })
	return ctx, c.Done
}

// WithVerifyEvents is WithEvents for Verify: when the method leaves the
// spend of what the response used (a recovery code, a one-time code) to
// the host (sdk.PutOnAccept), events made from the result are written
// with that spend, in one transaction; done reports whether they were.
func WithVerifyEvents(ctx context.Context, events func(sdk.Result) []storage.Event) (_ context.Context, done func() bool) {
	ctx, c := host.OnCommit(ctx, func(o host.Outcome) any { return events(o.Result) })
	return ctx, c.Done
}
