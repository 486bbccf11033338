package admin_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

var start = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// fakeMethod is a method that answers its admin action with err.
type fakeMethod struct {
	actions []sdk.AdminAction
	err     error
	removed []string
}

func (f *fakeMethod) Name() string               { return "fake" }
func (f *fakeMethod) Actions() []sdk.AdminAction { return f.actions }
func (f *fakeMethod) NeedsEnrolment() bool       { return true }
func (f *fakeMethod) Admin(context.Context, sdk.AdminRequest) (map[string]string, error) {
	return map[string]string{"code": "123456"}, f.err
}
func (f *fakeMethod) ListCredentials(context.Context, string) ([]sdk.Credential, error) {
	return []sdk.Credential{{ID: "c1", Label: "phone", CreatedAt: start}}, nil
}
func (f *fakeMethod) Remove(_ context.Context, _, id string) error {
	if id != "c1" {
		return sdk.ErrNotFound
	}
	f.removed = append(f.removed, id)
	return nil
}

// newService is a Service on a fresh SQLite store with a fixed clock,
// as the offline command has it.
func newService(t *testing.T, m *fakeMethod) *admin.Service {
	t.Helper()
	now := func() time.Time { return start }
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stepup.db"), storage.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := &admin.Service{Store: st, Now: now}
	if m != nil {
		svc.Methods = []admin.Method{m}
	}
	return svc
}

func TestCreateUserRefusals(t *testing.T) {
	svc := newService(t, nil)
	if _, err := svc.CreateUser(t.Context(), admin.NewUser{Username: "coop"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		nu   admin.NewUser
		want *admin.Error
	}{
		{"bad name", admin.NewUser{Username: "-x-"}, admin.ErrInvalid},
		{"unknown permission", admin.NewUser{Username: "ann", Permissions: []string{"root"}}, admin.ErrInvalid},
		{"short password", admin.NewUser{Username: "ann", Password: "short"}, admin.ErrInvalid},
		{"same name", admin.NewUser{Username: "COOP"}, admin.ErrConflict},
		{"look-alike", admin.NewUser{Username: "соор"}, admin.ErrConflict},
	} {
		_, err := svc.CreateUser(t.Context(), tc.nu)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want kind %s", tc.name, err, tc.want.Kind)
		}
	}
	if _, err := svc.UserByName(t.Context(), "nobody"); !errors.Is(err, admin.ErrNotFound) || err.Error() != `no user "nobody"` {
		t.Errorf("UserByName(nobody) = %v, want NotFound `no user \"nobody\"`", err)
	}
}

// TestSetActiveOffline deactivates on the store alone, as the command
// does: the user is inactive and their tokens are gone.
func TestSetActiveOffline(t *testing.T) {
	svc := newService(t, nil)
	ctx := t.Context()
	u, err := svc.CreateUser(ctx, admin.NewUser{Username: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	at := storage.AccessToken{ID: "at1", ClientID: "rp", UserID: u.ID, CreatedAt: start, ExpiresAt: start.Add(time.Hour)}
	if err := svc.Store.CreateAccessToken(ctx, at); err != nil {
		t.Fatal(err)
	}
	u, err = svc.SetActive(ctx, u.ID, false)
	if err != nil || u.Active {
		t.Fatalf("SetActive(false) = %+v, %v", u, err)
	}
	if _, err := svc.Store.GetAccessToken(ctx, "at1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the token outlived the deactivation: %v", err)
	}
	if u, err = svc.SetActive(ctx, u.ID, true); err != nil || !u.Active {
		t.Errorf("SetActive(true) = %+v, %v", u, err)
	}
}

func TestRunActionRefusals(t *testing.T) {
	action := sdk.AdminAction{Name: "issue", NotForSelf: true, ActiveUserOnly: true}
	m := &fakeMethod{actions: []sdk.AdminAction{action}}
	svc := newService(t, m)
	u := storage.User{ID: "u1", Username: "ann", Active: true}
	a := svc.Actions()[0]

	if _, err := svc.RunAction(t.Context(), admin.Actor{Name: "ann", UserID: "u1"}, a, u, nil, false); !errors.Is(err, admin.ErrForbidden) {
		t.Errorf("for oneself: %v, want Forbidden", err)
	}
	if _, err := svc.RunAction(t.Context(), admin.Actor{Name: "break-glass"}, a, u, nil, true); err != nil {
		t.Errorf("break-glass for oneself: %v", err)
	}
	inactive := u
	inactive.Active = false
	if _, err := svc.RunAction(t.Context(), admin.Actor{Name: "bob", UserID: "u2"}, a, inactive, nil, false); !errors.Is(err, admin.ErrConflict) {
		t.Errorf("inactive user: %v, want Conflict", err)
	}

	m.err = sdk.RateLimited(start.Add(90 * time.Second))
	_, err := svc.RunAction(t.Context(), admin.Actor{Name: "bob", UserID: "u2"}, a, u, nil, false)
	e, ok := admin.AsError(err)
	if !ok || e.Kind != admin.RateLimited || e.RetryAfter != 91*time.Second {
		t.Errorf("rate limited: %#v, want RateLimited with RetryAfter 91s", err)
	}

	m.err = errors.New("connection refused")
	if _, err := svc.RunAction(t.Context(), admin.Actor{Name: "bob", UserID: "u2"}, a, u, nil, false); !errors.Is(err, admin.ErrUnavailable) {
		t.Errorf("method down: %v, want Unavailable", err)
	}
}

func TestDisconnect(t *testing.T) {
	m := &fakeMethod{}
	svc := newService(t, m)
	u := storage.User{ID: "u1", Username: "ann"}
	creds, err := svc.Credentials(t.Context(), u.ID)
	if err != nil || len(creds) != 1 || creds[0].ID != "fake:c1" {
		t.Fatalf("Credentials = %+v, %v", creds, err)
	}
	for _, id := range []string{"nomethod:c1", "fake", "fake:c2"} {
		if err := svc.Disconnect(t.Context(), u, id, false); !errors.Is(err, admin.ErrNotFound) {
			t.Errorf("Disconnect(%s) = %v, want NotFound", id, err)
		}
	}
	if err := svc.Disconnect(t.Context(), u, "fake:c1", true); err != nil || len(m.removed) != 1 {
		t.Errorf("Disconnect(fake:c1) = %v, removed %v", err, m.removed)
	}
}
