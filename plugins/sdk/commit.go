package sdk

import (
	"context"
	"errors"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// A call that changes what a user has (ConfirmEnrolment, Remove, Admin)
// makes that change with one write: the credential stored, the record
// deleted, the code issued. The host audits the change and may email the
// user about it; a host that commits the write itself (stepup does) writes
// the change, its audit event and its mail in one transaction, so that a
// crash can never leave a change without its event. PutOnCommit and
// DeleteOnCommit hand that write to the host.
//
// Begin may do the same with what it keeps of the challenge (the code it
// sent): a committing host writes it with the challenge it keeps and the
// code's sent event. Of Begin's writes only the last may be left so; one
// that must be made before something else (the count of a message before
// it is sent) is a write of its own. A Begin is never called again (it
// would send another message): a write of it that finds its record
// changed fails the challenge, so leave only a write that cannot collide
// (AnyVersion, or a new random key).

// errCommitTwice: a call has one committing write.
var errCommitTwice = errors.New("sdk: a call has one committing write (PutOnCommit or DeleteOnCommit called twice)")

// PutOnCommit stores value under key, compare-and-swap at expectVersion
// as Storage.Put does, as the host commits this call: call it last, at
// most once, and return success. The host writes only when the call
// succeeds; if the record changed meanwhile, nothing is written and the
// host calls the method again with the records as they are then, as the
// method would retry after ErrConflict. Storage that is not a host's
// committing call (a local host in tests, an older host, a Verify) gets
// the Put at once, and its ErrConflict is returned here.
func PutOnCommit(ctx context.Context, st Storage, key string, value []byte, expectVersion int64, ttl time.Duration) error {
	cs, ok := st.(*callStorage)
	if !ok || !cs.committing {
		_, err := st.Put(ctx, key, value, expectVersion, ttl)
		return err
	}
	if cs.commit != nil {
		return errCommitTwice
	}
	cs.commit = &pluginpb.Commit{Put: &pluginpb.PutRequest{Key: key, Value: value, ExpectVersion: expectVersion, TtlNanos: int64(ttl)}}
	return nil
}

// DeleteOnCommit deletes key at expectVersion (or AnyVersion) as the host
// commits this call; otherwise as PutOnCommit.
func DeleteOnCommit(ctx context.Context, st Storage, key string, expectVersion int64) error {
	cs, ok := st.(*callStorage)
	if !ok || !cs.committing {
		return st.Delete(ctx, key, expectVersion)
	}
	if cs.commit != nil {
		return errCommitTwice
	}
	cs.commit = &pluginpb.Commit{Delete: &pluginpb.DeleteRequest{Key: key, ExpectVersion: expectVersion}}
	return nil
}

// Committing reports whether st leaves the write of PutOnCommit and
// DeleteOnCommit to the host: then nothing of it is stored before the
// call returns, and a method that must know whether its write would
// collide checks first.
func Committing(st Storage) bool {
	cs, ok := st.(*callStorage)
	return ok && cs.committing
}
