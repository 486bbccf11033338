package conformance

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func testConcurrentRedeemAuthRequest(t *testing.T, ss []storage.Store) {
	ctx, s := t.Context(), ss[0]
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	}
	for round := range 5 {
		ar := newAuthRequest(id("ar", round), future())
		ar.Done = true
		must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, ar))
		hash := func(i int) string { return id(fmt.Sprintf("rh%d", round), i) }
		atID := func(i int) string { return id(fmt.Sprintf("at%d", round), i) }
		errs := atOnce(concurrency, func(i int) error {
			rt := newRefreshToken(hash(i), "u1", "c1", future())
			return ss[i%len(ss)].RedeemAuthRequest(ctx, ar.ID, &rt, newAccessToken(atID(i), "u1", "c1", future()))
		})
		if ok, _ := tally(t, "RedeemAuthRequest", errs, storage.ErrNotFound); ok != 1 {
			t.Fatalf("round %d: %d of %d concurrent RedeemAuthRequest calls succeeded, want exactly 1", round, ok, concurrency)
		}
		for i, err := range errs {
			_, rtErr := s.GetRefreshToken(ctx, hash(i))
			_, atErr := s.GetAccessToken(ctx, atID(i))
			if err == nil {
				must(t, "GetRefreshToken of the winner", rtErr)
				must(t, "GetAccessToken of the winner", atErr)
			} else {
				mustErr(t, "GetRefreshToken of a loser", rtErr, storage.ErrNotFound)
				mustErr(t, "GetAccessToken of a loser", atErr, storage.ErrNotFound)
			}
		}
	}
}

func testConcurrentRotateRefreshToken(t *testing.T, ss []storage.Store) {
	ctx, s := t.Context(), ss[0]
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	}
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, newRefreshToken("h", "u1", "c1", future()), nil))
	old := "h"
	for round := range 5 {
		errs := atOnce(concurrency, func(i int) error {
			at := newAccessToken(id(fmt.Sprintf("at%d", round), i), "u1", "c1", future())
			return ss[i%len(ss)].RotateRefreshToken(ctx, old, newRefreshToken(id(fmt.Sprintf("h%d", round), i), "u1", "c1", future()), &at)
		})
		ok, _ := tally(t, "RotateRefreshToken", errs, storage.ErrNotFound)
		if ok != 1 {
			t.Fatalf("round %d: %d of %d concurrent rotations succeeded, want exactly 1", round, ok, concurrency)
		}
		winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		for i := range concurrency {
			h := id(fmt.Sprintf("h%d", round), i)
			_, err := s.GetRefreshToken(ctx, h)
			_, atErr := s.GetAccessToken(ctx, id(fmt.Sprintf("at%d", round), i))
			if i == winner {
				must(t, "GetRefreshToken of the winner", err)
				must(t, "GetAccessToken of the winner", atErr)
				old = h
			} else {
				mustErr(t, "GetRefreshToken of a loser", err, storage.ErrNotFound)
				mustErr(t, "GetAccessToken of a loser", atErr, storage.ErrNotFound)
			}
		}
	}
}

// testConcurrentRevokeCodeGrant revokes a grant while its refresh token
// is being rotated: whichever rotation the revocation meets, no token of
// the grant may outlive it.
func testConcurrentRevokeCodeGrant(t *testing.T, ss []storage.Store) {
	ctx, s := t.Context(), ss[0]
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	}
	const maxRotations = 200
	for round := range 5 {
		grant := id("ar-revoked", round)
		hash := func(i int) string { return id(fmt.Sprintf("rh%d", round), i) }
		atID := func(i int) string { return id(fmt.Sprintf("at%d", round), i) }
		rt := newRefreshToken(hash(0), "u1", "c1", future())
		redeem(t, s, grant, future(), &rt, newAccessToken(atID(0), "u1", "c1", future()))
		var rotated int // tokens 1..rotated were stored
		errs := atOnce(2, func(i int) error {
			if i == 1 {
				_, _, err := ss[len(ss)-1].RevokeCodeGrant(ctx, grant)
				return err
			}
			for rotated < maxRotations {
				at := newAccessToken(atID(rotated+1), "u1", "c1", future())
				err := ss[0].RotateRefreshToken(ctx, hash(rotated), newRefreshToken(hash(rotated+1), "u1", "c1", future()), &at)
				if errors.Is(err, storage.ErrNotFound) {
					return nil // revoked under it
				}
				if err != nil {
					return err
				}
				rotated++
			}
			return nil
		})
		must(t, "RotateRefreshToken racing a revocation", errs[0])
		must(t, "RevokeCodeGrant racing rotations", errs[1])
		for i := 0; i <= rotated; i++ {
			_, rtErr := s.GetRefreshToken(ctx, hash(i))
			mustErr(t, fmt.Sprintf("round %d: GetRefreshToken of rotation %d of %d after the revocation", round, i, rotated), rtErr, storage.ErrNotFound)
			_, atErr := s.GetAccessToken(ctx, atID(i))
			mustErr(t, fmt.Sprintf("round %d: GetAccessToken of rotation %d of %d after the revocation", round, i, rotated), atErr, storage.ErrNotFound)
		}
	}
}

func testConcurrentCountEvent(t *testing.T, ss []storage.Store) {
	ctx, s := t.Context(), ss[0]
	now := base()
	const limit, callers = 6, 20
	// Each caller read the clock at an instant of its own, as concurrent
	// requests do; the order they reach the store in is not that of their
	// instants.
	at := func(i int) time.Time { return now.Add(time.Duration(i) * time.Millisecond) }
	for round := range 3 {
		key := id("key", round)
		results := make([]storage.RateResult, callers)
		errs := atOnce(callers, func(i int) error {
			var err error
			results[i], err = ss[i%len(ss)].CountEvent(ctx, key, time.Minute, limit, at(i))
			return err
		})
		tally(t, "CountEvent", errs, nil)
		allowed, counts := 0, map[int]int{}
		first := at(callers)
		for i, r := range results {
			if r.Allowed {
				allowed++
				counts[r.Count]++
				if at(i).Before(first) {
					first = at(i)
				}
			}
		}
		for _, r := range results {
			if !r.Allowed && (r.Count != limit || !r.RetryAfter.Equal(first.Add(time.Minute))) {
				t.Fatalf("refused CountEvent = %+v, want count %d, retry at %v", r, limit, first.Add(time.Minute))
			}
		}
		if allowed != limit {
			t.Fatalf("round %d: %d of %d concurrent CountEvent calls allowed, want exactly %d", round, allowed, callers, limit)
		}
		for c := 1; c <= limit; c++ {
			if counts[c] != 1 {
				t.Fatalf("round %d: allowed calls reported counts %v, want each of 1..%d once", round, counts, limit)
			}
		}
		r, err := s.CountEvent(ctx, key, time.Minute, limit+1, now)
		must(t, "CountEvent", err)
		if !r.Allowed || r.Count != limit+1 {
			t.Fatalf("CountEvent after the race = %+v, want allowed with count %d", r, limit+1)
		}
	}
}

func testConcurrentRecordFailure(t *testing.T, ss []storage.Store) {
	ctx, s := t.Context(), ss[0]
	now := base()
	const each = 5
	errs := atOnce(concurrency, func(i int) error {
		for range each {
			if _, err := ss[i%len(ss)].RecordFailure(ctx, "count", 1000, time.Minute, now); err != nil {
				return err
			}
		}
		return nil
	})
	tally(t, "RecordFailure", errs, nil)
	l, err := s.GetLockout(ctx, "count", now)
	must(t, "GetLockout", err)
	if l.Failures != concurrency*each {
		t.Fatalf("after %d concurrent failures the count is %d", concurrency*each, l.Failures)
	}

	// With max 4, 16 concurrent failures lock the key exactly 4 times.
	results := make([]storage.Lockout, concurrency)
	errs = atOnce(concurrency, func(i int) error {
		var err error
		results[i], err = ss[i%len(ss)].RecordFailure(ctx, "lock", 4, time.Minute, now)
		return err
	})
	tally(t, "RecordFailure", errs, nil)
	resets, counts := 0, map[int]int{}
	for _, r := range results {
		if r.Failures == 0 {
			resets++
		}
		counts[r.Failures]++
		if !r.LockedUntil.IsZero() && !r.LockedUntil.Equal(now.Add(time.Minute)) {
			t.Fatalf("RecordFailure locked until %v, want %v", r.LockedUntil, now.Add(time.Minute))
		}
	}
	if resets != concurrency/4 || counts[1] != 4 || counts[2] != 4 || counts[3] != 4 {
		t.Fatalf("16 concurrent failures with max 4 returned failure counts %v, want 0..3 four times each", counts)
	}
	l, err = s.GetLockout(ctx, "lock", now)
	must(t, "GetLockout", err)
	if !l.Locked(now) || l.Failures != 0 {
		t.Fatalf("GetLockout = %+v, want locked with 0 failures", l)
	}
}

func testConcurrentKVPut(t *testing.T, ss []storage.Store) {
	ctx, s := t.Context(), ss[0]
	now := base()
	for round := range 3 {
		key := id("k", round)
		errs := atOnce(concurrency, func(i int) error {
			_, err := ss[i%len(ss)].KVPut(ctx, "ns", key, []byte(fmt.Sprint(i)), 0, time.Time{}, now)
			return err
		})
		if ok, _ := tally(t, "KVPut create", errs, storage.ErrConflict); ok != 1 {
			t.Fatalf("round %d: %d of %d concurrent creates succeeded, want exactly 1", round, ok, concurrency)
		}
		errs = atOnce(concurrency, func(i int) error {
			_, err := ss[i%len(ss)].KVPut(ctx, "ns", key, []byte(fmt.Sprint(i)), 1, time.Time{}, now)
			return err
		})
		if ok, _ := tally(t, "KVPut CAS", errs, storage.ErrConflict); ok != 1 {
			t.Fatalf("round %d: %d of %d concurrent compare-and-swaps succeeded, want exactly 1", round, ok, concurrency)
		}
		winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		e, err := s.KVGet(ctx, "ns", key, now)
		must(t, "KVGet", err)
		if e.Version != 2 || string(e.Value) != fmt.Sprint(winner) {
			t.Fatalf("KVGet after the CAS race = %q v%d, want %q v2", e.Value, e.Version, fmt.Sprint(winner))
		}
		errs = atOnce(concurrency, func(i int) error {
			return ss[i%len(ss)].KVDelete(ctx, "ns", key, 2)
		})
		if ok, _ := tally(t, "KVDelete", errs, storage.ErrConflict); ok != 1 {
			t.Fatalf("round %d: %d of %d concurrent versioned deletes succeeded, want exactly 1", round, ok, concurrency)
		}
	}

	// Unconditional puts and read-modify-write loops lose nothing.
	_, err := s.KVPut(ctx, "ns", "counter", []byte("0"), 0, time.Time{}, now)
	must(t, "KVPut", err)
	errs := atOnce(concurrency, func(i int) error {
		s := ss[i%len(ss)]
		for {
			e, err := s.KVGet(ctx, "ns", "counter", now)
			if err != nil {
				return err
			}
			var n int
			fmt.Sscan(string(e.Value), &n)
			_, err = s.KVPut(ctx, "ns", "counter", []byte(fmt.Sprint(n+1)), e.Version, time.Time{}, now)
			if !errors.Is(err, storage.ErrConflict) {
				return err
			}
		}
	})
	tally(t, "KVPut retry loop", errs, nil)
	e, err := s.KVGet(ctx, "ns", "counter", now)
	must(t, "KVGet counter", err)
	if string(e.Value) != fmt.Sprint(concurrency) || e.Version != concurrency+1 {
		t.Fatalf("counter = %q v%d after %d increments, want %d v%d", e.Value, e.Version, concurrency, concurrency, concurrency+1)
	}
}

func testConcurrentUpdateUser(t *testing.T, ss []storage.Store) {
	ctx, s := t.Context(), ss[0]
	u := newUser("u1", "alice")
	u.Permissions = nil
	must(t, "CreateUser", s.CreateUser(ctx, u))
	errs := atOnce(concurrency, func(i int) error {
		_, err := ss[i%len(ss)].UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
			u.Permissions = append(u.Permissions, id("perm", i))
			return u, nil
		})
		return err
	})
	tally(t, "UpdateUser", errs, nil)
	got, err := s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	slices.Sort(got.Permissions)
	var want []string
	for i := range concurrency {
		want = append(want, id("perm", i))
	}
	mustEqual(t, "permissions after concurrent appends", got.Permissions, want)
}

func testConcurrentUpdateAuthRequest(t *testing.T, ss []storage.Store) {
	ctx, s := t.Context(), ss[0]
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar1", future())))
	errs := atOnce(concurrency, func(i int) error {
		_, err := ss[i%len(ss)].UpdateAuthRequest(ctx, "ar1", func(r storage.AuthRequest) (storage.AuthRequest, error) {
			r.Data = append(r.Data, 'x')
			return r, nil
		})
		return err
	})
	tally(t, "UpdateAuthRequest", errs, nil)
	r, err := s.GetAuthRequest(ctx, "ar1")
	must(t, "GetAuthRequest", err)
	if want := len(newAuthRequest("", time.Time{}).Data) + concurrency; len(r.Data) != want {
		t.Fatalf("auth request data has %d bytes after %d concurrent appends, want %d", len(r.Data), concurrency, want)
	}
}
