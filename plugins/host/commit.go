package host

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// A call that changes what a user has (ConfirmEnrolment, Remove, Admin)
// leaves its one write to the host (sdk.PutOnCommit), which makes it
// itself through the Backend. The caller can have something written with
// it in the same transaction (stepup: the change's audit event and its
// mail): OnCommit. The host knows nothing of what that is; the Backend
// finds it with CommitPayload.

// Outcome is what a committing call returned, from which the caller's
// OnCommit function makes its payload.
type Outcome struct {
	// Credential is what ConfirmEnrolment returned.
	Credential sdk.Credential
	// Results are what Admin returned.
	Results map[string]string
	// Result is what Verify returned, whose write on acceptance
	// (sdk.PutOnAccept) is the committing one: the spend of a code.
	Result sdk.Result
}

// Commit reports whether a call's payload was written (Done); when it was
// not (a method that made its write itself, or none), the caller writes
// it on its own.
type Commit struct {
	with func(Outcome) any
	done atomic.Bool
}

// Done reports whether the payload went with the call's committing write.
func (c *Commit) Done() bool { return c != nil && c.done.Load() }

type commitKey struct{}
type payloadKey struct{}

// OnCommit returns a ctx for one committing call: when the method leaves
// its write to the host, with(outcome) is what the Backend writes with it
// (CommitPayload), in one transaction.
func OnCommit(ctx context.Context, with func(Outcome) any) (context.Context, *Commit) {
	c := &Commit{with: with}
	return context.WithValue(ctx, commitKey{}, c), c
}

// CommitPayload is, in a Backend's KVPut or KVDelete, what the caller
// asked to write with it (OnCommit); nil for any other write.
func CommitPayload(ctx context.Context) any { return ctx.Value(payloadKey{}) }

// withPayload is ctx carrying, for a committing write, what the caller's
// OnCommit makes of out, and that Commit (nil when there is none).
func withPayload(ctx context.Context, out Outcome) (context.Context, *Commit) {
	cm, _ := ctx.Value(commitKey{}).(*Commit)
	if cm == nil || cm.with == nil {
		return ctx, nil
	}
	return context.WithValue(ctx, payloadKey{}, cm.with(out)), cm
}

// commitTries bounds how often a committing call is made again when its
// write lost a race.
const commitTries = 4

// errRetryCommit: the committing write found its record changed.
var errRetryCommit = errors.New("commit lost a race")

// committed makes the write c of a call that returned out, with the
// caller's payload: nil when there is none (the method wrote itself),
// errRetryCommit when its record changed meanwhile.
func (p *Plugin) committed(ctx context.Context, c *pluginpb.Commit, out Outcome) error {
	if c == nil {
		return nil
	}
	w, err := p.commitWrite(c)
	if err != nil {
		return err
	}
	wctx, cm := withPayload(ctx, out)
	_, err = p.svc.write(wctx, w)
	switch {
	case err == nil:
		if cm != nil {
			cm.done.Store(true)
		}
		return nil
	case errors.Is(err, sdk.ErrConflict):
		return errRetryCommit
	}
	return err
}

// A Begin's committing write (sdk.PutOnCommit: the code it sent) belongs
// with what the caller writes of the challenge it begun: DeferCommit
// leaves that write to the caller, which makes it in the same
// transaction. Unlike the others, a Begin is never called again: a
// write that then finds its record changed is the caller's failure, as
// calling again would send the user another message.

// Write is a plugin's write as the Backend makes it (KVPut, or KVDelete
// with Delete): the value sealed, in the plugin's namespace, its TTL an
// expiry on the host clock at Now.
type Write struct {
	Namespace, Key string
	Value          []byte
	ExpectVersion  int64
	ExpiresAt, Now time.Time
	Delete         bool
}

// Deferred holds the committing write a Begin left to its caller.
type Deferred struct {
	w *Write
}

type deferKey struct{}

// DeferCommit returns a ctx for one Begin whose committing write the
// caller makes itself: after the call, d.Write has it.
func DeferCommit(ctx context.Context) (_ context.Context, d *Deferred) {
	d = &Deferred{}
	return context.WithValue(ctx, deferKey{}, d), d
}

// Write is the write the Begin left, if it left one.
func (d *Deferred) Write() (Write, bool) {
	if d == nil || d.w == nil {
		return Write{}, false
	}
	return *d.w, true
}

// commitWrite is the committing write c, checked and sealed, as the
// backend (or a deferring caller) makes it.
func (p *Plugin) commitWrite(c *pluginpb.Commit) (Write, error) {
	var w Write
	var err error
	switch {
	case c.GetPut() != nil && c.GetDelete() == nil:
		put := c.GetPut()
		w, err = p.svc.putWrite(put.GetKey(), put.GetValue(), put.GetExpectVersion(), time.Duration(put.GetTtlNanos()))
	case c.GetDelete() != nil && c.GetPut() == nil:
		w, err = p.svc.deleteWrite(c.GetDelete().GetKey(), c.GetDelete().GetExpectVersion())
	default:
		return Write{}, fmt.Errorf("method %s: plugin asked for a commit that is neither a put nor a delete", p.spec.Name)
	}
	if errors.Is(err, sdk.ErrInvalidInput) {
		return Write{}, fmt.Errorf("method %s: plugin asked for an invalid committing write: %s", p.spec.Name, err)
	}
	return w, err
}
