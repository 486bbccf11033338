package sdk

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// errorKinds maps each sentinel to its wire name and gRPC code. The order
// matters where one error could match several (a wrapped chain).
var errorKinds = []struct {
	kind string
	err  error
	code codes.Code
}{
	{"rate_limited", ErrRateLimited, codes.ResourceExhausted},
	{"invalid_input", ErrInvalidInput, codes.InvalidArgument},
	{"invalid_response", ErrInvalidResponse, codes.Unauthenticated},
	{"not_enrolled", ErrNotEnrolled, codes.FailedPrecondition},
	{"already_enrolled", ErrAlreadyEnrolled, codes.AlreadyExists},
	{"not_found", ErrNotFound, codes.NotFound},
	{"conflict", ErrConflict, codes.Aborted},
	{"unavailable", ErrUnavailable, codes.Unavailable},
}

// ToStatus turns err into a gRPC status error that FromStatus on the far
// side turns back into the same sentinel (with RetryAfter or the safe
// message where they apply). The status message is err.Error(). Errors
// that match no sentinel travel as codes.Unknown (context errors as
// Canceled / DeadlineExceeded). For plugins/host; plugin authors return
// plain errors.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	for _, k := range errorKinds {
		if !errors.Is(err, k.err) {
			continue
		}
		d := &pluginpb.ErrorDetail{Kind: k.kind}
		if t, ok := RetryAfter(err); ok {
			d.RetryAfterUnixNano = t.UnixNano()
		}
		d.SafeMessage = UserMessage(err)
		st, derr := status.New(k.code, err.Error()).WithDetails(d)
		if derr != nil {
			return status.Error(k.code, err.Error())
		}
		return st.Err()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		// A gRPC error from elsewhere: keep its code but strip its details,
		// which could otherwise pass for one of ours.
		return status.Error(st.Code(), st.Message())
	}
	return status.Error(codes.Unknown, err.Error())
}

// FromStatus is the inverse of ToStatus: a status carrying an ErrorDetail
// becomes the matching sentinel (a *RateLimitError, an *InputError, a
// *ConflictError when it carries a safe message, or an error whose
// errors.Is matches the sentinel and whose message is the original one). A status without detail maps by code: Unavailable to
// ErrUnavailable, DeadlineExceeded to ErrUnavailable and
// context.DeadlineExceeded, Canceled to context.Canceled. Anything else is
// returned unchanged. For plugins/host.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	if d := Detail(st); d != nil {
		for _, k := range errorKinds {
			if k.kind != d.Kind {
				continue
			}
			switch k.err {
			case ErrRateLimited:
				rl := &RateLimitError{Message: d.SafeMessage}
				if d.RetryAfterUnixNano != 0 {
					rl.RetryAfter = time.Unix(0, d.RetryAfterUnixNano).UTC()
				}
				return rl
			case ErrInvalidInput:
				return &InputError{Message: d.SafeMessage}
			case ErrConflict:
				if d.SafeMessage != "" {
					return &ConflictError{Message: d.SafeMessage}
				}
			case ErrUnavailable:
				if d.SafeMessage != "" { // the sentence for the user, the whole message for the log
					return &remoteError{msg: st.Message(), errs: []error{&UnavailableError{Message: d.SafeMessage}}}
				}
			}
			return &remoteError{msg: st.Message(), errs: []error{k.err}}
		}
	}
	switch st.Code() {
	case codes.Unavailable:
		return &remoteError{msg: st.Message(), errs: []error{ErrUnavailable}}
	case codes.DeadlineExceeded:
		return &remoteError{msg: st.Message(), errs: []error{ErrUnavailable, context.DeadlineExceeded}}
	case codes.Canceled:
		return &remoteError{msg: st.Message(), errs: []error{context.Canceled}}
	}
	return err
}

// Detail returns the ErrorDetail a status carries, or nil: a status
// without one did not come from ToStatus (a transport failure, a crash).
// For plugins/host.
func Detail(st *status.Status) *pluginpb.ErrorDetail {
	for _, d := range st.Details() {
		if ed, ok := d.(*pluginpb.ErrorDetail); ok {
			return ed
		}
	}
	return nil
}

// remoteError is a sentinel that crossed the process boundary, with the
// message the far side gave it.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }
