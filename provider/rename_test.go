package provider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestRenameCredential: the user renames their authenticator app on the
// account page, through the plugin; a name that is empty or too long is
// refused with what to do; another user cannot rename it; the rename is
// in the activity list.
func TestRenameCredential(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp"))
	env.AddUser(t, "alice", alicePassword)
	env.AddUser(t, "bob", "bob's long password")
	b := env.NewBrowser(t)
	b.SubmitPassword(b.Get(env.URL+"/account"), "alice", alicePassword)
	secret := b.EnrolTOTP() // named "phone"

	acct := b.Get(env.URL + "/account")
	f := acct.Form(t, "/account/rename")
	cred := f.Values.Get("credential")
	if cred == "" || f.Values.Get("method") != "totp" || !strings.Contains(acct.Text(), "New name for phone") {
		t.Fatalf("no rename form for the app:\n%s", acct.Body)
	}
	done := b.Submit(acct, f, map[string]string{"label": "  work phone  "})
	if done.URL.Path != "/account" || !strings.Contains(done.Text(), "The new name is saved.") ||
		!strings.Contains(done.Text(), "work phone, added") || !strings.Contains(done.Text(), "Renamed an authenticator app, from 127.0.0.1, just now") {
		t.Fatalf("after the rename: %d at %s:\n%s", done.Status, done.URL, done.Text())
	}
	if got := listEvents(t, env, "method.renamed"); len(got) != 1 || got[0].Details["credential"] != cred {
		t.Fatalf("audit %+v", got)
	}
	// The plugin kept the rest of its record: the app still answers.
	rp := env.NewRP(t, testenv.PublicClient, "")
	sb, ar, p := stepUpPage(t, env, rp)
	exchange(t, rp, ar, sb.Submit(p, checkChallenge(t, p, "totp"), map[string]string{"code": freshTOTP(t, env, secret)}), "aal2")

	for label, want := range map[string]string{"   ": "Enter a name", strings.Repeat("x", 101): "longer than 100"} {
		p := b.Submit(done, done.Form(t, "/account/rename"), map[string]string{"label": label})
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Text(), want) {
			t.Errorf("label %.10q: %d %s", label, p.Status, p.Text())
		}
	}

	// bob names alice's credential: not found, and her name stays.
	bb := env.NewBrowser(t)
	bb.SubmitPassword(bb.Get(env.URL+"/account"), "bob", "bob's long password")
	csrf := bb.Get(env.URL+"/account/enrol?method=totp").Form(t, "/account/enrol").Values.Get("csrf_token")
	if p := bb.Post(env.URL+"/account/rename", url.Values{"method": {"totp"}, "credential": {cred}, "label": {"mine"}, "csrf_token": {csrf}}); p.Status != http.StatusNotFound {
		t.Fatalf("bob renames alice's app: %d %s", p.Status, p.Text())
	}
	if p := b.Get(env.URL + "/account"); !strings.Contains(p.Text(), "work phone, added") {
		t.Fatalf("alice's app after bob's try:\n%s", p.Text())
	}
}
