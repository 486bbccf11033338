package testenv

import (
	"testing"
	"time"
)

// EventuallyTimeout bounds how long Eventually waits: long enough for a
// plugin to restart or a mail to go out on a loaded machine.
const EventuallyTimeout = 30 * time.Second

// Eventually calls cond every few milliseconds until it returns true, and
// fails t, naming what it waited for, when it still has not after
// EventuallyTimeout. It is for waiting on another goroutine or process (a
// plugin's restart, a mail sent in the background, a server coming up),
// never on time itself: move the Env's Clock instead. cond runs on t's
// goroutine, so it may call t.Fatal.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(EventuallyTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s, in vain", EventuallyTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
