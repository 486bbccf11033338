package conformance

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// expiryCase is one method that judges expiry by the store's clock: setup
// stores a row named id that expires at exp; probe calls the method on
// that row and returns nil when the method treats it as live, an error
// wrapping storage.ErrNotFound when as absent.
type expiryCase struct {
	method string
	setup  func(t *testing.T, s storage.Store, id string, exp time.Time)
	probe  func(t *testing.T, s storage.Store, id string) error
}

// seen turns the number of rows a method removed into a probe's answer.
func seen(n int64, err error) error {
	switch {
	case err != nil:
		return err
	case n == 0:
		return storage.ErrNotFound
	case n == 1:
		return nil
	}
	return fmt.Errorf("%d rows counted, want 1 or 0", n)
}

// testExpiry: every method without a now argument judges expiry by the
// clock the store was opened with. A row is live a millisecond before its
// ExpiresAt and absent at it and after, whatever the wall clock says.
func testExpiry(t *testing.T, s storage.Store, c *clock) {
	must(t, "CreateUser", s.CreateUser(t.Context(), newUser("u1", "alice")))
	exp := base().Add(time.Hour)
	never := base().Add(100 * 24 * time.Hour) // beyond every instant probed
	keep := func(r storage.AuthRequest) (storage.AuthRequest, error) { return r, nil }

	request := func(t *testing.T, s storage.Store, id string, exp time.Time) {
		must(t, "CreateAuthRequest", s.CreateAuthRequest(t.Context(), newAuthRequest(id, exp)))
	}
	doneRequest := func(t *testing.T, s storage.Store, id string, exp time.Time) {
		ar := newAuthRequest(id, exp)
		ar.Done, ar.UserID = true, "u1"
		must(t, "CreateAuthRequest", s.CreateAuthRequest(t.Context(), ar))
	}
	// A redemption whose record lives until exp: the request and its
	// token both expire then.
	redeemed := func(t *testing.T, s storage.Store, id string, exp time.Time) {
		redeem(t, s, id, exp, nil, newAccessToken("at-"+id, "u1", "c1", exp))
	}
	session := func(t *testing.T, s storage.Store, id string, exp time.Time) {
		must(t, "SaveLogin of a new session", createSession(t.Context(), s, newSession(id, "u1", exp)))
	}
	refreshToken := func(t *testing.T, s storage.Store, id string, exp time.Time) {
		must(t, "CreateRefreshToken", s.CreateRefreshToken(t.Context(), newRefreshToken(id, "u1", "c1", exp), nil))
	}
	accessToken := func(t *testing.T, s storage.Store, id string, exp time.Time) {
		must(t, "CreateAccessToken", s.CreateAccessToken(t.Context(), newAccessToken(id, "u1", "c1", exp)))
	}

	cases := []expiryCase{
		{"GetAuthRequest", request, func(t *testing.T, s storage.Store, id string) error {
			_, err := s.GetAuthRequest(t.Context(), id)
			return err
		}},
		{"UpdateAuthRequest", request, func(t *testing.T, s storage.Store, id string) error {
			called := false
			_, err := s.UpdateAuthRequest(t.Context(), id, func(r storage.AuthRequest) (storage.AuthRequest, error) {
				called = true
				return r, nil
			})
			if err != nil && called {
				return fmt.Errorf("fn ran, then %w", err)
			}
			return err
		}},
		{"SaveLogin of a request", request, func(t *testing.T, s storage.Store, id string) error {
			_, err := s.SaveLogin(t.Context(), storage.LoginWrite{AuthRequestID: id, Update: keep})
			return err
		}},
		{"RedeemAuthRequest", doneRequest, func(t *testing.T, s storage.Store, id string) error {
			return s.RedeemAuthRequest(t.Context(), id, nil, newAccessToken("at-"+id, "u1", "c1", never))
		}},
		{"GetRedeemedCode", redeemed, func(t *testing.T, s storage.Store, id string) error {
			_, err := s.GetRedeemedCode(t.Context(), id)
			return err
		}},
		{"RevokeCodeGrant", redeemed, func(t *testing.T, s storage.Store, id string) error {
			_, _, err := s.RevokeCodeGrant(t.Context(), id)
			return err
		}},
		// The record outlives the grant's access token: only a live token
		// counts as revoked.
		{"RevokeCodeGrant's count", func(t *testing.T, s storage.Store, id string, exp time.Time) {
			redeem(t, s, id, never, nil, newAccessToken("at-"+id, "u1", "c1", exp))
		}, func(t *testing.T, s storage.Store, id string) error {
			_, n, err := s.RevokeCodeGrant(t.Context(), id)
			return seen(n, err)
		}},
		{"GetSession", session, func(t *testing.T, s storage.Store, id string) error {
			_, err := s.GetSession(t.Context(), id)
			return err
		}},
		{"GetSessionUser", session, func(t *testing.T, s storage.Store, id string) error {
			_, _, err := s.GetSessionUser(t.Context(), id)
			return err
		}},
		{"DeleteUserSessions", func(t *testing.T, s storage.Store, id string, exp time.Time) {
			must(t, "SaveLogin of a new session", createSession(t.Context(), s, newSession(id, "user-"+id, exp)))
		}, func(t *testing.T, s storage.Store, id string) error {
			return seen(s.DeleteUserSessions(t.Context(), "user-"+id))
		}},
		{"GetRefreshToken", refreshToken, func(t *testing.T, s storage.Store, id string) error {
			_, err := s.GetRefreshToken(t.Context(), id)
			return err
		}},
		{"RotateRefreshToken", refreshToken, func(t *testing.T, s storage.Store, id string) error {
			return s.RotateRefreshToken(t.Context(), id, newRefreshToken(id+"-next", "u1", "c1", never), nil)
		}},
		{"DeleteUserTokens of a refresh token", func(t *testing.T, s storage.Store, id string, exp time.Time) {
			must(t, "CreateRefreshToken", s.CreateRefreshToken(t.Context(), newRefreshToken(id, "u1", id, exp), nil))
		}, func(t *testing.T, s storage.Store, id string) error {
			return seen(s.DeleteUserTokens(t.Context(), "u1", id))
		}},
		{"GetAccessToken", accessToken, func(t *testing.T, s storage.Store, id string) error {
			_, err := s.GetAccessToken(t.Context(), id)
			return err
		}},
		{"DeleteUserTokens of an access token", func(t *testing.T, s storage.Store, id string, exp time.Time) {
			must(t, "CreateAccessToken", s.CreateAccessToken(t.Context(), newAccessToken(id, "u1", id, exp)))
		}, func(t *testing.T, s storage.Store, id string) error {
			return seen(s.DeleteUserTokens(t.Context(), "u1", id))
		}},
		{"ListSigningKeys", func(t *testing.T, s storage.Store, id string, exp time.Time) {
			must(t, "CreateSigningKey", s.CreateSigningKey(t.Context(), storage.SigningKey{ID: id, Algorithm: "ES256",
				PrivateKey: []byte("sealed"), CreatedAt: base().Add(-time.Hour), RetiredAt: base(), ExpiresAt: exp}))
		}, func(t *testing.T, s storage.Store, id string) error {
			keys, err := s.ListSigningKeys(t.Context())
			if err == nil && !slices.ContainsFunc(keys, func(k storage.SigningKey) bool { return k.ID == id }) {
				err = storage.ErrNotFound
			}
			return err
		}},
	}
	// Each method gets a row of its own for each instant, as probing may
	// spend it (a redemption, a rotation, a deletion).
	instants := []struct {
		name string
		at   time.Time
		live bool
	}{
		{"a millisecond before expiry", exp.Add(-time.Millisecond), true},
		{"at expiry", exp, false},
		{"an hour after expiry", exp.Add(time.Hour), false},
	}
	rowID := func(ec expiryCase, i int) string { return fmt.Sprintf("%s-%d", ec.method, i) }
	for _, ec := range cases {
		for i := range instants {
			ec.setup(t, s, rowID(ec, i), exp)
		}
	}
	for i, in := range instants {
		c.Set(in.at)
		for _, ec := range cases {
			err := ec.probe(t, s, rowID(ec, i))
			if in.live {
				must(t, ec.method+" "+in.name, err)
			} else {
				mustErr(t, ec.method+" "+in.name, err, storage.ErrNotFound)
			}
		}
	}
	// The clock moves back as well: an expired row that no method removed
	// is live again before its expiry.
	c.Set(exp.Add(-time.Minute))
	_, err := s.GetSession(t.Context(), rowID(expiryCase{method: "GetSession"}, 2))
	must(t, "GetSession with the clock moved back", err)
}

// testExplicitNow: methods that take a now judge by it, not by the
// store's clock.
func testExplicitNow(t *testing.T, s storage.Store, c *clock) {
	ctx := t.Context()
	now := base()
	exp := now.Add(time.Hour)
	farPast, farFuture := now.AddDate(-10, 0, 0), now.AddDate(10, 0, 0)

	_, err := s.KVPut(ctx, "ns", "k", []byte("v"), 0, exp, now)
	must(t, "KVPut", err)
	_, err = s.CountEvent(ctx, "rate", time.Minute, 1, now)
	must(t, "CountEvent", err)
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar1", exp)))

	c.Set(farFuture) // the store's clock says everything has expired
	_, err = s.KVGet(ctx, "ns", "k", now)
	must(t, "KVGet at a now before expiry", err)
	keys, err := s.KVList(ctx, "ns", "", now)
	must(t, "KVList at a now before expiry", err)
	mustEqual(t, "KVList at a now before expiry", keys, []string{"k"})
	_, err = s.KVPut(ctx, "ns", "k", []byte("w"), 0, time.Time{}, now)
	mustErr(t, "KVPut creating a key live at now", err, storage.ErrConflict)
	r, err := s.CountEvent(ctx, "rate", time.Minute, 1, now.Add(30*time.Second))
	must(t, "CountEvent", err)
	if r.Allowed {
		t.Fatalf("CountEvent within the window of now allowed %+v: it counted by the store's clock", r)
	}
	n, err := s.PurgeExpired(ctx, now)
	must(t, "PurgeExpired at a now before expiry", err)
	if n != 0 {
		t.Fatalf("PurgeExpired at a now before every expiry removed %d rows", n)
	}

	c.Set(farPast) // the store's clock says nothing has expired
	_, err = s.KVGet(ctx, "ns", "k", exp)
	mustErr(t, "KVGet at a now at expiry", err, storage.ErrNotFound)
	keys, err = s.KVList(ctx, "ns", "", exp)
	must(t, "KVList at a now at expiry", err)
	if len(keys) != 0 {
		t.Fatalf("KVList at a now at expiry = %q, want none", keys)
	}
	r, err = s.CountEvent(ctx, "rate", time.Minute, 1, now.Add(2*time.Minute))
	must(t, "CountEvent", err)
	if !r.Allowed {
		t.Fatalf("CountEvent after the window of now refused %+v: it counted by the store's clock", r)
	}
	n, err = s.PurgeExpired(ctx, exp.Add(time.Hour))
	must(t, "PurgeExpired at a now after expiry", err)
	if n < 2 { // the KV entry and the request, perhaps rate events too
		t.Fatalf("PurgeExpired at a now after expiry removed %d rows, want the KV entry and the request", n)
	}
	_, err = s.GetAuthRequest(ctx, "ar1")
	mustErr(t, "GetAuthRequest of a purged request", err, storage.ErrNotFound)
}
