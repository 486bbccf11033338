package provider_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestEnrolFieldsAndDisplays adds a method the provider does not know by
// name: the enrolment page asks for what the method declares (a phone
// number, as an SMS method would), hands it to Enrol, keeps the method's
// words on a refusal, and shows what Enrol returned (a sentence, codes to
// keep, a picture), leaving out what a page cannot show safely.
func TestEnrolFieldsAndDisplays(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods(fixtureName), withFixture(t))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	acct := b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	if !strings.Contains(acct.Body, `href="/account/enrol?method=fixture"`) {
		t.Fatalf("account page offers no fixture to add:\n%s", acct.Text())
	}
	p := b.Get(env.URL + "/account/enrol?method=fixture")
	f := p.Form(t, "/account/enrol")
	var phone bool
	for _, in := range f.Inputs {
		phone = phone || (in.Name == "phone" && in.Type == "tel" && in.Autocomplete == "tel")
	}
	if !phone || f.Values.Has("enrolment") || !strings.Contains(p.Text(), "Mobile number") {
		t.Fatalf("enrolment page does not ask for the number first:\n%s", p.Body)
	}

	bad := b.Submit(p, f, map[string]string{"phone": "0555 0100"})
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Text(), msgFixturePhone) ||
		!strings.Contains(bad.Body, `value="0555 0100"`) || !strings.Contains(bad.Body, `aria-invalid="true"`) {
		t.Fatalf("a number the method refuses: %d\n%s", bad.Status, bad.Body)
	}

	p = b.Submit(bad, bad.Form(t, "/account/enrol"), map[string]string{"phone": "+15550100"})
	text := p.Text()
	for _, want := range []string{"We sent a code to +15550100.", "Keep these codes somewhere safe:", "7KQ4-M2XD", "9RTA-WP3C"} {
		if !strings.Contains(text, want) {
			t.Errorf("enrolment page lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(p.Body, `alt="A square" width="3" height="2"`) {
		t.Errorf("the picture is not shown with its size:\n%s", p.Body)
	}
	if strings.Contains(p.Body, "javascript:") || strings.Contains(p.Body, "Not a picture") {
		t.Errorf("the page shows a display it cannot show safely:\n%s", p.Body)
	}
	confirm := p.Form(t, "/account/enrol")
	if confirm.Values.Get("enrolment") == "" {
		t.Fatalf("no confirmation form:\n%s", p.Body)
	}
	done := b.Submit(p, confirm, map[string]string{"code": fixtureCode})
	if !strings.Contains(done.Text(), "The method was added") || !strings.Contains(done.Text(), "+15550100") {
		t.Fatalf("after confirming: %d %s", done.Status, done.Text())
	}
}

// TestEnrolmentOfAnEarlierSDK: a method built before Displays existed
// still gets its QR code, otpauth:// link and key shown.
func TestEnrolmentOfAnEarlierSDK(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods(fixtureName), withFixture(t))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	p := b.Get(env.URL + "/account/enrol?method=fixture")
	p = b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"phone": fixtureLegacyPhone})
	for _, want := range []string{`src="data:image/png;base64,`, `width="3" height="2"`, `href="otpauth://totp/fixture:legacy?secret=LEGACYKEY"`,
		"enter this key by hand: <code>LEGACYKEY</code>"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("enrolment page lacks %q:\n%s", want, p.Body)
		}
	}
}
