package admin_test

import (
	"errors"
	"testing"

	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// TestFillSkeletons: a user stored before usernames had their look-alike
// form is not seen by the check until FillSkeletons gives it its form;
// then a look-alike of it is refused, and filling again writes nothing.
func TestFillSkeletons(t *testing.T) {
	svc := newService(t, nil)
	ctx := t.Context()
	legacy := storage.User{ID: "u-legacy", Username: "coop", Active: true, CreatedAt: start, UpdatedAt: start}
	if err := svc.Store.CreateUser(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Store.LookAlike(ctx, "coop", ""); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a user without its form was found by it: %v", err)
	}
	if n, err := admin.FillSkeletons(ctx, svc.Store); err != nil || n != 1 {
		t.Fatalf("FillSkeletons = %d, %v; want the one legacy user", n, err)
	}
	if _, err := svc.CreateUser(ctx, admin.NewUser{Username: "соор"}); !errors.Is(err, admin.ErrConflict) {
		t.Fatalf("a Cyrillic look-alike of a filled user: %v, want ErrConflict", err)
	}
	if n, err := admin.FillSkeletons(ctx, svc.Store); err != nil || n != 0 {
		t.Fatalf("FillSkeletons again = %d, %v; want none", n, err)
	}
	if u, err := svc.Store.GetUser(ctx, "u-legacy"); err != nil || u.Username != "coop" || !u.UpdatedAt.Equal(start) {
		t.Fatalf("the filled user: %+v, %v; want it otherwise unchanged", u, err)
	}
}
