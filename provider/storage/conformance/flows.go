package conformance

import (
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

func testAuthCodes(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r := newAuthRequest("ar1", future())
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, r))
	must(t, "SaveAuthCode", s.SaveAuthCode(ctx, "code-1", "ar1"))
	mustErr(t, "SaveAuthCode duplicate", s.SaveAuthCode(ctx, "code-1", "ar1"), storage.ErrAlreadyExists)
	mustErr(t, "SaveAuthCode unknown request", s.SaveAuthCode(ctx, "code-2", "nope"), storage.ErrNotFound)
	must(t, "CreateAuthRequest expired", s.CreateAuthRequest(ctx, newAuthRequest("ar-old", past())))
	mustErr(t, "SaveAuthCode expired request", s.SaveAuthCode(ctx, "code-3", "ar-old"), storage.ErrNotFound)

	got, err := s.ConsumeAuthCode(ctx, "code-1")
	must(t, "ConsumeAuthCode", err)
	mustEqual(t, "ConsumeAuthCode", got, r)
	_, err = s.ConsumeAuthCode(ctx, "code-1")
	mustErr(t, "ConsumeAuthCode twice", err, storage.ErrNotFound)
	_, err = s.ConsumeAuthCode(ctx, "never-issued")
	mustErr(t, "ConsumeAuthCode unknown", err, storage.ErrNotFound)
	_, err = s.ConsumeAuthCode(ctx, "code-3")
	mustErr(t, "ConsumeAuthCode never saved", err, storage.ErrNotFound)

	// Deleting the request takes its codes with it.
	must(t, "SaveAuthCode", s.SaveAuthCode(ctx, "code-4", "ar1"))
	must(t, "SaveAuthCode second code", s.SaveAuthCode(ctx, "code-5", "ar1"))
	must(t, "DeleteAuthRequest", s.DeleteAuthRequest(ctx, "ar1"))
	_, err = s.ConsumeAuthCode(ctx, "code-4")
	mustErr(t, "ConsumeAuthCode after DeleteAuthRequest", err, storage.ErrNotFound)

	// A code whose request has expired is absent.
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar2", future())))
	must(t, "SaveAuthCode", s.SaveAuthCode(ctx, "code-6", "ar2"))
	_, err = s.UpdateAuthRequest(ctx, "ar2", func(cur storage.AuthRequest) (storage.AuthRequest, error) {
		cur.ExpiresAt = past()
		return cur, nil
	})
	must(t, "UpdateAuthRequest expire", err)
	_, err = s.ConsumeAuthCode(ctx, "code-6")
	mustErr(t, "ConsumeAuthCode of an expired request", err, storage.ErrNotFound)
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
	must(t, "CreateSession", s.CreateSession(ctx, sess))
	mustErr(t, "CreateSession duplicate", s.CreateSession(ctx, sess), storage.ErrAlreadyExists)
	got, err := s.GetSession(ctx, "s1")
	must(t, "GetSession", err)
	mustEqual(t, "GetSession", got, sess)
	_, err = s.GetSession(ctx, "nope")
	mustErr(t, "GetSession unknown", err, storage.ErrNotFound)
	empty := storage.Session{ID: "s0", ExpiresAt: future()}
	must(t, "CreateSession empty", s.CreateSession(ctx, empty))
	got, err = s.GetSession(ctx, "s0")
	must(t, "GetSession empty", err)
	mustEqual(t, "GetSession empty", got, empty)

	want := sess
	want.Factors = append(want.Factors, storage.Factor{
		Method: "totp", Levels: []string{"mfa", "high"}, AMR: []string{"otp", "mfa"},
		Time: base().In(time.FixedZone("X", -7*3600)),
	})
	want.UpdatedAt = base()
	got, err = s.UpdateSession(ctx, "s1", func(cur storage.Session) (storage.Session, error) {
		mustEqual(t, "UpdateSession fn input", cur, sess)
		cur.Factors = append(cur.Factors, want.Factors[1])
		cur.UpdatedAt = want.UpdatedAt
		return cur, nil
	})
	must(t, "UpdateSession", err)
	want.Factors[1].Time = want.Factors[1].Time.UTC()
	mustEqual(t, "UpdateSession result", got, want)
	got, err = s.GetSession(ctx, "s1")
	must(t, "GetSession", err)
	mustEqual(t, "GetSession after update", got, want)

	errStop := errors.New("stop")
	_, err = s.UpdateSession(ctx, "s1", func(cur storage.Session) (storage.Session, error) {
		cur.Factors = nil
		return cur, errStop
	})
	if err != errStop {
		t.Fatalf("UpdateSession fn error: got %v, want it unchanged", err)
	}
	got, err = s.GetSession(ctx, "s1")
	must(t, "GetSession", err)
	mustEqual(t, "GetSession after aborted update", got, want)
	_, err = s.UpdateSession(ctx, "nope", func(cur storage.Session) (storage.Session, error) { return cur, nil })
	mustErr(t, "UpdateSession unknown", err, storage.ErrNotFound)

	must(t, "CreateSession expired", s.CreateSession(ctx, newSession("s2", "u1", past())))
	_, err = s.GetSession(ctx, "s2")
	mustErr(t, "GetSession expired", err, storage.ErrNotFound)
	_, err = s.UpdateSession(ctx, "s2", func(cur storage.Session) (storage.Session, error) { return cur, nil })
	mustErr(t, "UpdateSession expired", err, storage.ErrNotFound)

	must(t, "DeleteSession", s.DeleteSession(ctx, "s0"))
	_, err = s.GetSession(ctx, "s0")
	mustErr(t, "GetSession deleted", err, storage.ErrNotFound)
	must(t, "DeleteSession absent", s.DeleteSession(ctx, "s0"))

	// DeleteUserSessions counts the live sessions it removed.
	must(t, "CreateSession", s.CreateSession(ctx, newSession("s3", "u1", future())))
	must(t, "CreateSession other user", s.CreateSession(ctx, newSession("s4", "u2", future())))
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

	// RotateSession replaces one session by another at once; a taken ID
	// changes nothing.
	rotated := newSession("s1r", "u2", future())
	must(t, "RotateSession", s.RotateSession(ctx, "s4", rotated))
	_, err = s.GetSession(ctx, "s4")
	mustErr(t, "GetSession rotated away", err, storage.ErrNotFound)
	got, err = s.GetSession(ctx, "s1r")
	must(t, "GetSession rotated", err)
	mustEqual(t, "GetSession rotated", got, rotated)
	must(t, "CreateSession", s.CreateSession(ctx, newSession("s5", "u2", future())))
	mustErr(t, "RotateSession to a taken ID", s.RotateSession(ctx, "s5", rotated), storage.ErrAlreadyExists)
	_, err = s.GetSession(ctx, "s5")
	must(t, "GetSession of the session a refused rotation kept", err)
	must(t, "RotateSession from nothing", s.RotateSession(ctx, "", newSession("s1n", "u2", future())))
	must(t, "RotateSession from absent", s.RotateSession(ctx, "nope", newSession("s1m", "u2", future())))
}
