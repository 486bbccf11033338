package web

import (
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func TestActivity(t *testing.T) {
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	names := map[string]string{"totp": "Authenticator app", "webauthn": "Security key", "recovery": "Recovery codes",
		"sms": "Text message (SMS)", "email": "Code by email"}
	method := func(n string) string {
		if d, ok := names[n]; ok {
			return d
		}
		return n
	}
	for _, tc := range []struct {
		e    storage.Event
		want string
	}{
		{storage.Event{Type: "verification.succeeded", RemoteAddr: "127.0.0.1", Time: now.Add(-5 * time.Minute), Details: map[string]string{"method": "webauthn"}},
			"Signed in with a security key, from 127.0.0.1, 5 minutes ago"},
		{storage.Event{Type: "verification.succeeded", RemoteAddr: "127.0.0.1", Time: now.Add(-5 * time.Minute), Details: map[string]string{"method": "totp"}},
			"Signed in with an authenticator app, from 127.0.0.1, 5 minutes ago"},
		{storage.Event{Type: "login.password.succeeded", Time: now.Add(-20 * time.Second)}, "Signed in with your password, just now"},
		{storage.Event{Type: "method.added", Time: now.Add(-time.Hour), Details: map[string]string{"method": "recovery"}}, "Added recovery codes, 1 hour ago"},
		{storage.Event{Type: "method.removed", Time: now.Add(-49 * time.Hour), Details: map[string]string{"method": "sms"}}, "Removed a text message (SMS), 2 days ago"},
		{storage.Event{Type: "verification.failed", RemoteAddr: "::1", Time: now.Add(-3 * time.Hour), Details: map[string]string{"method": "email"}},
			"A sign-in with a code by email failed, from ::1, 3 hours ago"},
		{storage.Event{Type: "login.completed", ClientID: "demo-app", Time: now.Add(-40 * 24 * time.Hour), Details: map[string]string{"acr": "aal2"}},
			"Signed in to demo-app at level aal2, on 22 March 2030"},
		{storage.Event{Type: "recovery.used", Time: now.Add(-2 * time.Minute)}, "Recovery codes: used, 2 minutes ago"},
		{storage.Event{Type: "something.new_thing", Time: now}, "Something new thing, just now"},
	} {
		if got := Activity(tc.e, now, method); got != tc.want {
			t.Errorf("Activity(%s) = %q, want %q", tc.e.Type, got, tc.want)
		}
	}
}

func TestWithArticle(t *testing.T) {
	for in, want := range map[string]string{"Authenticator app": "an authenticator app", "SMS code": "an SMS code",
		"PIN": "a PIN", "Recovery codes": "recovery codes", "Security key": "a security key", "Passkey": "a passkey", "": ""} {
		if got := withArticle(in); got != want {
			t.Errorf("withArticle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHelpDeskActivity(t *testing.T) {
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	u := storage.User{ID: "u1", Username: "alice"}
	method := func(n string) string { return map[string]string{"totp": "Authenticator app"}[n] }
	for _, tc := range []struct {
		e    storage.Event
		want string
	}{
		{storage.Event{Type: "login.password.succeeded", Actor: "alice", UserID: "u1", Outcome: "success", RemoteAddr: "10.0.0.1", Time: now.Add(-2 * time.Minute)},
			"Signed in with their password, from 10.0.0.1, 2 minutes ago"},
		{storage.Event{Type: "admin.method.remove", Actor: "helpdesk", UserID: "u1", Outcome: "success", Time: now, Details: map[string]string{"method": "totp"}},
			"The help desk disconnected an authenticator app (by helpdesk), just now"},
		{storage.Event{Type: "verification.failed", UserID: "u1", Outcome: "failure", Time: now, Details: map[string]string{"method": "totp"}},
			"A sign-in with an authenticator app failed, just now"},
		{storage.Event{Type: "login.password.locked", UserID: "u1", Outcome: "denied", Time: now},
			"Sign-in was locked for a while after too many wrong attempts (refused), just now"},
	} {
		if got := HelpDeskActivity(tc.e, u, now, method); got != tc.want {
			t.Errorf("HelpDeskActivity(%s) = %q, want %q", tc.e.Type, got, tc.want)
		}
	}
}
