package provider_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestAdminPageInChromium drives the help-desk page in a real browser:
// sign in (stepping up to aal2 by itself), find a user, generate a code,
// see it once, press Done, and it is gone, on reload too.
func TestAdminPageInChromium(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp", "tempcode"))
	env.AddUser(t, "helpdesk", adminPassword, "manage_mfa")
	env.AddUser(t, "alice", alicePassword)
	gb := env.NewBrowser(t)
	gb.SubmitPassword(gb.Get(env.URL+"/account"), "helpdesk", adminPassword)
	secret := gb.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)

	ctx := testenv.NewChrome(t)
	var page, code, after, reloaded string
	do := chromeStep(t, ctx)
	get := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	chromeSignIn(t, do, env, env.URL+"/admin", "helpdesk", adminPassword, secret, "user")
	do("find alice",
		chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.Click(chromedp.CSS("form[role=search] button")),
		chromedp.WaitVisible(chromedp.ID("ttl")))
	page = get(chromedp.OuterHTML(chromedp.CSS("main")))
	do("generate",
		chromedp.Click(chromedp.CSS("form[action='/admin/tempcode'] button")),
		chromedp.WaitVisible(chromedp.ID("tempcode")))
	code = get(chromedp.Text(chromedp.ID("tempcode")))
	do("done", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.ID("user")))
	after = get(chromedp.OuterHTML(chromedp.CSS("html")))
	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("user")))
	reloaded = get(chromedp.OuterHTML(chromedp.CSS("html")))
	if !regexp.MustCompile(`^[0-9]{8}$`).MatchString(strings.TrimSpace(code)) {
		t.Fatalf("code shown = %q", code)
	}
	for name, html := range map[string]string{"after Done": after, "after reload": reloaded} {
		if strings.Contains(html, strings.TrimSpace(code)) {
			t.Fatalf("the code is still on the page %s", name)
		}
		if !strings.Contains(html, "A temporary code is active") {
			t.Fatalf("%s the page does not show the active code's metadata:\n%s", name, html)
		}
	}
	if !strings.Contains(page, "No temporary code is active") {
		t.Fatalf("before generating:\n%s", page)
	}
}
