package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
)

// TestDiscoveryFailureStands: while the upstream's discovery fails, one
// attempt is made per RetryAfterFailure, and the sign-ins in between (and
// those waiting on that attempt) are refused at once with its error; a
// sign-in whose browser went away does not make the upstream look down;
// once discovery answers it is kept. Both users of discovery, the
// sign-in's client and the hint's verifier, behave so.
func TestDiscoveryFailureStands(t *testing.T) {
	var down atomic.Bool
	var asked atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize",
			"token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/keys"})
	}))
	defer srv.Close()

	now := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	c := &Client{Config: config.Upstream{Issuer: srv.URL, ClientID: "stepup"}, RedirectURI: "http://stepup.test" + CallbackPath,
		HTTP: srv.Client(), Now: clock}
	v := &HintVerifier{Issuer: srv.URL, ClientID: "stepup", HTTP: srv.Client(), Now: clock}
	discover := map[string]func(context.Context) error{
		"client":   func(ctx context.Context) error { _, err := c.relyingParty(ctx); return err },
		"verifier": func(ctx context.Context) error { _, err := v.keySet(ctx); return err },
	}
	for name, get := range discover {
		asked.Store(0)
		down.Store(true)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = get(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err == nil {
				t.Fatalf("%s: sign-in %d with the upstream down succeeded", name, i)
			}
		}
		if n := asked.Load(); n != 1 {
			t.Fatalf("%s: 8 sign-ins at once asked the upstream %d times, want once", name, n)
		}
		advance(RetryAfterFailure - time.Second)
		if err := get(t.Context()); err == nil || asked.Load() != 1 {
			t.Fatalf("%s: a sign-in within the failure's %v: %v, %d discoveries", name, RetryAfterFailure, err, asked.Load())
		}
		advance(time.Second)
		down.Store(false)
		// A sign-in whose browser left: its discovery goes on and counts.
		gone, cancel := context.WithCancel(t.Context())
		cancel()
		if err := get(gone); err != nil {
			t.Fatalf("%s: discovery for a sign-in whose browser left: %v", name, err)
		}
		down.Store(true)
		advance(time.Hour)
		if err := get(t.Context()); err != nil || asked.Load() != 2 {
			t.Fatalf("%s: after discovery answered: %v, %d discoveries; want it kept", name, err, asked.Load())
		}
	}
	var e *Error
	if _, err := (&Client{Config: config.Upstream{Issuer: srv.URL}, HTTP: srv.Client(), Now: clock}).relyingParty(t.Context()); !errors.As(err, &e) || e.Kind != Unreachable {
		t.Fatalf("a failed discovery: %v, want an Unreachable error", err)
	}
}
