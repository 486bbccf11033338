package tempcode

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// FuzzVerifyCode: whatever a person types as the temporary code, Verify
// accepts it exactly when, without the spaces, dashes and tabs that group
// digits, it is the code issued; anything else is the one
// sdk.ErrInvalidResponse, never another error.
func FuzzVerifyCode(f *testing.F) {
	ctx := context.Background()
	clock := hosttest.NewClock(t0)
	key := make([]byte, host.KeySize)
	_, _ = rand.Read(key)
	h, err := host.NewLocalHost(Name, hosttest.NewMemory(), key, clock.Now)
	if err != nil {
		f.Fatal(err)
	}
	m := New()
	if err := m.(sdk.Configurable).Configure(map[string]string{"verify_limit": "1000000"}); err != nil {
		f.Fatal(err)
	}
	u := sdk.User{ID: "user-1", Username: "alice"}
	res, err := m.Admin(ctx, h, sdk.AdminRequest{Action: ActionIssue, User: u, Params: map[string]string{"ttl": "24h", "actor": "admin:helpdesk"}})
	if err != nil || res["code"] == "" {
		f.Fatalf("issue: %v %v", err, res)
	}
	code := res["code"]
	for _, s := range []string{code, code[:4] + " " + code[4:], code[:4] + "-" + code[4:], code + "0", code[1:], "", "\xff", strings.Repeat(" ", 60) + code, strings.Repeat(" ", 70) + code, "00000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		ch, err := m.Begin(ctx, h, sdk.BeginRequest{User: u})
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Verify(ctx, h, sdk.VerifyRequest{UserID: u.ID, ChallengeID: ch.ID, Response: map[string]string{"code": typed}})
		right := len(typed) <= 64 && strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(typed) == code
		switch {
		case err == nil && !right:
			t.Fatalf("Verify accepted %q for the code %s", typed, code)
		case err != nil && !errors.Is(err, sdk.ErrInvalidResponse):
			t.Fatalf("Verify(%.80q): %v, want sdk.ErrInvalidResponse", typed, err)
		case err != nil && right:
			t.Fatalf("Verify refused %q, the code issued", typed)
		}
	})
}
