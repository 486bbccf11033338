package provider_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/methods"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestMethodChangeAndItsEventAreOneWrite: a method plugin's change (here
// the TOTP plugin's, in its own process) is written in one transaction
// with the events the caller attached: when the store refuses the event,
// the credential is not saved (and not removed) either; when it takes
// it, both are there. Without the committing write the credential would
// be saved by the plugin before the event was even tried.
func TestMethodChangeAndItsEventAreOneWrite(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp"))
	u := env.AddUser(t, "alice", alicePassword)
	p, ok := env.Methods.Method("totp")
	if !ok {
		t.Fatal("no totp method")
	}
	ctx := t.Context()
	su := sdk.User{ID: u.ID, Username: u.Username, Email: u.Email}
	e, err := p.Enrol(ctx, sdk.EnrolRequest{User: su})
	if err != nil {
		t.Fatal(err)
	}
	secret := ""
	for _, d := range e.Displays {
		if l, err := url.Parse(d.Value); d.Kind == sdk.DisplayLink && err == nil && l.Scheme == "otpauth" {
			secret = l.Query().Get("secret")
		}
	}
	if secret == "" {
		t.Fatalf("no otpauth link in %+v", e.Displays)
	}
	refused := storage.Event{Type: "", UserID: u.ID, Actor: u.ID, Outcome: "success"} // an event needs a type
	added := storage.Event{Time: env.Clock.Now(), Type: "method.added", UserID: u.ID, Actor: u.ID, Outcome: "success"}
	confirm := func(ev storage.Event) (bool, error) {
		cctx, done := methods.WithEvents(ctx, func(sdk.Credential, map[string]string) []storage.Event { return []storage.Event{ev} })
		_, err := p.ConfirmEnrolment(cctx, sdk.ConfirmRequest{User: su, EnrolmentID: e.ID,
			Response: map[string]string{"code": testenv.TOTPCode(t, secret, env.Clock.Now())}})
		return done(), err
	}
	creds := func() []sdk.Credential {
		cs, err := p.ListCredentials(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	events := func(typ string) int {
		evs, err := env.Store.ListEvents(ctx, storage.EventFilter{UserID: u.ID, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	if done, err := confirm(refused); err == nil || done {
		t.Fatalf("confirm with an event the store refuses: done %v, %v; want an error", done, err)
	}
	if cs := creds(); len(cs) != 0 {
		t.Fatalf("the credential was saved without its event: %+v", cs)
	}
	if done, err := confirm(added); err != nil || !done {
		t.Fatalf("confirm with its event: done %v, %v", done, err)
	}
	cs := creds()
	if len(cs) != 1 || events("method.added") != 1 {
		t.Fatalf("after the confirmation: %+v, %d method.added events", cs, events("method.added"))
	}

	remove := func(ev storage.Event) (bool, error) {
		cctx, done := methods.WithEvents(ctx, func(sdk.Credential, map[string]string) []storage.Event { return []storage.Event{ev} })
		err := p.Remove(cctx, u.ID, cs[0].ID)
		return done(), err
	}
	if done, err := remove(refused); err == nil || done {
		t.Fatalf("remove with an event the store refuses: done %v, %v; want an error", done, err)
	}
	if len(creds()) != 1 {
		t.Fatal("the credential was removed without its event")
	}
	removed := storage.Event{Time: env.Clock.Now(), Type: "method.removed", UserID: u.ID, Actor: u.ID, Outcome: "success"}
	if done, err := remove(removed); err != nil || !done {
		t.Fatalf("remove with its event: done %v, %v", done, err)
	}
	if len(creds()) != 0 || events("method.removed") != 1 {
		t.Fatalf("after the removal: %+v, %d method.removed events", creds(), events("method.removed"))
	}
}

// TestTempCodeIssuedWithItsEvent: a temporary code is issued in one
// transaction with its event: when the store refuses the event, no code
// is active afterwards; with it, the code is active. (The failed issue's
// claim on the user's slot frees itself after 30 s, as that of a plugin
// that died mid-issue does.)
func TestTempCodeIssuedWithItsEvent(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("tempcode"))
	u := env.AddUser(t, "alice", alicePassword)
	p, ok := env.Methods.Method("tempcode")
	if !ok {
		t.Fatal("no tempcode method")
	}
	ctx := t.Context()
	su := sdk.User{ID: u.ID, Username: u.Username, Email: u.Email}
	issue := func(ev storage.Event) (map[string]string, bool, error) {
		cctx, done := methods.WithEvents(ctx, func(sdk.Credential, map[string]string) []storage.Event { return []storage.Event{ev} })
		out, err := p.Admin(cctx, sdk.AdminRequest{Action: "issue", User: su, Params: map[string]string{"ttl": "1h"}, Actor: "helpdesk"})
		return out, done(), err
	}
	active := func() string {
		out, err := p.Admin(ctx, sdk.AdminRequest{Action: "status", User: su})
		if err != nil {
			t.Fatal(err)
		}
		return out["active"]
	}
	if _, done, err := issue(storage.Event{Type: "", UserID: u.ID, Actor: "helpdesk"}); err == nil || done {
		t.Fatalf("issue with an event the store refuses: done %v, %v; want an error", done, err)
	}
	if a := active(); a != "false" {
		t.Fatalf("a code is active (%q) although its event was refused", a)
	}
	env.Clock.Advance(31 * time.Second)
	ev := storage.Event{Time: env.Clock.Now(), Type: "tempcode.issued", UserID: u.ID, Actor: "helpdesk", Outcome: "success"}
	out, done, err := issue(ev)
	if err != nil || !done || out["code"] == "" {
		t.Fatalf("issue with its event: %v, done %v, %v", out["expires_at"], done, err)
	}
	if a := active(); a != "true" {
		t.Fatalf("after the issue active = %q", a)
	}
	evs, err := env.Store.ListEvents(ctx, storage.EventFilter{UserID: u.ID, Type: "tempcode.issued"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("tempcode.issued events: %+v, %v", evs, err)
	}
}

// TestRecoveryCodeSpentWithItsEvent: a recovery code is spent in one
// transaction with its recovery.used event (and the user's email): when
// the store refuses the event, the code is not spent, and it still
// works with its event after.
func TestRecoveryCodeSpentWithItsEvent(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("recovery"))
	u := env.AddUser(t, "alice", alicePassword)
	p, ok := env.Methods.Method("recovery")
	if !ok {
		t.Fatal("no recovery method")
	}
	ctx := t.Context()
	su := sdk.User{ID: u.ID, Username: u.Username, Email: u.Email}
	e, err := p.Enrol(ctx, sdk.EnrolRequest{User: su})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, d := range e.Displays {
		if d.Kind == sdk.DisplayCodes {
			codes = append(codes, d.Values...)
		}
	}
	if len(codes) == 0 {
		t.Fatalf("no codes in %+v", e.Displays)
	}
	if _, err := p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: su, EnrolmentID: e.ID, Response: map[string]string{"saved": "on"}}); err != nil {
		t.Fatal(err)
	}
	verify := func(ev storage.Event) (bool, error) {
		ch, err := p.Begin(ctx, sdk.BeginRequest{User: su})
		if err != nil {
			t.Fatal(err)
		}
		vctx, done := methods.WithVerifyEvents(ctx, func(sdk.Result) []storage.Event { return []storage.Event{ev} })
		_, err = p.Verify(vctx, sdk.VerifyRequest{UserID: u.ID, ChallengeID: ch.ID, Response: map[string]string{"code": codes[0]}})
		return done(), err
	}
	if done, err := verify(storage.Event{Type: "", UserID: u.ID, Actor: u.ID}); err == nil || done {
		t.Fatalf("verify with an event the store refuses: done %v, %v; want an error", done, err)
	}
	used := storage.Event{Time: env.Clock.Now(), Type: "recovery.used", UserID: u.ID, Actor: u.ID, Outcome: "success"}
	if done, err := verify(used); err != nil || !done {
		t.Fatalf("the code after its refused spend: done %v, %v; want it accepted with its event", done, err)
	}
	if _, err := verify(used); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("the spent code again: %v, want ErrInvalidResponse", err)
	}
	evs, err := env.Store.ListEvents(ctx, storage.EventFilter{UserID: u.ID, Type: "recovery.used"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("recovery.used events: %+v, %v", evs, err)
	}
}
