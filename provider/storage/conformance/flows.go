package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func newAuthRequest(id string, expires time.Time) storage.AuthRequest {
	return storage.AuthRequest{
		ID:        id,
		ClientID:  "client-1",
		Data:      []byte(`{"scope":"openid","acr_values":"mfa"}`),
		CreatedAt: base(),
		ExpiresAt: expires,
	}
}

func testAuthRequests(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r := newAuthRequest("ar1", future())
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, r))
	mustErr(t, "CreateAuthRequest duplicate", s.CreateAuthRequest(ctx, r), storage.ErrAlreadyExists)
	got, err := s.GetAuthRequest(ctx, "ar1")
	must(t, "GetAuthRequest", err)
	mustEqual(t, "GetAuthRequest", got, r)
	_, err = s.GetAuthRequest(ctx, "nope")
	mustErr(t, "GetAuthRequest unknown", err, storage.ErrNotFound)

	// What began with a request is written with it, or not at all.
	sent := storage.Event{Time: base(), Type: "sms.sent", UserID: "u1", ClientID: r.ClientID, Outcome: "success",
		Details: map[string]string{"method": "sms"}}
	withEvent := newAuthRequest("ar-sent", future())
	must(t, "CreateAuthRequest with an event", s.CreateAuthRequest(ctx, withEvent, sent))
	got, err = s.GetAuthRequest(ctx, "ar-sent")
	must(t, "GetAuthRequest created with an event", err)
	mustEqual(t, "request created with an event", got, withEvent)
	mustErr(t, "CreateAuthRequest duplicate with an event", s.CreateAuthRequest(ctx, withEvent, sent), storage.ErrAlreadyExists)
	evs, err := s.ListEvents(ctx, storage.EventFilter{})
	must(t, "ListEvents", err)
	if len(evs) != 1 || evs[0].Type != "sms.sent" || evs[0].UserID != "u1" {
		t.Fatalf("events after a create with one and a refused duplicate: %+v, want the one sms.sent", evs)
	}

	want := r
	want.SessionID, want.UserID, want.Done = "sess-1", "u1", true
	want.Data = []byte(`{"done":true}`)
	got, err = s.UpdateAuthRequest(ctx, "ar1", func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		mustEqual(t, "UpdateAuthRequest fn input", cur, r)
		cur.SessionID, cur.UserID, cur.Done, cur.Data = want.SessionID, want.UserID, want.Done, want.Data
		return cur, nil
	})
	must(t, "UpdateAuthRequest", err)
	mustEqual(t, "UpdateAuthRequest result", got, want)
	got, err = s.GetAuthRequest(ctx, "ar1")
	must(t, "GetAuthRequest", err)
	mustEqual(t, "GetAuthRequest after update", got, want)

	errStop := errors.New("stop")
	_, err = s.UpdateAuthRequest(ctx, "ar1", func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		cur.Done = false
		return cur, errStop
	})
	if err != errStop {
		t.Fatalf("UpdateAuthRequest fn error: got %v, want it unchanged", err)
	}
	got, err = s.GetAuthRequest(ctx, "ar1")
	must(t, "GetAuthRequest", err)
	mustEqual(t, "GetAuthRequest after aborted update", got, want)
	// An update's result is the row as stored, to the store's precision.
	got, err = s.UpdateAuthRequest(ctx, "ar1", func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		cur.ID, cur.CreatedAt = "other", cur.CreatedAt.Add(time.Hour)
		cur.ExpiresAt = cur.ExpiresAt.Add(1234 * time.Nanosecond)
		return cur, nil
	})
	must(t, "UpdateAuthRequest to the nanosecond", err)
	stored, err := s.GetAuthRequest(ctx, "ar1")
	must(t, "GetAuthRequest", err)
	mustEqual(t, "UpdateAuthRequest result against the row it stored", got, stored)
	_, err = s.UpdateAuthRequest(ctx, "nope", func(cur storage.AuthRequest) (storage.AuthRequest, error) { return cur, nil })
	mustErr(t, "UpdateAuthRequest unknown", err, storage.ErrNotFound)

	// Expired requests are absent.
	must(t, "CreateAuthRequest expired", s.CreateAuthRequest(ctx, newAuthRequest("ar2", past())))
	_, err = s.GetAuthRequest(ctx, "ar2")
	mustErr(t, "GetAuthRequest expired", err, storage.ErrNotFound)
	_, err = s.UpdateAuthRequest(ctx, "ar2", func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		t.Error("UpdateAuthRequest called fn for an expired request")
		return cur, nil
	})
	mustErr(t, "UpdateAuthRequest expired", err, storage.ErrNotFound)

	// Expiry can be moved by an update, both ways.
	_, err = s.UpdateAuthRequest(ctx, "ar1", func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		cur.ExpiresAt = past()
		return cur, nil
	})
	must(t, "UpdateAuthRequest expire", err)
	_, err = s.GetAuthRequest(ctx, "ar1")
	mustErr(t, "GetAuthRequest after expiring", err, storage.ErrNotFound)

	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar3", future())))
	must(t, "DeleteAuthRequest", s.DeleteAuthRequest(ctx, "ar3"))
	_, err = s.GetAuthRequest(ctx, "ar3")
	mustErr(t, "GetAuthRequest deleted", err, storage.ErrNotFound)
	must(t, "DeleteAuthRequest absent", s.DeleteAuthRequest(ctx, "ar3"))
	must(t, "CreateAuthRequest reusing a deleted ID", s.CreateAuthRequest(ctx, newAuthRequest("ar3", future())))
}

func testRedeemAuthRequest(t *testing.T, s storage.Store) {
	ctx := t.Context()
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	}
	done := func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		cur.Done, cur.UserID, cur.SessionID = true, "u1", "s1"
		return cur, nil
	}
	rt, at := newRefreshToken("rh1", "u1", "c1", future()), newAccessToken("at1", "u1", "c1", future())
	// stored says whether the tokens of a redemption are there.
	stored := func(what string, rtHash, atID string, want bool) {
		t.Helper()
		_, atErr := s.GetAccessToken(ctx, atID)
		var rtErr error
		if rtHash != "" {
			_, rtErr = s.GetRefreshToken(ctx, rtHash)
		}
		if want {
			must(t, what+": access token", atErr)
			must(t, what+": refresh token", rtErr)
		} else {
			mustErr(t, what+": access token", atErr, storage.ErrNotFound)
			if rtHash != "" {
				mustErr(t, what+": refresh token", rtErr, storage.ErrNotFound)
			}
		}
	}

	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar1", future())))
	mustErr(t, "RedeemAuthRequest of a request not done", s.RedeemAuthRequest(ctx, "ar1", &rt, at), storage.ErrNotFound)
	stored("refused redemption", rt.Hash, at.ID, false)
	_, err := s.GetAuthRequest(ctx, "ar1")
	must(t, "GetAuthRequest after a refused RedeemAuthRequest", err)

	_, err = s.UpdateAuthRequest(ctx, "ar1", done)
	must(t, "UpdateAuthRequest done", err)
	must(t, "RedeemAuthRequest", s.RedeemAuthRequest(ctx, "ar1", &rt, at))
	stored("RedeemAuthRequest", rt.Hash, at.ID, true)
	// The tokens name the request as their grant.
	gotRT, err := s.GetRefreshToken(ctx, rt.Hash)
	must(t, "GetRefreshToken redeemed", err)
	gotAT, err := s.GetAccessToken(ctx, at.ID)
	must(t, "GetAccessToken redeemed", err)
	if gotRT.GrantID != "ar1" || gotAT.GrantID != "ar1" {
		t.Fatalf("redeemed tokens have grants %q and %q, want the request ar1", gotRT.GrantID, gotAT.GrantID)
	}
	_, err = s.GetAuthRequest(ctx, "ar1")
	mustErr(t, "GetAuthRequest redeemed", err, storage.ErrNotFound)
	rt2, at2 := newRefreshToken("rh2", "u1", "c1", future()), newAccessToken("at2", "u1", "c1", future())
	mustErr(t, "RedeemAuthRequest twice", s.RedeemAuthRequest(ctx, "ar1", &rt2, at2), storage.ErrNotFound)
	stored("second redemption", rt2.Hash, at2.ID, false)
	mustErr(t, "RedeemAuthRequest unknown", s.RedeemAuthRequest(ctx, "never-created", &rt2, at2), storage.ErrNotFound)

	// Without a refresh token (no offline_access): the access token alone.
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar3", future())))
	_, err = s.UpdateAuthRequest(ctx, "ar3", done)
	must(t, "UpdateAuthRequest done", err)
	must(t, "RedeemAuthRequest without a refresh token", s.RedeemAuthRequest(ctx, "ar3", nil, at2))
	stored("RedeemAuthRequest without a refresh token", "", at2.ID, true)

	// A taken token ID fails the whole redemption: the request stays.
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar4", future())))
	_, err = s.UpdateAuthRequest(ctx, "ar4", done)
	must(t, "UpdateAuthRequest done", err)
	rt4 := newRefreshToken("rh4", "u1", "c1", future())
	mustErr(t, "RedeemAuthRequest with a taken access token ID", s.RedeemAuthRequest(ctx, "ar4", &rt4, at), storage.ErrAlreadyExists)
	stored("redemption with a taken ID", rt4.Hash, "no-such-token", false)
	_, err = s.GetAuthRequest(ctx, "ar4")
	must(t, "GetAuthRequest after a failed redemption", err)

	// A done request that has expired cannot be redeemed.
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar2", future())))
	_, err = s.UpdateAuthRequest(ctx, "ar2", func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		cur, _ = done(cur)
		cur.ExpiresAt = past()
		return cur, nil
	})
	must(t, "UpdateAuthRequest done and expired", err)
	at5 := newAccessToken("at5", "u1", "c1", future())
	mustErr(t, "RedeemAuthRequest of an expired request", s.RedeemAuthRequest(ctx, "ar2", nil, at5), storage.ErrNotFound)
	stored("expired redemption", "", at5.ID, false)
}

// redeem stores a done request id and redeems it for rt (when non-nil)
// and at.
func redeem(t *testing.T, s storage.Store, id string, expires time.Time, rt *storage.RefreshToken, at storage.AccessToken) {
	t.Helper()
	ctx := t.Context()
	ar := newAuthRequest(id, expires)
	ar.Done, ar.UserID = true, "u1"
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, ar))
	must(t, "RedeemAuthRequest", s.RedeemAuthRequest(ctx, id, rt, at))
}

func testRevokeCodeGrant(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	requestExpires, tokensExpire := future(), base().Add(2*time.Hour)
	rt := newRefreshToken("h1", "u1", "c1", tokensExpire)
	rt.GrantID = "ignored" // the store names the request
	redeem(t, s, "ar1", requestExpires, &rt, newAccessToken("at1", "u1", "c1", future()))
	// Two rotations: the grant carries over to each new token.
	at2 := newAccessToken("at2", "u1", "c1", future())
	must(t, "RotateRefreshToken", s.RotateRefreshToken(ctx, "h1", newRefreshToken("h2", "u1", "c1", future()), &at2))
	must(t, "RotateRefreshToken", s.RotateRefreshToken(ctx, "h2", newRefreshToken("h3", "u1", "c1", future()), nil))
	got, err := s.GetRefreshToken(ctx, "h3")
	must(t, "GetRefreshToken rotated", err)
	gotAT, err := s.GetAccessToken(ctx, "at2")
	must(t, "GetAccessToken of a rotation", err)
	if got.GrantID != "ar1" || gotAT.GrantID != "ar1" {
		t.Fatalf("rotated tokens have grants %q and %q, want ar1's", got.GrantID, gotAT.GrantID)
	}
	// Tokens of other grants, and of none, stay.
	other := newRefreshToken("h9", "u1", "c1", future())
	redeem(t, s, "ar2", future(), &other, newAccessToken("at9", "u1", "c1", future()))
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, newRefreshToken("h-plain", "u1", "c1", future()), nil))
	// An expired token of the grant goes uncounted.
	expired := newAccessToken("at-expired", "u1", "c1", past())
	expired.GrantID = "ar1"
	must(t, "CreateAccessToken", s.CreateAccessToken(ctx, expired))

	// The record keeps the request as it was redeemed.
	rc, err := s.GetRedeemedCode(ctx, "ar1")
	must(t, "GetRedeemedCode", err)
	// RedeemedAt is the store's clock at the redemption.
	want := storage.RedeemedCode{RequestID: "ar1", ClientID: "client-1", UserID: "u1", Data: newAuthRequest("ar1", requestExpires).Data,
		RedeemedAt: base(), ExpiresAt: tokensExpire}
	mustEqual(t, "GetRedeemedCode", rc, want)
	_, err = s.GetRefreshToken(ctx, "h3")
	must(t, "GetRefreshToken after GetRedeemedCode", err)

	rc, n, err := s.RevokeCodeGrant(ctx, "ar1")
	must(t, "RevokeCodeGrant", err)
	mustEqual(t, "RevokeCodeGrant record", rc, want)
	if n != 3 {
		t.Fatalf("RevokeCodeGrant removed %d live tokens, want 3 (h3, at1, at2)", n)
	}
	for _, h := range []string{"h1", "h2", "h3"} {
		_, err := s.GetRefreshToken(ctx, h)
		mustErr(t, "GetRefreshToken of a revoked grant", err, storage.ErrNotFound)
	}
	for _, id := range []string{"at1", "at2"} {
		_, err := s.GetAccessToken(ctx, id)
		mustErr(t, "GetAccessToken of a revoked grant", err, storage.ErrNotFound)
	}
	mustErr(t, "RotateRefreshToken of a revoked grant", s.RotateRefreshToken(ctx, "h3", newRefreshToken("h4", "u1", "c1", future()), nil), storage.ErrNotFound)
	for _, h := range []string{"h9", "h-plain"} {
		_, err := s.GetRefreshToken(ctx, h)
		must(t, "GetRefreshToken of another grant", err)
	}
	_, err = s.GetAccessToken(ctx, "at9")
	must(t, "GetAccessToken of another grant", err)

	// The record stays: a third use finds it, with nothing left to revoke.
	again, n, err := s.RevokeCodeGrant(ctx, "ar1")
	must(t, "RevokeCodeGrant again", err)
	mustEqual(t, "RevokeCodeGrant again", again, want)
	if n != 0 {
		t.Fatalf("RevokeCodeGrant again removed %d tokens, want 0", n)
	}

	// No record: a request never redeemed, or none at all.
	ar3 := newAuthRequest("ar3", future())
	ar3.Done = true
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, ar3))
	for _, id := range []string{"ar3", "never-created"} {
		_, err := s.GetRedeemedCode(ctx, id)
		mustErr(t, "GetRedeemedCode without a redemption", err, storage.ErrNotFound)
		_, _, err = s.RevokeCodeGrant(ctx, id)
		mustErr(t, "RevokeCodeGrant without a redemption", err, storage.ErrNotFound)
	}
	_, err = s.GetAuthRequest(ctx, "ar3")
	must(t, "GetAuthRequest after RevokeCodeGrant refused", err)

	// Without a refresh token the record lasts as long as the request or
	// the access token, whichever is later; a token that never expires
	// keeps it for good.
	redeem(t, s, "ar4", requestExpires, nil, newAccessToken("at4", "u1", "c1", base().Add(30*time.Minute)))
	rc, n, err = s.RevokeCodeGrant(ctx, "ar4")
	must(t, "RevokeCodeGrant without a refresh token", err)
	if !rc.ExpiresAt.Equal(requestExpires) || n != 1 {
		t.Fatalf("RevokeCodeGrant without a refresh token: record expires %v, %d tokens; want %v and 1", rc.ExpiresAt, n, requestExpires)
	}
	forever := newRefreshToken("h5", "u1", "c1", time.Time{})
	redeem(t, s, "ar5", requestExpires, &forever, newAccessToken("at5", "u1", "c1", future()))
	rc, _, err = s.RevokeCodeGrant(ctx, "ar5")
	must(t, "RevokeCodeGrant of a token without expiry", err)
	if !rc.ExpiresAt.IsZero() {
		t.Fatalf("record of a token that never expires expires at %v, want never", rc.ExpiresAt)
	}
}

// createSession stores sess as a login that starts from no session does.
func createSession(ctx context.Context, s storage.Store, sess storage.Session) error {
	_, err := s.SaveLogin(ctx, storage.LoginWrite{Session: sess})
	return err
}

func newSession(id, userID string, expires time.Time) storage.Session {
	return storage.Session{
		ID:     id,
		UserID: userID,
		Factors: []storage.Factor{
			{Method: "password", First: true, AMR: []string{"pwd"}, Time: base().Add(-time.Minute)},
		},
		CreatedAt: base().Add(-time.Minute),
		UpdatedAt: base().Add(-time.Minute),
		ExpiresAt: expires,
	}
}

func testSessions(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sess := newSession("s1", "u1", future())
	must(t, "SaveLogin of a new session", createSession(ctx, s, sess))
	mustErr(t, "SaveLogin of a taken session ID", createSession(ctx, s, sess), storage.ErrAlreadyExists)
	got, err := s.GetSession(ctx, "s1")
	must(t, "GetSession", err)
	mustEqual(t, "GetSession", got, sess)
	_, err = s.GetSession(ctx, "nope")
	mustErr(t, "GetSession unknown", err, storage.ErrNotFound)
	empty := storage.Session{ID: "s0", ExpiresAt: future()}
	must(t, "SaveLogin of a new session empty", createSession(ctx, s, empty))
	got, err = s.GetSession(ctx, "s0")
	must(t, "GetSession empty", err)
	mustEqual(t, "GetSession empty", got, empty)

	// A factor's time comes back in UTC, whatever zone it was written in.
	zoned := newSession("s-zoned", "u1", future())
	zoned.Factors = append(zoned.Factors, storage.Factor{
		Method: "authenticator", Levels: []string{"mfa", "high"}, AMR: []string{"otp", "mfa"},
		Time: base().In(time.FixedZone("X", -7*3600)),
	})
	must(t, "SaveLogin of a new session with a zoned factor", createSession(ctx, s, zoned))
	got, err = s.GetSession(ctx, "s-zoned")
	must(t, "GetSession zoned", err)
	zoned.Factors[1].Time = zoned.Factors[1].Time.UTC()
	mustEqual(t, "GetSession zoned", got, zoned)
	must(t, "DeleteSession zoned", s.DeleteSession(ctx, "s-zoned"))

	must(t, "SaveLogin of a new session expired", createSession(ctx, s, newSession("s2", "u1", past())))
	_, err = s.GetSession(ctx, "s2")
	mustErr(t, "GetSession expired", err, storage.ErrNotFound)

	must(t, "DeleteSession", s.DeleteSession(ctx, "s0"))
	_, err = s.GetSession(ctx, "s0")
	mustErr(t, "GetSession deleted", err, storage.ErrNotFound)
	must(t, "DeleteSession absent", s.DeleteSession(ctx, "s0"))

	// DeleteUserSessions counts the live sessions it removed.
	must(t, "SaveLogin of a new session", createSession(ctx, s, newSession("s3", "u1", future())))
	must(t, "SaveLogin of a new session other user", createSession(ctx, s, newSession("s4", "u2", future())))
	n, err := s.DeleteUserSessions(ctx, "u1")
	must(t, "DeleteUserSessions", err)
	if n != 2 {
		t.Fatalf("DeleteUserSessions removed %d live sessions, want 2 (s1, s3)", n)
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		_, err = s.GetSession(ctx, id)
		mustErr(t, "GetSession after DeleteUserSessions", err, storage.ErrNotFound)
	}
	_, err = s.GetSession(ctx, "s4")
	must(t, "GetSession of another user", err)
	n, err = s.DeleteUserSessions(ctx, "u1")
	must(t, "DeleteUserSessions again", err)
	if n != 0 {
		t.Fatalf("DeleteUserSessions again removed %d, want 0", n)
	}

	// SaveLogin replaces one session by another at once; a taken ID
	// changes nothing.
	rotated := newSession("s1r", "u2", future())
	_, err = s.SaveLogin(ctx, storage.LoginWrite{OldSessionID: "s4", Session: rotated})
	must(t, "SaveLogin rotating", err)
	_, err = s.GetSession(ctx, "s4")
	mustErr(t, "GetSession rotated away", err, storage.ErrNotFound)
	got, err = s.GetSession(ctx, "s1r")
	must(t, "GetSession rotated", err)
	mustEqual(t, "GetSession rotated", got, rotated)
	must(t, "SaveLogin of a new session", createSession(ctx, s, newSession("s5", "u2", future())))
	_, err = s.SaveLogin(ctx, storage.LoginWrite{OldSessionID: "s5", Session: rotated})
	mustErr(t, "SaveLogin rotating to a taken ID", err, storage.ErrAlreadyExists)
	_, err = s.GetSession(ctx, "s5")
	must(t, "GetSession of the session a refused rotation kept", err)
	_, err = s.SaveLogin(ctx, storage.LoginWrite{Session: newSession("s1n", "u2", future())})
	must(t, "SaveLogin rotating from nothing", err)
	_, err = s.SaveLogin(ctx, storage.LoginWrite{OldSessionID: "nope", Session: newSession("s1m", "u2", future())})
	must(t, "SaveLogin rotating from an absent session", err)
}

// testGetSessionUser: GetSessionUser reads in one what GetSession and
// GetUser read in two, with the zero user where GetUser finds none.
func testGetSessionUser(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	alice, err := s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	// Users cannot be deleted and sessions.user_id is no foreign key: a
	// session of a user never created stands for one whose user is gone.
	for _, sess := range []storage.Session{
		newSession("s1", "u1", future()),
		{ID: "s0", ExpiresAt: future()},
		newSession("s2", "never-created", future()),
		newSession("s3", "u1", past()),
	} {
		must(t, "SaveLogin of a new session", createSession(ctx, s, sess))
	}
	for _, c := range []struct {
		what, id string
		user     storage.User
	}{
		{"a session with its user", "s1", alice},
		{"a session without a user", "s0", storage.User{}},
		{"a session whose user is absent", "s2", storage.User{}},
	} {
		sess, u, err := s.GetSessionUser(ctx, c.id)
		must(t, "GetSessionUser of "+c.what, err)
		want, err := s.GetSession(ctx, c.id)
		must(t, "GetSession", err)
		mustEqual(t, "GetSessionUser session of "+c.what, sess, want)
		mustEqual(t, "GetSessionUser user of "+c.what, u, c.user)
	}
	_, _, err = s.GetSessionUser(ctx, "nope")
	mustErr(t, "GetSessionUser unknown", err, storage.ErrNotFound)
	_, _, err = s.GetSessionUser(ctx, "s3")
	mustErr(t, "GetSessionUser expired", err, storage.ErrNotFound)
}

// testSaveLogin: the session, the request and the events of a login step
// are written together, or none of them.
func testSaveLogin(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "SaveLogin of a new session", createSession(ctx, s, newSession("s1", "u1", future())))
	must(t, "SaveLogin of a new session", createSession(ctx, s, newSession("s-taken", "u1", future())))
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar1", future())))
	events := func() int {
		t.Helper()
		evs, err := s.ListEvents(ctx, storage.EventFilter{})
		must(t, "ListEvents", err)
		return len(evs)
	}
	complete := func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		cur.Done, cur.UserID, cur.SessionID = true, "u1", "s2"
		return cur, nil
	}
	login := func(sessionID string, update func(storage.AuthRequest) (storage.AuthRequest, error)) storage.LoginWrite {
		return storage.LoginWrite{OldSessionID: "s1", Session: newSession(sessionID, "u1", future()),
			AuthRequestID: "ar1", Update: update, Events: []storage.Event{
				{Time: base(), Type: "verification.succeeded", Actor: "u1", UserID: "u1", ClientID: "client-1", Outcome: "success", Details: map[string]string{"method": "authenticator"}},
				{Time: base(), Type: "login.completed", Actor: "u1", UserID: "u1", ClientID: "client-1", Outcome: "success"},
			}}
	}
	unchanged := func(what string) {
		t.Helper()
		_, err := s.GetSession(ctx, "s1")
		must(t, what+": GetSession of the old session", err)
		r, err := s.GetAuthRequest(ctx, "ar1")
		must(t, what+": GetAuthRequest", err)
		if r.Done {
			t.Fatalf("%s: the request was updated", what)
		}
		if n := events(); n != 0 {
			t.Fatalf("%s: %d events were appended", what, n)
		}
	}

	refuse := errors.New("refused")
	_, err := s.SaveLogin(ctx, login("s2", func(cur storage.AuthRequest) (storage.AuthRequest, error) { return cur, refuse }))
	if !errors.Is(err, refuse) {
		t.Fatalf("SaveLogin with a failing Update returned %v, want its error", err)
	}
	unchanged("a failing Update")
	_, err = s.SaveLogin(ctx, login("s-taken", complete))
	mustErr(t, "SaveLogin rotating to a taken ID", err, storage.ErrAlreadyExists)
	unchanged("a taken session ID")
	w := login("s2", complete)
	w.AuthRequestID = "nope"
	_, err = s.SaveLogin(ctx, w)
	mustErr(t, "SaveLogin of an absent request", err, storage.ErrNotFound)
	unchanged("an absent request")

	r, err := s.SaveLogin(ctx, login("s2", complete))
	must(t, "SaveLogin", err)
	if !r.Done || r.SessionID != "s2" || r.ID != "ar1" {
		t.Fatalf("SaveLogin returned %+v, want the completed request", r)
	}
	stored, err := s.GetAuthRequest(ctx, "ar1")
	must(t, "GetAuthRequest", err)
	mustEqual(t, "GetAuthRequest after SaveLogin", stored, r)
	_, err = s.GetSession(ctx, "s1")
	mustErr(t, "GetSession rotated away", err, storage.ErrNotFound)
	_, err = s.GetSession(ctx, "s2")
	must(t, "GetSession rotated in", err)
	evs, err := s.ListEvents(ctx, storage.EventFilter{})
	must(t, "ListEvents", err)
	if len(evs) != 2 || evs[0].Type != "login.completed" || evs[1].Type != "verification.succeeded" || evs[1].Details["method"] != "authenticator" {
		t.Fatalf("events after SaveLogin: %+v", evs)
	}

	// Events alone, and a request without a session.
	_, err = s.SaveLogin(ctx, storage.LoginWrite{Events: []storage.Event{{Time: base(), Type: "login.failed", Outcome: "failure"}}})
	must(t, "SaveLogin of an event alone", err)
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar2", future())))
	r, err = s.SaveLogin(ctx, storage.LoginWrite{AuthRequestID: "ar2", Update: complete})
	must(t, "SaveLogin of a request alone", err)
	if !r.Done || events() != 3 {
		t.Fatalf("SaveLogin of a request alone: done %v, %d events", r.Done, events())
	}
}

// testSaveLoginWithKV: a challenge's write (a request created or updated,
// the code its method keeps, its sent event) is one transaction, and a
// method write whose version does not match undoes the rest.
func testSaveLoginWithKV(t *testing.T, s storage.Store) {
	ctx, now := t.Context(), base()
	sent := []storage.Event{{Time: now, Type: "sms.sent", UserID: "u1", ClientID: "client-1", Outcome: "success"}}
	code := func(expect int64, value string) *storage.KVWrite {
		return &storage.KVWrite{Namespace: "method/sms", Key: "code/u1", Value: []byte(value), ExpectVersion: expect,
			ExpiresAt: now.Add(10 * time.Minute), Now: now}
	}
	events := func() int {
		t.Helper()
		evs, err := s.ListEvents(ctx, storage.EventFilter{})
		must(t, "ListEvents", err)
		return len(evs)
	}

	// Created with the request.
	ar := newAuthRequest("ar-kv", future())
	got, err := s.SaveLogin(ctx, storage.LoginWrite{Create: ar, KV: code(0, "first"), Events: sent})
	must(t, "SaveLogin creating a request with a method write", err)
	mustEqual(t, "SaveLogin's created request", got, ar)
	stored, err := s.GetAuthRequest(ctx, "ar-kv")
	must(t, "GetAuthRequest", err)
	mustEqual(t, "request created with a method write", stored, ar)
	e, err := s.KVGet(ctx, "method/sms", "code/u1", now)
	must(t, "KVGet", err)
	if string(e.Value) != "first" || e.Version != 1 || !e.ExpiresAt.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("method write made with the request: %+v", e)
	}
	if n := events(); n != 1 {
		t.Fatalf("%d events after the write, want its one", n)
	}

	// A version that does not match: no request, no event.
	_, err = s.SaveLogin(ctx, storage.LoginWrite{Create: newAuthRequest("ar-lost", future()), KV: code(0, "again"), Events: sent})
	mustErr(t, "SaveLogin creating with a method write that conflicts", err, storage.ErrConflict)
	_, err = s.GetAuthRequest(ctx, "ar-lost")
	mustErr(t, "GetAuthRequest of a request whose write conflicted", err, storage.ErrNotFound)
	// A request ID taken: no method write.
	_, err = s.SaveLogin(ctx, storage.LoginWrite{Create: ar, KV: code(1, "taken"), Events: sent})
	mustErr(t, "SaveLogin creating a taken request ID", err, storage.ErrAlreadyExists)
	if e, _ := s.KVGet(ctx, "method/sms", "code/u1", now); string(e.Value) != "first" || events() != 1 {
		t.Fatalf("a refused create wrote: %+v, %d events", e, events())
	}

	// Updating the request, with a swap and then a delete.
	mark := func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		cur.Data = []byte(`{"challenge":"2"}`)
		return cur, nil
	}
	_, err = s.SaveLogin(ctx, storage.LoginWrite{AuthRequestID: "ar-kv", Update: mark, KV: code(7, "second"), Events: sent})
	mustErr(t, "SaveLogin updating with a stale method write", err, storage.ErrConflict)
	if stored, _ := s.GetAuthRequest(ctx, "ar-kv"); string(stored.Data) != string(ar.Data) || events() != 1 {
		t.Fatalf("a conflicting update wrote: %s, %d events", stored.Data, events())
	}
	got, err = s.SaveLogin(ctx, storage.LoginWrite{AuthRequestID: "ar-kv", Update: mark, KV: code(1, "second"), Events: sent})
	must(t, "SaveLogin updating with a method write", err)
	if string(got.Data) != `{"challenge":"2"}` {
		t.Fatalf("SaveLogin returned %s", got.Data)
	}
	if e, _ := s.KVGet(ctx, "method/sms", "code/u1", now); string(e.Value) != "second" || e.Version != 2 || events() != 2 {
		t.Fatalf("after an update with a swap: %+v, %d events", e, events())
	}
	del := &storage.KVWrite{Namespace: "method/sms", Key: "code/u1", ExpectVersion: 1, Delete: true}
	_, err = s.SaveLogin(ctx, storage.LoginWrite{AuthRequestID: "ar-kv", Update: mark, KV: del})
	mustErr(t, "SaveLogin with a delete at a stale version", err, storage.ErrConflict)
	del.ExpectVersion = 2
	_, err = s.SaveLogin(ctx, storage.LoginWrite{AuthRequestID: "ar-kv", Update: mark, KV: del})
	must(t, "SaveLogin with a delete", err)
	_, err = s.KVGet(ctx, "method/sms", "code/u1", now)
	mustErr(t, "KVGet after a delete made with the request", err, storage.ErrNotFound)

	// An invalid write is refused before anything is written.
	_, err = s.SaveLogin(ctx, storage.LoginWrite{Create: newAuthRequest("ar-bad", future()), KV: code(-2, "x")})
	if err == nil {
		t.Fatal("SaveLogin with expectVersion -2 succeeded")
	}
	_, err = s.GetAuthRequest(ctx, "ar-bad")
	mustErr(t, "GetAuthRequest after an invalid method write", err, storage.ErrNotFound)
}
