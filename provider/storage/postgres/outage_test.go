package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/postgres"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestOutageIsUnavailable: whatever way the database goes away (a fast
// shutdown, the postmaster killed, the pool closed), every store method
// answers an error that is storage.ErrUnavailable, never ErrNotFound or
// ErrConflict (a verdict) nor a bare driver error; and the store answers
// again by itself once the database is back. The answers of a database
// that is there keep their kinds.
func TestOutageIsUnavailable(t *testing.T) {
	pg := testenv.NewPGCluster(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	n := 0
	newUser := func() storage.User {
		n++
		return storage.User{ID: "u" + string(rune('a'+n)), Username: "user" + string(rune('a'+n)), Active: true, CreatedAt: now}
	}
	if err := s.CreateUser(ctx, newUser()); err != nil {
		t.Fatal(err)
	}
	// A database that answers: its verdicts keep their kinds.
	if _, err := s.GetUser(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("GetUser of nobody: %v", err)
	}
	if err := s.CreateUser(ctx, storage.User{ID: "ub", Username: "userb", CreatedAt: now}); !errors.Is(err, storage.ErrAlreadyExists) || errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("CreateUser of a taken name: %v", err)
	}

	calls := map[string]func() error{
		"Ping":       func() error { return s.Ping(ctx) },
		"GetUser":    func() error { _, err := s.GetUser(ctx, "ub"); return err },
		"ListUsers":  func() error { _, err := s.ListUsers(ctx); return err },
		"CreateUser": func() error { return s.CreateUser(ctx, newUser(), storage.Event{Type: "admin.user.create", Time: now}) },
		"UpdateUser": func() error {
			_, err := s.UpdateUser(ctx, "ub", func(u storage.User) (storage.User, error) { u.Email = "b@example.com"; return u, nil })
			return err
		},
		"GetAuthRequest": func() error { _, err := s.GetAuthRequest(ctx, "ar"); return err },
		"RedeemAuthRequest": func() error {
			return s.RedeemAuthRequest(ctx, "ar", nil, storage.AccessToken{ID: "at", ExpiresAt: now.Add(time.Hour)})
		},
		"GetSessionUser":  func() error { _, _, err := s.GetSessionUser(ctx, "sess"); return err },
		"GetRefreshToken": func() error { _, err := s.GetRefreshToken(ctx, "hash"); return err },
		"GetAccessToken":  func() error { _, err := s.GetAccessToken(ctx, "at"); return err },
		"ListSigningKeys": func() error { _, err := s.ListSigningKeys(ctx); return err },
		"AppendEvent":     func() error { return s.AppendEvent(ctx, storage.Event{Type: "x", Time: now}) },
		"ListEvents":      func() error { _, err := s.ListEvents(ctx, storage.EventFilter{}); return err },
		"CountEvent":      func() error { _, err := s.CountEvent(ctx, "k", time.Hour, 5, now); return err },
		"RecordFailure":   func() error { _, err := s.RecordFailure(ctx, "k", 5, time.Hour, now); return err },
		"KVGet":           func() error { _, err := s.KVGet(ctx, "ns", "k", now); return err },
		"KVPut":           func() error { _, err := s.KVPut(ctx, "ns", "k", []byte("v"), 0, time.Time{}, now); return err },
		"PurgeExpired":    func() error { _, err := s.PurgeExpired(ctx, now); return err },
	}
	allUnavailable := func(how string) {
		t.Helper()
		for name, call := range calls {
			if err := call(); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("%s, %s: %v, want storage.ErrUnavailable", how, name, err)
			}
		}
	}
	answersAgain := func(how string) {
		t.Helper()
		testenv.Eventually(t, "the store to answer after "+how, func() bool { return s.Ping(ctx) == nil })
		if _, err := s.GetUser(ctx, "ub"); err != nil {
			t.Fatalf("after %s: GetUser: %v", how, err)
		}
		if err := s.CreateUser(ctx, newUser()); err != nil {
			t.Fatalf("after %s: CreateUser: %v", how, err)
		}
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	allUnavailable("stopped")
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	answersAgain("a restart")

	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	allUnavailable("killed")
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	answersAgain("a kill")

	s.Close()
	allUnavailable("closed")
}
