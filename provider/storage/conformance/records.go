package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func testSigningKeys(t *testing.T, s storage.Store) {
	ctx := t.Context()
	t0 := base().Add(-3 * time.Hour)
	k1 := storage.SigningKey{ID: "k1", Algorithm: "ES256", PrivateKey: []byte("sealed-1"), CreatedAt: t0}
	k2 := storage.SigningKey{ID: "k2", Algorithm: "ES256", PrivateKey: []byte("sealed-2"), CreatedAt: t0.Add(time.Hour)}
	k3 := storage.SigningKey{ID: "k3", Algorithm: "RS256", PrivateKey: []byte("sealed-3"), CreatedAt: t0.Add(2 * time.Hour)}
	gone := storage.SigningKey{ID: "k0", Algorithm: "ES256", PrivateKey: []byte("sealed-0"), CreatedAt: t0.Add(-time.Hour),
		RetiredAt: t0, ExpiresAt: past()}
	for _, k := range []storage.SigningKey{k1, k3, gone, k2} {
		must(t, "CreateSigningKey "+k.ID, s.CreateSigningKey(ctx, k))
	}
	mustErr(t, "CreateSigningKey duplicate", s.CreateSigningKey(ctx, k1), storage.ErrAlreadyExists)

	keys, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	mustEqual(t, "ListSigningKeys newest first, expired left out", keys, []storage.SigningKey{k3, k2, k1})

	at, expires := base(), future()
	must(t, "RetireSigningKeys", s.RetireSigningKeys(ctx, "ES256", "k2", at, expires))
	k1.RetiredAt, k1.ExpiresAt = at, expires
	keys, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	mustEqual(t, "ListSigningKeys after retiring ES256 but k2", keys, []storage.SigningKey{k3, k2, k1})

	// Retired keys are not retired again.
	must(t, "RetireSigningKeys again", s.RetireSigningKeys(ctx, "ES256", "k2", at.Add(time.Minute), past()))
	keys, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	mustEqual(t, "ListSigningKeys after retiring again", keys, []storage.SigningKey{k3, k2, k1})

	// A retirement that ends in the past hides the key at once.
	must(t, "RetireSigningKeys RS256", s.RetireSigningKeys(ctx, "RS256", "", at, past()))
	keys, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	mustEqual(t, "ListSigningKeys after retiring RS256 into the past", keys, []storage.SigningKey{k2, k1})
}

func testEvents(t *testing.T, s storage.Store) {
	ctx := t.Context()
	t0 := base().Add(-time.Hour)
	events := []storage.Event{
		{Time: t0, Type: "login.password.failed", Actor: "alice", UserID: "u1", ClientID: "c1",
			RemoteAddr: "192.0.2.1", Outcome: "failure", Details: map[string]string{"reason": "bad password"}},
		{Time: t0.Add(1 * time.Minute), Type: "login.password.ok", Actor: "alice", UserID: "u1", Outcome: "success"},
		{Time: t0.Add(2 * time.Minute), Type: "login", Actor: "bob", UserID: "u2", Outcome: "success"},
		{Time: t0.Add(3 * time.Minute), Type: "loginx.other", Actor: "system", UserID: "u1", Outcome: "success"},
		{Time: t0.Add(4 * time.Minute), Type: "logout", Actor: "alice", UserID: "u1", Outcome: "success", Details: map[string]string{}},
		{Time: t0.Add(5 * time.Minute), Type: "tempcode.issued", Actor: "client:c1", UserID: "u2", ClientID: "c1", Outcome: "success"},
		{Time: t0.Add(6 * time.Minute), Type: "login.password.failed", Actor: "bob", UserID: "u2", Outcome: "failure"},
	}
	for _, e := range events {
		e.Seq = 12345 // ignored: the store assigns Seq
		must(t, "AppendEvent", s.AppendEvent(ctx, e))
	}
	all, err := s.ListEvents(ctx, storage.EventFilter{})
	must(t, "ListEvents", err)
	if len(all) != len(events) {
		t.Fatalf("ListEvents returned %d events, want %d", len(all), len(events))
	}
	for i, e := range all {
		if i > 0 && e.Seq >= all[i-1].Seq {
			t.Fatalf("ListEvents: Seq %d after %d, want strictly decreasing", e.Seq, all[i-1].Seq)
		}
		if e.Seq <= 0 {
			t.Fatalf("ListEvents: Seq %d, want > 0", e.Seq)
		}
		want := events[len(events)-1-i]
		want.Seq = e.Seq
		mustEqual(t, "ListEvents event", e, want)
	}
	// ev returns the appended events with these indexes, newest first, as
	// listed (with their Seq).
	ev := func(idx ...int) []storage.Event {
		var out []storage.Event
		for _, i := range idx {
			out = append(out, all[len(events)-1-i])
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    storage.EventFilter
		want []storage.Event
	}{
		{"user", storage.EventFilter{UserID: "u1"}, ev(4, 3, 1, 0)},
		{"exact type", storage.EventFilter{Type: "login.password.failed"}, ev(6, 0)},
		{"exact type is not a prefix", storage.EventFilter{Type: "login"}, ev(2)},
		{"prefix", storage.EventFilter{Type: "login."}, ev(6, 1, 0)},
		{"longer prefix", storage.EventFilter{Type: "login.password."}, ev(6, 1, 0)},
		{"prefix and user", storage.EventFilter{Type: "login.", UserID: "u2"}, ev(6)},
		{"no match", storage.EventFilter{Type: "nothing."}, nil},
		{"since is inclusive", storage.EventFilter{Since: t0.Add(4 * time.Minute)}, ev(6, 5, 4)},
		{"until is exclusive", storage.EventFilter{Until: t0.Add(2 * time.Minute)}, ev(1, 0)},
		{"since and until", storage.EventFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, ev(2, 1)},
		{"before seq", storage.EventFilter{BeforeSeq: all[2].Seq}, ev(3, 2, 1, 0)},
		{"limit", storage.EventFilter{Limit: 2}, ev(6, 5)},
		{"all filters", storage.EventFilter{UserID: "u1", Type: "login.", Since: t0, Until: t0.Add(time.Hour), BeforeSeq: all[0].Seq, Limit: 1}, ev(1)},
	} {
		got, err := s.ListEvents(ctx, tc.f)
		must(t, "ListEvents "+tc.name, err)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		mustEqual(t, "ListEvents "+tc.name, got, tc.want)
	}
}

func testEventPaging(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const n = 105
	for i := range n {
		must(t, "AppendEvent", s.AppendEvent(ctx, storage.Event{
			Time: base(), Type: fmt.Sprintf("test.e%d", i%3), Actor: "system", Outcome: "success",
			Details: map[string]string{"i": fmt.Sprint(i)},
		}))
	}
	got, err := s.ListEvents(ctx, storage.EventFilter{})
	must(t, "ListEvents", err)
	if len(got) != 100 {
		t.Fatalf("ListEvents without a limit returned %d, want the default 100", len(got))
	}
	if got[0].Details["i"] != fmt.Sprint(n-1) {
		t.Fatalf("ListEvents: newest event has i=%s, want %d", got[0].Details["i"], n-1)
	}

	// Walking pages of 7 with BeforeSeq visits every event once, newest first.
	var seen []string
	f := storage.EventFilter{Limit: 7, Type: "test."}
	for page := 0; ; page++ {
		if page > n {
			t.Fatal("paging does not end")
		}
		got, err := s.ListEvents(ctx, f)
		must(t, "ListEvents page", err)
		if len(got) > 7 {
			t.Fatalf("page of %d events, want at most 7", len(got))
		}
		if len(got) == 0 {
			break
		}
		for _, e := range got {
			seen = append(seen, e.Details["i"])
		}
		f.BeforeSeq = got[len(got)-1].Seq
	}
	if len(seen) != n {
		t.Fatalf("paging saw %d events, want %d", len(seen), n)
	}
	for i, v := range seen {
		if v != fmt.Sprint(n-1-i) {
			t.Fatalf("paging: event %d has i=%s, want %d", i, v, n-1-i)
		}
	}
}

func testCountEvent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := base()
	const window = time.Minute
	count := func(key string, at time.Time, limit int, want storage.RateResult) {
		t.Helper()
		got, err := s.CountEvent(ctx, key, window, limit, at)
		must(t, "CountEvent", err)
		mustEqual(t, fmt.Sprintf("CountEvent(%s, +%v)", key, at.Sub(now)), got, want)
	}
	count("k", now, 3, storage.RateResult{Allowed: true, Count: 1})
	count("k", now.Add(10*time.Second), 3, storage.RateResult{Allowed: true, Count: 2})
	count("other", now.Add(10*time.Second), 3, storage.RateResult{Allowed: true, Count: 1})
	count("k", now.Add(20*time.Second), 3, storage.RateResult{Allowed: true, Count: 3})
	count("k", now.Add(30*time.Second), 3, storage.RateResult{Count: 3, RetryAfter: now.Add(window)})
	count("k", now.Add(59*time.Second), 3, storage.RateResult{Count: 3, RetryAfter: now.Add(window)})
	// At now+window the first event has left (now-window, now].
	count("k", now.Add(window), 3, storage.RateResult{Allowed: true, Count: 3})
	count("k", now.Add(window+time.Second), 3, storage.RateResult{Count: 3, RetryAfter: now.Add(10*time.Second + window)})
	// A higher limit for the same key counts the same events.
	count("k", now.Add(window+time.Second), 5, storage.RateResult{Allowed: true, Count: 4})
	// Much later, the window is empty again.
	count("k", now.Add(time.Hour), 3, storage.RateResult{Allowed: true, Count: 1})
	// An event stamped after now counts: its caller read the clock later
	// but reached the store first.
	count("early", now.Add(time.Second), 1, storage.RateResult{Allowed: true, Count: 1})
	count("early", now, 1, storage.RateResult{Count: 1, RetryAfter: now.Add(time.Second + window)})
}

// testLockoutEvent: the events given to RecordFailure are written with
// the failure that locks the key, and with no other.
func testLockoutEvent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := base()
	started := storage.Event{Time: now, Type: "lockout.started", UserID: "u1", Outcome: "denied"}
	for i := 1; i <= 3; i++ {
		l, err := s.RecordFailure(ctx, "k", 3, time.Minute, now, started)
		must(t, "RecordFailure", err)
		evs, err := s.ListEvents(ctx, storage.EventFilter{Type: "lockout.started"})
		must(t, "ListEvents", err)
		if want := map[bool]int{false: 0, true: 1}[i == 3]; len(evs) != want || l.Locked(now) != (i == 3) {
			t.Fatalf("after failure %d of 3: locked %v, %d lockout events, want %d", i, l.Locked(now), len(evs), want)
		}
	}
	// A failed event write fails the failure: the lock does not start
	// without its event.
	bad := storage.Event{Time: now, UserID: "u1"} // no type: refused
	for range 2 {
		_, err := s.RecordFailure(ctx, "k2", 3, time.Minute, now, bad)
		must(t, "RecordFailure", err)
	}
	if _, err := s.RecordFailure(ctx, "k2", 3, time.Minute, now, bad); err == nil {
		t.Fatal("the locking failure with an event the store refuses succeeded")
	}
	if l, err := s.GetLockout(ctx, "k2", now); err != nil || l.Locked(now) || l.Failures != 2 {
		t.Fatalf("after a refused lockout event: %+v, %v; want 2 failures and no lock", l, err)
	}
}

func testLockout(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := base()
	const lockFor = 5 * time.Minute
	fail := func(key string, at time.Time, want storage.Lockout) {
		t.Helper()
		got, err := s.RecordFailure(ctx, key, 3, lockFor, at)
		must(t, "RecordFailure", err)
		if got.Failures != want.Failures || !got.LockedUntil.Equal(want.LockedUntil) {
			t.Fatalf("RecordFailure(%s) = %+v, want %+v", key, got, want)
		}
	}
	get := func(key string, at time.Time) storage.Lockout {
		t.Helper()
		got, err := s.GetLockout(ctx, key, at)
		must(t, "GetLockout", err)
		return got
	}

	if l := get("k", now); l.Failures != 0 || l.Locked(now) || !l.LockedUntil.IsZero() {
		t.Fatalf("GetLockout of an unknown key = %+v, want zero", l)
	}
	fail("k", now, storage.Lockout{Failures: 1})
	fail("k", now.Add(time.Second), storage.Lockout{Failures: 2})
	if l := get("k", now); l.Failures != 2 || l.Locked(now) {
		t.Fatalf("GetLockout after 2 failures = %+v", l)
	}
	until := now.Add(2*time.Second + lockFor)
	fail("k", now.Add(2*time.Second), storage.Lockout{Failures: 0, LockedUntil: until})
	l := get("k", now.Add(time.Minute))
	if !l.Locked(now.Add(time.Minute)) || !l.LockedUntil.Equal(until) || l.Failures != 0 {
		t.Fatalf("GetLockout after reaching max = %+v, want locked until %v", l, until)
	}
	mustEqual(t, "GetLockout", l, storage.Lockout{LockedUntil: until})
	if l := get("k", until.Add(time.Second)); l.Locked(until.Add(time.Second)) {
		t.Fatalf("GetLockout after the lock ended = %+v", l)
	}
	if l := get("other", now); l.Failures != 0 || l.Locked(now) {
		t.Fatalf("GetLockout of another key = %+v", l)
	}

	// ResetFailures clears the count, not the lock.
	fail("k", now.Add(3*time.Second), storage.Lockout{Failures: 1, LockedUntil: until})
	must(t, "ResetFailures", s.ResetFailures(ctx, "k"))
	if l := get("k", now.Add(time.Minute)); l.Failures != 0 || !l.Locked(now.Add(time.Minute)) {
		t.Fatalf("GetLockout after ResetFailures = %+v, want 0 failures, still locked", l)
	}
	fail("k", now.Add(4*time.Second), storage.Lockout{Failures: 1, LockedUntil: until})
	must(t, "ResetFailures unknown", s.ResetFailures(ctx, "unknown"))

	// After a lock has run out, counting goes on from where it was.
	fail("j", now, storage.Lockout{Failures: 1})
	fail("j", now, storage.Lockout{Failures: 2})
	fail("j", now, storage.Lockout{LockedUntil: now.Add(lockFor)})
	later := now.Add(time.Hour)
	fail("j", later, storage.Lockout{Failures: 1})
	fail("j", later, storage.Lockout{Failures: 2})
	fail("j", later, storage.Lockout{LockedUntil: later.Add(lockFor)})
}
