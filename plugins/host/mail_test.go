package host_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// TestDeclarationsCrossTheWire: what a method declares for the host's
// rules of who is offered what arrives as declared.
func TestDeclarationsCrossTheWire(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	d := p.Description()
	if !d.Managed || !slices.Equal(d.ExceptWith, []string{"other"}) || len(d.Admin) != 1 || d.Admin[0].PatchField != "probe_clock" {
		t.Fatalf("description %+v", d)
	}
	ctx := context.Background()
	for user, want := range map[string]bool{"explicit": true, "u1": false} {
		creds, err := p.ListCredentials(ctx, user)
		if err != nil || len(creds) != 1 || creds[0].Explicit != want {
			t.Errorf("ListCredentials(%s) = %+v, %v; want Explicit %v", user, creds, err, want)
		}
	}
}

// TestMailThroughBroker: a plugin's SendMail reaches the backend's Mailer
// with the user it named, and its errors come back as the sentinels.
func TestMailThroughBroker(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	ctx := context.Background()
	mail := func(user, subject string) error {
		_, err := p.Admin(ctx, sdk.AdminRequest{Action: "mail", User: sdk.User{ID: user},
			Params: map[string]string{"subject": subject, "text": "Hello.\nYour code is 123456."}})
		return err
	}
	if err := mail("u1", "Your verification code"); err != nil {
		t.Fatalf("mail: %v", err)
	}
	if got := e.backend.Mails(); len(got) != 1 || got[0] != (hosttest.Mail{UserID: "u1", Subject: "Your verification code", Text: "Hello.\nYour code is 123456."}) {
		t.Fatalf("mails %+v", got)
	}
	e.backend.NoAddress("nomail")
	if err := mail("nomail", "Hi"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("a user without an address: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "two\nlines", strings.Repeat("s", sdk.MaxMailSubjectLen+1)} {
		if err := mail("u1", bad); !errors.Is(err, sdk.ErrInvalidInput) {
			t.Errorf("subject %q: %v, want ErrInvalidInput", bad, err)
		}
	}
	e.backend.FailMail(errors.New("smtp: 451 try later"))
	err := mail("u1", "Hi")
	if !errors.Is(err, sdk.ErrUnavailable) || strings.Contains(err.Error(), "451") {
		t.Errorf("a failing mail server: %v, want ErrUnavailable without its detail", err)
	}
	if !p.Healthy() {
		t.Error("a mail failure made the plugin unhealthy")
	}
	if n := len(e.backend.Mails()); n != 1 {
		t.Errorf("%d mails kept, want the one sent", n)
	}
}

// notMailer is a Backend without mail.
type notMailer struct{ host.Backend }

// TestMailLocalHost: the local host mails through its backend as a
// launched plugin's host does, and says it cannot without a Mailer.
func TestMailLocalHost(t *testing.T) {
	e := newEnv()
	ctx := context.Background()
	if err := sdk.SendMail(ctx, e.local(t, "m"), "u1", "Subject", "Text"); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	if got := e.backend.Mails(); len(got) != 1 || got[0].UserID != "u1" {
		t.Fatalf("mails %+v", got)
	}
	h, err := host.NewLocalHost("m", notMailer{e.backend}, e.key, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := sdk.SendMail(ctx, h, "u1", "Subject", "Text"); !errors.Is(err, sdk.ErrUnavailable) {
		t.Errorf("SendMail without a Mailer: %v, want ErrUnavailable", err)
	}

	p := launch(t, func() host.Spec { s := e.spec(t, "probe", "probe"); s.Backend = notMailer{e.backend}; return s }())
	_, err = p.Admin(ctx, sdk.AdminRequest{Action: "mail", User: sdk.User{ID: "u1"}, Params: map[string]string{"subject": "S"}})
	if !errors.Is(err, sdk.ErrUnavailable) {
		t.Errorf("a plugin's SendMail without a Mailer: %v, want ErrUnavailable", err)
	}
}
