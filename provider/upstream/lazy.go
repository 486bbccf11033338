package upstream

import (
	"sync"
	"time"
)

// RetryAfterFailure is how long a failed discovery of the upstream stands
// before it is tried again: in that time every sign-in is refused at once
// with its error, rather than each waiting out a timeout of its own, one
// after another, while the upstream is down.
const RetryAfterFailure = 10 * time.Second

// lazy is a value made on first use and kept once made (the upstream's
// discovery). Callers that come while it is being made wait for that
// attempt; a failure is theirs too, and stands for RetryAfterFailure.
type lazy[T any] struct {
	mu       sync.Mutex
	v        T
	made     bool
	err      error
	failedAt time.Time
}

// get returns the value, making it if it is not made and no failure
// stands at now().
func (l *lazy[T]) get(now func() time.Time, make func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.made {
		return l.v, nil
	}
	if l.err != nil && now().Sub(l.failedAt) < RetryAfterFailure {
		return l.v, l.err
	}
	v, err := make()
	if err != nil {
		l.err, l.failedAt = err, now()
		return v, err
	}
	l.v, l.made, l.err = v, true, nil
	return v, nil
}

// clock is now, or time.Now when nil.
func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}
