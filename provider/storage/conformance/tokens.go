package conformance

import (
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func newRefreshToken(hash, userID, clientID string, expires time.Time) storage.RefreshToken {
	return storage.RefreshToken{
		Hash:      hash,
		ID:        "rt-" + hash,
		ClientID:  clientID,
		UserID:    userID,
		Scopes:    []string{"openid", "offline_access"},
		Audience:  []string{clientID},
		ACR:       "mfa",
		AMR:       []string{"pwd", "otp"},
		AuthTime:  base().Add(-time.Minute),
		CreatedAt: base(),
		ExpiresAt: expires,
	}
}

func newAccessToken(id, userID, clientID string, expires time.Time) storage.AccessToken {
	return storage.AccessToken{
		ID:             id,
		ClientID:       clientID,
		UserID:         userID,
		Scopes:         []string{"openid"},
		Audience:       []string{clientID, "api"},
		ACR:            "mfa",
		AMR:            []string{"pwd", "otp"},
		AuthTime:       base().Add(-time.Minute),
		RefreshTokenID: "rt-1",
		CreatedAt:      base(),
		ExpiresAt:      expires,
	}
}

func testRefreshTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	rt := newRefreshToken("h1", "u1", "c1", future())
	at := newAccessToken("at1", "u1", "c1", future())
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt, &at))
	got, err := s.GetRefreshToken(ctx, "h1")
	must(t, "GetRefreshToken", err)
	mustEqual(t, "GetRefreshToken", got, rt)
	gotAT, err := s.GetAccessToken(ctx, "at1")
	must(t, "GetAccessToken", err)
	mustEqual(t, "GetAccessToken", gotAT, at)

	mustErr(t, "CreateRefreshToken duplicate hash", s.CreateRefreshToken(ctx, rt, nil), storage.ErrAlreadyExists)
	// The pair is stored in one transaction: a taken access token ID
	// leaves no refresh token behind.
	rt2 := newRefreshToken("h2", "u1", "c1", future())
	mustErr(t, "CreateRefreshToken with a taken access token ID", s.CreateRefreshToken(ctx, rt2, &at), storage.ErrAlreadyExists)
	_, err = s.GetRefreshToken(ctx, "h2")
	mustErr(t, "GetRefreshToken after failed create", err, storage.ErrNotFound)

	// Without an access token; empty slices survive.
	rt3 := newRefreshToken("h3", "u1", "c1", time.Time{})
	rt3.Scopes, rt3.AMR, rt3.Audience, rt3.AuthTime = []string{}, nil, nil, time.Time{}
	must(t, "CreateRefreshToken without access token", s.CreateRefreshToken(ctx, rt3, nil))
	got, err = s.GetRefreshToken(ctx, "h3")
	must(t, "GetRefreshToken", err)
	mustEqual(t, "GetRefreshToken without expiry", got, rt3)

	_, err = s.GetRefreshToken(ctx, "nope")
	mustErr(t, "GetRefreshToken unknown", err, storage.ErrNotFound)
	// A deactivated user's tokens are not live, and are again once active.
	setActive := func(active bool) {
		_, err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) { u.Active = active; return u, nil })
		must(t, "UpdateUser", err)
	}
	setActive(false)
	_, err = s.GetRefreshToken(ctx, "h1")
	mustErr(t, "GetRefreshToken of an inactive user", err, storage.ErrNotFound)
	setActive(true)
	_, err = s.GetRefreshToken(ctx, "h1")
	must(t, "GetRefreshToken of a reactivated user", err)
	must(t, "CreateRefreshToken expired", s.CreateRefreshToken(ctx, newRefreshToken("h4", "u1", "c1", past()), nil))
	_, err = s.GetRefreshToken(ctx, "h4")
	mustErr(t, "GetRefreshToken expired", err, storage.ErrNotFound)

	must(t, "DeleteRefreshToken", s.DeleteRefreshToken(ctx, "h1"))
	_, err = s.GetRefreshToken(ctx, "h1")
	mustErr(t, "GetRefreshToken deleted", err, storage.ErrNotFound)
	must(t, "DeleteRefreshToken absent", s.DeleteRefreshToken(ctx, "h1"))
	_, err = s.GetAccessToken(ctx, "at1")
	must(t, "GetAccessToken after its refresh token was deleted", err)
}

func testRotateRefreshToken(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	old := newRefreshToken("h1", "u1", "c1", future())
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, old, nil))

	next := newRefreshToken("h2", "u1", "c1", future())
	next.ID = old.ID // the public ID may stay stable across rotations
	at := newAccessToken("at2", "u1", "c1", future())
	must(t, "RotateRefreshToken", s.RotateRefreshToken(ctx, "h1", next, &at))
	_, err := s.GetRefreshToken(ctx, "h1")
	mustErr(t, "GetRefreshToken rotated away", err, storage.ErrNotFound)
	got, err := s.GetRefreshToken(ctx, "h2")
	must(t, "GetRefreshToken rotated to", err)
	mustEqual(t, "GetRefreshToken rotated to", got, next)
	gotAT, err := s.GetAccessToken(ctx, "at2")
	must(t, "GetAccessToken issued at rotation", err)
	mustEqual(t, "GetAccessToken issued at rotation", gotAT, at)

	mustErr(t, "RotateRefreshToken replayed", s.RotateRefreshToken(ctx, "h1", newRefreshToken("h3", "u1", "c1", future()), nil), storage.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, "h3")
	mustErr(t, "GetRefreshToken of a refused rotation", err, storage.ErrNotFound)
	mustErr(t, "RotateRefreshToken unknown", s.RotateRefreshToken(ctx, "nope", newRefreshToken("h3", "u1", "c1", future()), nil), storage.ErrNotFound)

	must(t, "CreateRefreshToken expired", s.CreateRefreshToken(ctx, newRefreshToken("h5", "u1", "c1", past()), nil))
	mustErr(t, "RotateRefreshToken expired", s.RotateRefreshToken(ctx, "h5", newRefreshToken("h6", "u1", "c1", future()), nil), storage.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, "h6")
	mustErr(t, "GetRefreshToken of a refused rotation", err, storage.ErrNotFound)

	// A collision rolls the whole rotation back: the old token survives.
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, newRefreshToken("h7", "u1", "c1", future()), nil))
	mustErr(t, "RotateRefreshToken onto a taken hash", s.RotateRefreshToken(ctx, "h2", newRefreshToken("h7", "u1", "c1", future()), nil), storage.ErrAlreadyExists)
	_, err = s.GetRefreshToken(ctx, "h2")
	must(t, "GetRefreshToken after failed rotation", err)
	at2 := newAccessToken("at2", "u1", "c1", future())
	mustErr(t, "RotateRefreshToken with a taken access token ID", s.RotateRefreshToken(ctx, "h2", newRefreshToken("h8", "u1", "c1", future()), &at2), storage.ErrAlreadyExists)
	_, err = s.GetRefreshToken(ctx, "h2")
	must(t, "GetRefreshToken after failed rotation", err)
	_, err = s.GetRefreshToken(ctx, "h8")
	mustErr(t, "GetRefreshToken of a failed rotation", err, storage.ErrNotFound)
}

func testAccessTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	at := newAccessToken("at1", "u1", "c1", future())
	must(t, "CreateAccessToken", s.CreateAccessToken(ctx, at))
	mustErr(t, "CreateAccessToken duplicate", s.CreateAccessToken(ctx, at), storage.ErrAlreadyExists)
	got, err := s.GetAccessToken(ctx, "at1")
	must(t, "GetAccessToken", err)
	mustEqual(t, "GetAccessToken", got, at)

	cc := storage.AccessToken{ID: "at-cc", ClientID: "c1", Scopes: []string{"api"}, CreatedAt: base(), ExpiresAt: future()}
	must(t, "CreateAccessToken client credentials", s.CreateAccessToken(ctx, cc))
	got, err = s.GetAccessToken(ctx, "at-cc")
	must(t, "GetAccessToken client credentials", err)
	mustEqual(t, "GetAccessToken client credentials", got, cc)

	_, err = s.GetAccessToken(ctx, "nope")
	mustErr(t, "GetAccessToken unknown", err, storage.ErrNotFound)
	must(t, "CreateAccessToken expired", s.CreateAccessToken(ctx, newAccessToken("at2", "u1", "c1", past())))
	_, err = s.GetAccessToken(ctx, "at2")
	mustErr(t, "GetAccessToken expired", err, storage.ErrNotFound)

	must(t, "DeleteAccessToken", s.DeleteAccessToken(ctx, "at1"))
	_, err = s.GetAccessToken(ctx, "at1")
	mustErr(t, "GetAccessToken revoked", err, storage.ErrNotFound)
	must(t, "DeleteAccessToken absent", s.DeleteAccessToken(ctx, "at1"))
}

func testDeleteUserTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u2", "bob")))
	for _, tok := range []struct {
		rt storage.RefreshToken
		at *storage.AccessToken
	}{
		{newRefreshToken("u1-c1", "u1", "c1", future()), &storage.AccessToken{}},
		{newRefreshToken("u1-c2", "u1", "c2", future()), &storage.AccessToken{}},
		{newRefreshToken("u1-c1-old", "u1", "c1", past()), nil},
		{newRefreshToken("u2-c1", "u2", "c1", future()), &storage.AccessToken{}},
	} {
		if tok.at != nil {
			*tok.at = newAccessToken("at-"+tok.rt.Hash, tok.rt.UserID, tok.rt.ClientID, future())
		}
		must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, tok.rt, tok.at))
	}
	must(t, "CreateAccessToken expired", s.CreateAccessToken(ctx, newAccessToken("at-u1-c1-old", "u1", "c1", past())))

	n, err := s.DeleteUserTokens(ctx, "u1", "c1")
	must(t, "DeleteUserTokens u1 c1", err)
	if n != 2 {
		t.Fatalf("DeleteUserTokens(u1, c1) = %d, want 2 live tokens", n)
	}
	_, err = s.GetRefreshToken(ctx, "u1-c1")
	mustErr(t, "GetRefreshToken revoked", err, storage.ErrNotFound)
	_, err = s.GetAccessToken(ctx, "at-u1-c1")
	mustErr(t, "GetAccessToken revoked", err, storage.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, "u1-c2")
	must(t, "GetRefreshToken of another client", err)

	n, err = s.DeleteUserTokens(ctx, "u1", "")
	must(t, "DeleteUserTokens u1", err)
	if n != 2 {
		t.Fatalf("DeleteUserTokens(u1) = %d, want 2 live tokens", n)
	}
	_, err = s.GetRefreshToken(ctx, "u1-c2")
	mustErr(t, "GetRefreshToken revoked", err, storage.ErrNotFound)
	_, err = s.GetAccessToken(ctx, "at-u1-c2")
	mustErr(t, "GetAccessToken revoked", err, storage.ErrNotFound)

	_, err = s.GetRefreshToken(ctx, "u2-c1")
	must(t, "GetRefreshToken of another user", err)
	_, err = s.GetAccessToken(ctx, "at-u2-c1")
	must(t, "GetAccessToken of another user", err)
	n, err = s.DeleteUserTokens(ctx, "u1", "")
	must(t, "DeleteUserTokens again", err)
	if n != 0 {
		t.Fatalf("DeleteUserTokens again = %d, want 0", n)
	}
}
