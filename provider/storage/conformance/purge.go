package conformance

import (
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func testPurgeExpired(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := base()
	long := now.Add(-24 * time.Hour) // the KV calls' own clock
	// One expired row of each kind that expires, plus a live one.
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar-old", past())))
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("ar-new", future())))
	must(t, "SaveLogin of a new session", createSession(ctx, s, newSession("s-old", "u1", past())))
	must(t, "SaveLogin of a new session", createSession(ctx, s, newSession("s-new", "u1", future())))
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, newRefreshToken("h-old", "u1", "c1", past()), nil))
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, newRefreshToken("h-new", "u1", "c1", future()), nil))
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, newRefreshToken("h-forever", "u1", "c1", time.Time{}), nil))
	must(t, "CreateAccessToken", s.CreateAccessToken(ctx, newAccessToken("at-old", "u1", "c1", past())))
	must(t, "CreateAccessToken", s.CreateAccessToken(ctx, newAccessToken("at-new", "u1", "c1", future())))
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, storage.SigningKey{ID: "k-old", Algorithm: "ES256", CreatedAt: base(), RetiredAt: base(), ExpiresAt: past()}))
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, storage.SigningKey{ID: "k-retired", Algorithm: "ES256", CreatedAt: base(), RetiredAt: base(), ExpiresAt: future()}))
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, storage.SigningKey{ID: "k-active", Algorithm: "ES256", CreatedAt: base()}))
	_, err := s.CountEvent(ctx, "rate-old", time.Minute, 10, now.Add(-time.Hour))
	must(t, "CountEvent", err)
	_, err = s.CountEvent(ctx, "rate-new", time.Hour, 10, now)
	must(t, "CountEvent", err)
	_, err = s.KVPut(ctx, "ns", "kv-old", []byte("v"), 0, now.Add(-time.Hour), long)
	must(t, "KVPut", err)
	_, err = s.KVPut(ctx, "ns", "kv-new", []byte("v"), 0, now.Add(time.Hour), long)
	must(t, "KVPut", err)
	_, err = s.KVPut(ctx, "ns", "kv-forever", []byte("v"), 0, time.Time{}, long)
	must(t, "KVPut", err)
	must(t, "AppendEvent", s.AppendEvent(ctx, storage.Event{Time: long, Type: "old.event"}))
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	// A redemption's record and its access token, both live for an hour.
	redeem(t, s, "ar-redeemed", future(), nil, newAccessToken("at-redeemed", "u1", "c1", future()))

	n, err := s.PurgeExpired(ctx, now)
	must(t, "PurgeExpired", err)
	if n != 7 {
		t.Fatalf("PurgeExpired removed %d rows, want 7 (one expired row of each kind)", n)
	}
	n, err = s.PurgeExpired(ctx, now)
	must(t, "PurgeExpired again", err)
	if n != 0 {
		t.Fatalf("PurgeExpired again removed %d rows, want 0", n)
	}

	_, err = s.GetAuthRequest(ctx, "ar-new")
	must(t, "GetAuthRequest live", err)
	_, _, err = s.RevokeCodeGrant(ctx, "ar-redeemed")
	must(t, "RevokeCodeGrant of a live record", err)
	_, err = s.GetSession(ctx, "s-new")
	must(t, "GetSession live", err)
	for _, h := range []string{"h-new", "h-forever"} {
		_, err = s.GetRefreshToken(ctx, h)
		must(t, "GetRefreshToken live", err)
	}
	_, err = s.GetAccessToken(ctx, "at-new")
	must(t, "GetAccessToken live", err)
	keys, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	if len(keys) != 2 {
		t.Fatalf("ListSigningKeys after purge has %d keys, want 2", len(keys))
	}
	for _, k := range []string{"kv-new", "kv-forever"} {
		_, err = s.KVGet(ctx, "ns", k, now)
		must(t, "KVGet live", err)
	}
	// The live rate event still counts.
	r, err := s.CountEvent(ctx, "rate-new", time.Hour, 10, now)
	must(t, "CountEvent", err)
	if r.Count != 2 {
		t.Fatalf("CountEvent after purge counted %d, want 2", r.Count)
	}
	// Users and audit events never expire.
	_, err = s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	evs, err := s.ListEvents(ctx, storage.EventFilter{})
	must(t, "ListEvents", err)
	if len(evs) != 1 {
		t.Fatalf("ListEvents after purge has %d events, want 1", len(evs))
	}
	// A purge at a later time takes the rows that will have expired by then.
	n, err = s.PurgeExpired(ctx, now.Add(2*time.Hour))
	must(t, "PurgeExpired later", err)
	if n != 9 {
		t.Fatalf("PurgeExpired later removed %d rows, want 9 (the redemption's record among them)", n)
	}
	// The record went with the purge, though the store's clock still
	// finds it live.
	_, err = s.GetRedeemedCode(ctx, "ar-redeemed")
	mustErr(t, "GetRedeemedCode of a purged record", err, storage.ErrNotFound)
}
