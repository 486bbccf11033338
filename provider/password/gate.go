package password

import (
	"context"
	"errors"
	"time"
)

// ErrBusy is what Enter returns when no slot freed up in time.
var ErrBusy = errors.New("password: too many password checks at once")

// Gate bounds how many password hashes run at once. Each holds the
// memory of passwords.argon2.memory_kib until it ends, so without a bound
// a burst of sign-ins (or an attacker's) costs that many times the memory
// at once; with one, the ceiling is slots × memory_kib. A check waits for a
// slot at most wait, then gets ErrBusy (the page answers 503 with
// Retry-After).
type Gate struct {
	slots chan struct{}
	wait  time.Duration
}

// NewGate returns a Gate of n slots (at least 1) whose checks wait at most
// wait for one.
func NewGate(n int, wait time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, max(n, 1)), wait: wait}
}

// Enter takes a slot, waiting at most the Gate's wait (or until ctx ends),
// and returns the function that gives it back. A nil Gate has no bound.
func (g *Gate) Enter(ctx context.Context) (leave func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	default:
	}
	t := time.NewTimer(g.wait) // a wait for a resource, on the wall clock
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ErrBusy
	}
}
