package conformance

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func testPingClose(t *testing.T, s storage.Store) {
	must(t, "Ping", s.Ping(t.Context()))
	must(t, "Close", s.Close())
}

func newUser(id, username string) storage.User {
	created := base().Add(-time.Minute)
	return storage.User{
		ID:             id,
		Username:       username,
		Email:          username + "@example.com",
		Phone:          "+15550100",
		PasswordHash:   "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		Active:         true,
		Permissions:    []string{"manage_mfa"},
		Name:           "User " + username,
		UpstreamIssuer: "https://idp.example.com",
		UpstreamSub:    "upstream-" + id,
		CreatedAt:      created,
		UpdatedAt:      created,
	}
}

func testUsers(t *testing.T, s storage.Store) {
	ctx := t.Context()
	alice := newUser("u1", "alice")
	// A time in another zone comes back as the same instant in UTC.
	inZone := alice
	inZone.CreatedAt = alice.CreatedAt.In(time.FixedZone("X", 5*3600))
	must(t, "CreateUser alice", s.CreateUser(ctx, inZone))

	bigAlice := newUser("u2", "Alice") // usernames compare case-sensitively
	bigAlice.Permissions = nil
	bigAlice.Active = false
	bigAlice.PasswordHash = ""
	must(t, "CreateUser Alice", s.CreateUser(ctx, bigAlice))
	bob := newUser("u3", "bob")
	bob.Permissions = []string{}
	must(t, "CreateUser bob", s.CreateUser(ctx, bob))

	got, err := s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	mustEqual(t, "GetUser", got, alice)
	got, err = s.GetUserByUsername(ctx, "Alice")
	must(t, "GetUserByUsername", err)
	mustEqual(t, "GetUserByUsername", got, bigAlice)
	if got.HasPermission("manage_mfa") {
		t.Fatal("Alice has manage_mfa")
	}

	_, err = s.GetUser(ctx, "nobody")
	mustErr(t, "GetUser unknown", err, storage.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, "ALICE")
	mustErr(t, "GetUserByUsername unknown", err, storage.ErrNotFound)

	mustErr(t, "CreateUser same ID", s.CreateUser(ctx, newUser("u1", "carol")), storage.ErrAlreadyExists)
	mustErr(t, "CreateUser same username", s.CreateUser(ctx, newUser("u9", "alice")), storage.ErrAlreadyExists)
	_, err = s.GetUser(ctx, "u9")
	mustErr(t, "GetUser after failed create", err, storage.ErrNotFound)

	all, err := s.ListUsers(ctx)
	must(t, "ListUsers", err)
	mustEqual(t, "ListUsers", all, []storage.User{bigAlice, alice, bob})
}

// testUpstreamLink: a user is found by the account it is linked to at the
// upstream IdP; one upstream account links at most one user, by create or
// by update; unlinked users (an empty subject) never clash or match.
func testUpstreamLink(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const idp, other = "https://idp.example.com", "https://other.example.com"
	alice := newUser("u1", "alice") // linked to idp's upstream-u1
	must(t, "CreateUser alice", s.CreateUser(ctx, alice))
	local1, local2 := newUser("u2", "local1"), newUser("u3", "local2")
	local1.UpstreamIssuer, local1.UpstreamSub = "", ""
	local2.UpstreamIssuer, local2.UpstreamSub = "", ""
	must(t, "CreateUser unlinked", s.CreateUser(ctx, local1))
	must(t, "CreateUser second unlinked", s.CreateUser(ctx, local2))

	got, err := s.GetUserByUpstream(ctx, idp, "upstream-u1")
	must(t, "GetUserByUpstream", err)
	mustEqual(t, "GetUserByUpstream", got, alice)
	_, err = s.GetUserByUpstream(ctx, other, "upstream-u1")
	mustErr(t, "GetUserByUpstream at another issuer", err, storage.ErrNotFound)
	_, err = s.GetUserByUpstream(ctx, idp, "UPSTREAM-U1")
	mustErr(t, "GetUserByUpstream subjects compare exactly", err, storage.ErrNotFound)
	_, err = s.GetUserByUpstream(ctx, "", "")
	mustErr(t, "GetUserByUpstream empty", err, storage.ErrNotFound)

	// The same subject at another issuer is another account.
	elsewhere := newUser("u4", "alice-elsewhere")
	elsewhere.UpstreamIssuer, elsewhere.UpstreamSub = other, "upstream-u1"
	must(t, "CreateUser same subject, other issuer", s.CreateUser(ctx, elsewhere))

	taken := newUser("u5", "mallory")
	taken.UpstreamSub = "upstream-u1"
	mustErr(t, "CreateUser with a taken link", s.CreateUser(ctx, taken), storage.ErrAlreadyExists)
	_, err = s.GetUser(ctx, "u5")
	mustErr(t, "GetUser after refused link", err, storage.ErrNotFound)

	_, err = s.UpdateUser(ctx, "u2", func(u storage.User) (storage.User, error) {
		u.UpstreamIssuer, u.UpstreamSub = idp, "upstream-u1"
		return u, nil
	})
	mustErr(t, "UpdateUser to a taken link", err, storage.ErrAlreadyExists)
	linked, err := s.UpdateUser(ctx, "u2", func(u storage.User) (storage.User, error) {
		u.UpstreamIssuer, u.UpstreamSub = idp, "upstream-local1"
		return u, nil
	})
	must(t, "UpdateUser link", err)
	got, err = s.GetUserByUpstream(ctx, idp, "upstream-local1")
	must(t, "GetUserByUpstream after linking", err)
	mustEqual(t, "linked user", got, linked)
}

func testUpdateUser(t *testing.T, s storage.Store) {
	ctx := t.Context()
	alice := newUser("u1", "alice")
	must(t, "CreateUser", s.CreateUser(ctx, alice))
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u2", "bob")))

	want := alice
	want.Email = "new@example.com"
	want.Permissions = append(slices.Clone(alice.Permissions), "admin")
	want.UpdatedAt = base()
	want.Active = false
	got, err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		mustEqual(t, "UpdateUser fn input", u, alice)
		u.Email = want.Email
		u.Permissions = append(u.Permissions, "admin")
		u.UpdatedAt = want.UpdatedAt
		u.Active = false
		u.ID = "changed"                         // ignored
		u.CreatedAt = u.CreatedAt.Add(time.Hour) // ignored
		return u, nil
	})
	must(t, "UpdateUser", err)
	mustEqual(t, "UpdateUser result", got, want)
	got, err = s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	mustEqual(t, "GetUser after UpdateUser", got, want)
	_, err = s.GetUser(ctx, "changed")
	mustErr(t, "GetUser changed ID", err, storage.ErrNotFound)

	// Renaming works, and the old username is free again.
	want.Username = "alice2"
	_, err = s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.Username = "alice2"
		return u, nil
	})
	must(t, "UpdateUser rename", err)
	got, err = s.GetUserByUsername(ctx, "alice2")
	must(t, "GetUserByUsername renamed", err)
	mustEqual(t, "renamed user", got, want)
	_, err = s.GetUserByUsername(ctx, "alice")
	mustErr(t, "GetUserByUsername old name", err, storage.ErrNotFound)

	_, err = s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.Username = "bob"
		return u, nil
	})
	mustErr(t, "UpdateUser to a taken username", err, storage.ErrAlreadyExists)

	errStop := errors.New("stop")
	_, err = s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.Email = "discarded@example.com"
		return u, errStop
	})
	if err != errStop {
		t.Fatalf("UpdateUser fn error: got %v, want it unchanged", err)
	}
	got, err = s.GetUser(ctx, "u1")
	must(t, "GetUser", err)
	mustEqual(t, "user after aborted updates", got, want)

	called := false
	_, err = s.UpdateUser(ctx, "nobody", func(u storage.User) (storage.User, error) {
		called = true
		return u, nil
	})
	mustErr(t, "UpdateUser unknown", err, storage.ErrNotFound)
	if called {
		t.Fatal("UpdateUser called fn for an unknown user")
	}
}

// testUserWithItsEvent: a user is created with its audit event in one
// write; a creation refused as a duplicate writes neither.
func testUserWithItsEvent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	ev := func(userID string) storage.Event {
		return storage.Event{Time: base(), Type: "admin.user.create", Actor: "helpdesk", UserID: userID, Outcome: "success",
			Details: map[string]string{"permissions": "manage_mfa"}}
	}
	must(t, "CreateUser with its event", s.CreateUser(ctx, newUser("u-ev", "eve"), ev("u-ev")))
	got, err := s.ListEvents(ctx, storage.EventFilter{Type: "admin.user.create", Limit: 10})
	if err != nil || len(got) != 1 || got[0].UserID != "u-ev" || got[0].Details["permissions"] != "manage_mfa" {
		t.Fatalf("events after the creation: %+v, %v", got, err)
	}
	if err := s.CreateUser(ctx, newUser("u-ev2", "eve"), ev("u-ev2")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("second eve: %v, want ErrAlreadyExists", err)
	}
	if got, err := s.ListEvents(ctx, storage.EventFilter{Type: "admin.user.create", Limit: 10}); err != nil || len(got) != 1 {
		t.Fatalf("a refused creation wrote its event: %+v, %v", got, err)
	}
}

// testLookAlike: a user's Skeleton is stored and updated with it, and
// LookAlike finds the first other user with a skeleton, by the index.
func testLookAlike(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for _, u := range []storage.User{
		withSkeleton(newUser("u1", "coop"), "coop"),
		withSkeleton(newUser("u2", "modern"), "modern"),
		withSkeleton(newUser("u3", "rnodern"), "modern"),
		newUser("u4", "legacy"), // stored before skeletons: none
	} {
		must(t, "CreateUser", s.CreateUser(ctx, u))
	}
	got, err := s.GetUser(ctx, "u3")
	must(t, "GetUser", err)
	if got.Skeleton != "modern" {
		t.Fatalf("stored skeleton %q, want modern", got.Skeleton)
	}
	for _, tc := range []struct{ skeleton, except, want string }{
		{"coop", "", "coop"},
		{"coop", "coop", ""},
		{"modern", "", "modern"},
		{"modern", "modern", "rnodern"},
		{"alice", "", ""},
		{"", "", "legacy"}, // what FillSkeletons looks for
	} {
		name, err := s.LookAlike(ctx, tc.skeleton, tc.except)
		if tc.want == "" {
			mustErr(t, "LookAlike of "+tc.skeleton, err, storage.ErrNotFound)
			continue
		}
		if err != nil || name != tc.want {
			t.Errorf("LookAlike(%q, except %q) = %q, %v; want %q", tc.skeleton, tc.except, name, err, tc.want)
		}
	}
	_, err = s.UpdateUser(ctx, "u4", func(u storage.User) (storage.User, error) { u.Skeleton = "coop"; return u, nil })
	must(t, "UpdateUser of a skeleton", err)
	if name, err := s.LookAlike(ctx, "coop", "coop"); err != nil || name != "legacy" {
		t.Errorf("LookAlike after an update = %q, %v; want legacy", name, err)
	}
}

func withSkeleton(u storage.User, skeleton string) storage.User {
	u.Skeleton = skeleton
	return u
}
