package sdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorsRoundTrip(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, err := range []error{
		ErrInvalidResponse, ErrNotEnrolled, ErrAlreadyEnrolled, ErrNotFound, ErrConflict, ErrUnavailable,
		fmt.Errorf("detail for the log: %w", ErrInvalidResponse),
		RateLimited(at),
		fmt.Errorf("wrapped: %w", RateLimited(at)),
		InvalidInput("enter %d digits", 6),
		Conflict("a temporary code is already active: expire the current code first"),
		fmt.Errorf("wrapped: %w", Conflict("busy")),
	} {
		back := FromStatus(ToStatus(err))
		matched := 0
		for _, k := range errorKinds {
			if errors.Is(err, k.err) != errors.Is(back, k.err) {
				t.Errorf("%v: errors.Is(%v) differs after the round trip (%v)", err, k.err, back)
			}
			if errors.Is(back, k.err) {
				matched++
			}
		}
		if matched != 1 {
			t.Errorf("%v came back matching %d sentinels", err, matched)
		}
		if ra, ok := RetryAfter(err); ok {
			if rb, _ := RetryAfter(back); !rb.Equal(ra) {
				t.Errorf("retry after %v became %v", ra, rb)
			}
		}
		if UserMessage(back) != UserMessage(err) {
			t.Errorf("user message %q became %q", UserMessage(err), UserMessage(back))
		}
	}
}

func TestStatusWithoutDetail(t *testing.T) {
	cases := []struct {
		in   error
		want []error
	}{
		{status.Error(codes.Unavailable, "connection refused"), []error{ErrUnavailable}},
		{status.Error(codes.DeadlineExceeded, "slow"), []error{ErrUnavailable, context.DeadlineExceeded}},
		{status.Error(codes.Canceled, "gone"), []error{context.Canceled}},
	}
	for _, c := range cases {
		got := FromStatus(c.in)
		for _, w := range c.want {
			if !errors.Is(got, w) {
				t.Errorf("%v: not %v", c.in, w)
			}
		}
	}
	// An unclassified error keeps its message and matches no sentinel.
	got := FromStatus(ToStatus(errors.New("disk on fire")))
	for _, k := range errorKinds {
		if errors.Is(got, k.err) {
			t.Errorf("unclassified error matches %v", k.err)
		}
	}
	if st, _ := status.FromError(got); st.Message() != "disk on fire" {
		t.Errorf("message %q", st.Message())
	}
	// A foreign status's details are dropped, so it cannot pose as ours.
	if d := Detail(status.Convert(ToStatus(status.Error(codes.NotFound, "x")))); d != nil {
		t.Errorf("foreign status kept a detail: %v", d)
	}
	if FromStatus(nil) != nil || ToStatus(nil) != nil {
		t.Error("nil is not nil")
	}
}

// TestSentencesCrossTheBoundary: a rate limit or an outage that carries a
// sentence for the user arrives with it, and an outage keeps the whole
// message for the host's log.
func TestSentencesCrossTheBoundary(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	limited := FromStatus(ToStatus(fmt.Errorf("counted: %w", RateLimitedSaying(at, "Try again later."))))
	if until, ok := RetryAfter(limited); !errors.Is(limited, ErrRateLimited) || !ok || !until.Equal(at) || UserMessage(limited) != "Try again later." {
		t.Errorf("rate limit came back as %v (%q, %v)", limited, UserMessage(limited), until)
	}
	down := FromStatus(ToStatus(fmt.Errorf("%w: gateway sms.example answered 502", Unavailable("We could not send it."))))
	if !errors.Is(down, ErrUnavailable) || UserMessage(down) != "We could not send it." || !strings.Contains(down.Error(), "502") {
		t.Errorf("outage came back as %v (%q)", down, UserMessage(down))
	}
	if bare := FromStatus(ToStatus(ErrUnavailable)); UserMessage(bare) != "" || !errors.Is(bare, ErrUnavailable) {
		t.Errorf("a bare outage came back as %v (%q)", bare, UserMessage(bare))
	}
}
