package totp

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// FuzzVerifyCode: whatever a person types as the code, Verify accepts it
// only when, without the spaces, dashes and tabs that group digits, it is
// the code of a time step in the window (and after the last one used);
// anything else is the one sdk.ErrInvalidResponse, never another error
// (which the provider would read as the method being down).
func FuzzVerifyCode(f *testing.F) {
	ctx := context.Background()
	clock := hosttest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	key := make([]byte, host.KeySize)
	_, _ = rand.Read(key)
	h, err := host.NewLocalHost("totp", hosttest.NewMemory(), key, clock.Now)
	if err != nil {
		f.Fatal(err)
	}
	m := New()
	if err := m.(sdk.Configurable).Configure(map[string]string{"verify_limit": "1000000000"}); err != nil {
		f.Fatal(err)
	}
	u := sdk.User{ID: "user-1", Username: "alice"}
	e, err := m.Enrol(ctx, h, sdk.EnrolRequest{User: u})
	if err != nil {
		f.Fatal(err)
	}
	secret := displayed(e, sdk.DisplaySecret).Value
	now, _ := CodeAt(secret, step(clock.Now()))
	if _, err := m.ConfirmEnrolment(ctx, h, sdk.ConfirmRequest{User: u, EnrolmentID: e.ID, Response: map[string]string{"code": now}}); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{now, "123 456", "12-34-56", "\t123456\t", "1234567", "12345", "", "\xff", "１２３４５６", strings.Repeat("1", 5000), "0x1234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		clock.Advance(2 * time.Minute) // a fresh step each time, well past the last used
		cur := step(clock.Now())
		valid := map[string]bool{}
		for s := cur - Skew; s <= cur+Skew; s++ {
			c, err := CodeAt(secret, s)
			if err != nil {
				t.Fatal(err)
			}
			valid[c] = true
		}
		ch, err := m.Begin(ctx, h, sdk.BeginRequest{User: u})
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Verify(ctx, h, sdk.VerifyRequest{UserID: u.ID, ChallengeID: ch.ID, Response: map[string]string{"code": typed}})
		bare := strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(typed)
		switch {
		case err == nil && !valid[bare]:
			t.Fatalf("Verify accepted %q, not a code of the window", typed)
		case err != nil && !errors.Is(err, sdk.ErrInvalidResponse):
			t.Fatalf("Verify(%.80q): %v, want sdk.ErrInvalidResponse", typed, err)
		case err != nil && valid[bare]:
			t.Fatalf("Verify refused %q, the code of the window", typed)
		}
	})
}
