package provider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestInvalidUTF8NeverReachesAPlugin: a form field that is not UTF-8
// (code=%FF) cannot cross the plugin protocol; the host says so (400) and
// the method stays healthy, where it answered 503 and was marked down
// (issue 18, item 1).
func TestInvalidUTF8NeverReachesAPlugin(t *testing.T) {
	env, b, rp, secret := totpEnv(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := b.Get(ar.URL)
	bad := b.Submit(p, p.Form(t, "/login/verify"), map[string]string{"code": "\xff"})
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Text(), "not valid text") {
		t.Fatalf("code=%%FF: %d %s", bad.Status, bad.Text())
	}
	if ready := b.Get(env.URL + "/readyz"); ready.Status != http.StatusOK || !strings.Contains(ready.Body, `"totp":"ok"`) {
		t.Fatalf("after code=%%FF /readyz says %d %s", ready.Status, ready.Body)
	}
	done := stepUp(t, b, bad, testenv.TOTPCode(t, secret, env.Clock.Now()))
	if _, err := rp.Exchange(testenv.MustCallback(t, done).Code(t), ar); err != nil {
		t.Fatal(err)
	}
	acct := b.Get(env.URL + "/account")
	rm := b.Submit(acct, acct.Form(t, "/account/remove"), map[string]string{"credential": "\xff"})
	if rm.Status != http.StatusBadRequest || !strings.Contains(rm.Text(), "not valid text") {
		t.Fatalf("credential=%%FF: %d %s", rm.Status, rm.Text())
	}
}

// TestInvalidUTF8InTheAdminAPI: a method ID that is not UTF-8 is 400 in
// the admin API's problem format, not 503 "not answering".
func TestInvalidUTF8InTheAdminAPI(t *testing.T) {
	a := newAdminEnv(t)
	token := a.adminToken(t, "aal2")
	got := callAPI(t, a.env, token, http.MethodDelete, "/admin/v1/users/alice/methods/totp:%FF", nil)
	if got.Status != http.StatusBadRequest || !strings.Contains(got.Raw, "not valid text") {
		t.Fatalf("DELETE …/methods/totp:%%FF: %d %s", got.Status, got.Raw)
	}
	if list := callAPI(t, a.env, token, http.MethodGet, "/admin/v1/users/alice/methods", nil); list.Status != http.StatusOK || !strings.Contains(list.Raw, `"method":"totp"`) {
		t.Fatalf("after it, the methods: %d %s", list.Status, list.Raw)
	}
}
