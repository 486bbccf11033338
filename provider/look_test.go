package provider_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// branded is a deployment that names itself, with a logo elsewhere and a
// help-desk line.
func branded(c *config.Config) {
	c.UI = config.UI{ProductName: "Example Bank sign-in", LogoURL: "https://cdn.example.com/logo.png",
		SupportText: "Locked out? Call the help desk on 555-0100."}
}

var stylesheetLink = regexp.MustCompile(`<link rel="stylesheet" href="(/static/stepup\.css\?v=[0-9a-f]+)">`)

// TestPagesLookLikeAProduct: every page links stepup's one stylesheet
// under a CSP with no inline style, and shows the product name, the logo
// and the support text; signed in, a sign-out link.
func TestPagesLookLikeAProduct(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp"), testenv.WithConfig(branded))
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	login := b.Get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL)
	if !login.IsLoginPage() {
		t.Fatalf("no login page: %s", login.Text())
	}
	account := b.Get(env.URL + "/account")
	account = b.SubmitPassword(account, "alice", alicePassword)
	if !strings.Contains(account.Body, "/account/enrol?method=totp") {
		t.Fatalf("no account page after the password: %s", account.Text())
	}
	for name, p := range map[string]*testenv.Page{"login": login, "account": account} {
		csp := p.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "style-src 'self';") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "img-src 'self' data: https://cdn.example.com;") {
			t.Errorf("%s: CSP %q", name, csp)
		}
		for _, want := range []string{"<title>Sign in · Example Bank sign-in</title>", `<span>Example Bank sign-in</span>`,
			`<img src="https://cdn.example.com/logo.png" alt=""`, `<meta name="viewport" content="width=device-width, initial-scale=1">`,
			`<p id="support">Locked out? Call the help desk on 555-0100.</p>`} {
			if name == "account" && strings.HasPrefix(want, "<title>") {
				continue
			}
			if !strings.Contains(p.Body, want) {
				t.Errorf("%s page lacks %s:\n%s", name, want, p.Body)
			}
		}
		if strings.Contains(p.Body, "<style") || strings.Contains(p.Body, " style=") {
			t.Errorf("%s page has inline style", name)
		}
		if !stylesheetLink.MatchString(p.Body) {
			t.Errorf("%s page links no stylesheet", name)
		}
	}
	if strings.Contains(login.Body, `id="sign-out"`) || !strings.Contains(account.Body, `<a id="sign-out" href="/logout">Sign out</a>`) {
		t.Errorf("the sign-out link: on the login page %v, on the account page %v",
			strings.Contains(login.Body, `id="sign-out"`), strings.Contains(account.Body, `id="sign-out"`))
	}

	// The stylesheet: CSS, cacheable for a year at this build's version,
	// revalidated by its ETag.
	href := stylesheetLink.FindStringSubmatch(login.Body)[1]
	resp, err := http.Get(env.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" ||
		resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || resp.Header.Get("ETag") == "" {
		t.Fatalf("stylesheet: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest("GET", env.URL+href, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d", again.StatusCode)
	}
}

// TestPagesInChromium walks every kind of page in Chromium at a phone's
// width: the stylesheet applies under the CSP, light and dark, nothing
// overflows the screen, and axe-core finds no serious or critical
// violation (light and dark) on the login and challenge pages (also with
// an error), the admin, account, enrolment, sign-out and message pages.
func TestPagesInChromium(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp", "tempcode", "recovery"), testenv.WithConfig(branded))
	env.AddUser(t, "helpdesk", adminPassword, "manage_mfa")
	env.AddUser(t, "alice", alicePassword)
	gb := env.NewBrowser(t)
	gb.SubmitPassword(gb.Get(env.URL+"/account"), "helpdesk", adminPassword)
	secret := gb.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)

	ctx := testenv.NewChrome(t)
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: 375, Height: 740, DeviceScaleFactor: 2, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	do := chromeStep(t, ctx)
	check := func(page string) {
		t.Helper()
		checkLook(t, ctx, page)
		testenv.CheckAccessibility(t, ctx, page)
	}

	do("login page", chromedp.Navigate(env.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("username")))
	check("the login page")
	do("wrong password",
		chromedp.SendKeys(chromedp.ID("username"), "helpdesk"),
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("login-error")))
	check("the login page with an error")
	do("password",
		chromedp.Clear(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "helpdesk"),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("f-code")))
	check("the challenge page")
	wrong := "000000"
	if testenv.TOTPCode(t, secret, env.Clock.Now()) == wrong {
		wrong = "111111"
	}
	do("wrong code",
		chromedp.SendKeys(chromedp.ID("f-code"), wrong),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("method-error")))
	check("the challenge page with an error")
	do("code",
		chromedp.Clear(chromedp.ID("f-code")),
		chromedp.SendKeys(chromedp.ID("f-code"), testenv.TOTPCode(t, secret, env.Clock.Now())),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("user")))
	check("the admin page")
	do("find alice",
		chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.Click(chromedp.CSS("form[role=search] button")),
		chromedp.WaitVisible(chromedp.ID("ttl")))
	check("the admin page of a user")
	do("account", chromedp.Navigate(env.URL+"/account"), chromedp.WaitVisible(chromedp.ID("sign-out")))
	check("the account page")
	do("enrolment", chromedp.Navigate(env.URL+"/account/enrol?method=recovery"), chromedp.WaitVisible(chromedp.CSS(`form[action="/account/enrol"] button`)))
	check("the enrolment page")
	do("sign-out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"] button`)))
	check("the sign-out page")
	do("signed out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`main p[role=status]`)))
	check("the signed-out message")
}

// checkLook checks, on the page ctx shows, that the stylesheet applied
// (the page takes the background of each scheme) and that nothing is
// wider than the screen.
func checkLook(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	for scheme, bg := range map[string]string{"light": "rgb(255, 255, 255)", "dark": "rgb(18, 20, 23)"} {
		if err := testenv.EmulateColorScheme(ctx, scheme); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
		if err != nil || got != bg {
			t.Errorf("%s (%s): the background is %q, want %q (is the stylesheet applied?) %v", page, scheme, got, bg, err)
		}
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("%s is wider than a phone's screen (%v)", page, err)
	}
}
