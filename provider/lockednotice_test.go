package provider_test

import (
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/testenv"
)

var continueHref = regexp.MustCompile(`id="continue" href="([^"]+)"`)

// When the only method that reaches a voluntary acr is locked, the user
// is told so, and until when, before going back to the application at the
// level reached; with prompt=none nothing is shown.
func TestLockedMethodNoticeOnVoluntaryRequest(t *testing.T) {
	env, b, rp, _ := totpEnv(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := b.Get(ar.URL)
	var last *testenv.Page
	for range 10 {
		last = stepUp(t, b, p, "000000")
	}
	locks := listEvents(t, env, "lockout.started")
	if len(locks) != 1 {
		t.Fatalf("lockouts audited: %+v", locks)
	}
	until, err := time.Parse(time.RFC3339, locks[0].Details["until"])
	if err != nil {
		t.Fatal(err)
	}
	want := "Authenticator app is locked after too many failed attempts until " + until.UTC().Format("15:04") + " UTC."
	if _, ok := testenv.CallbackOf(t, last); ok || !strings.Contains(last.Text(), want) {
		t.Fatalf("the failure that locks the only method: %d %s; want a page saying %q", last.Status, last.Text(), want)
	}

	m := continueHref.FindStringSubmatch(last.Body)
	if m == nil {
		t.Fatalf("no Continue link on the lock notice:\n%s", last.Body)
	}
	next, err := last.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	cb := testenv.MustCallback(t, b.Get(next.String()))
	tok, err := rp.Exchange(cb.Code(t), ar)
	if err != nil || tok.Claims.ACR != "aal1" || !slices.Equal(tok.Claims.AMR, []string{"pwd"}) {
		t.Fatalf("continued: %v %+v, want the level reached, aal1", err, tok)
	}

	// A new voluntary request while the lock lasts says so at once.
	if p := b.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}}).URL); !strings.Contains(p.Text(), want) {
		t.Fatalf("a new request while locked: %d %s", p.Status, p.Text())
	}
	// prompt=none shows no page: the level reached, at once.
	silent := rp.AuthURL(url.Values{"acr_values": {"aal2"}, "prompt": {"none"}})
	cb = testenv.MustCallback(t, b.Get(silent.URL))
	if tok, err := rp.Exchange(cb.Code(t), silent); err != nil || tok.Claims.ACR != "aal1" {
		t.Fatalf("prompt=none while locked: %v %+v", err, tok)
	}
}
