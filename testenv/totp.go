package testenv

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTPCode computes the code an authenticator app shows for secret at t.
func TOTPCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// EnrolTOTP adds an authenticator app on the account page of a signed-in
// browser and returns its secret. It uses the code of the Env clock's
// current step to confirm.
func (b *Browser) EnrolTOTP() string {
	b.t.Helper()
	p := b.Get(b.env.URL + "/account/enrol?method=totp")
	secret := ""
	if i := strings.Index(p.Body, "otpauth://"); i >= 0 {
		uri := p.Body[i:]
		uri = uri[:strings.IndexAny(uri, `"<`)]
		if j := strings.Index(uri, "secret="); j >= 0 {
			secret = uri[j+len("secret="):]
			if k := strings.IndexAny(secret, "&"); k >= 0 {
				secret = secret[:k]
			}
		}
	}
	if secret == "" {
		b.t.Fatalf("no otpauth:// link on the enrolment page (%d):\n%s", p.Status, p.Text())
	}
	f := p.Form(b.t, "/account/enrol")
	done := b.Submit(p, f, map[string]string{"code": TOTPCode(b.t, secret, b.env.Clock.Now()), "label": "phone"})
	if !strings.Contains(done.Text(), "The method was added") {
		b.t.Fatalf("enrolment not confirmed (%d): %s", done.Status, done.Text())
	}
	return secret
}
