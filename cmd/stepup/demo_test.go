package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestDemoInBrowser runs the real stepup serve --demo and walks its first
// run in Chromium, as a new user would: from the demo application to
// stepup and back, the ID token's claims shown; recovery codes set up on
// the account page; the sensitive action stepping up with only the
// second factor; sign-out. Recovery codes rather than an authenticator
// app: the binary keeps the wall clock, and a TOTP code computed from it
// would make the test depend on it.
func TestDemoInBrowser(t *testing.T) {
	demoAddr := freeAddr(t)
	_, port, _ := strings.Cut(demoAddr, ":")
	appURL := "http://localhost:" + port
	_, addr, out := startServe(t, stepupBin, t.TempDir(), "--demo", "--demo-listen", demoAddr)
	issuer := "http://" + addr
	// What it prints names where to start, and that answers.
	testenv.Eventually(t, "the demo saying where to start", func() bool { return strings.Contains(out.String(), "start here: "+appURL) })
	resp, err := http.Get(appURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Sign in") {
		t.Fatalf("the demo application at %s: %d %s", appURL, resp.StatusCode, body)
	}

	ctx := testenv.NewChrome(t)
	do := demoStep(t, ctx)
	do("sign in from the demo application",
		chromedp.Navigate(appURL+"/"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), demoUser),
		chromedp.SendKeys(chromedp.ID("password"), demoPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("claims")))
	claims := func(step string) map[string]string {
		t.Helper()
		got := map[string]string{}
		for _, name := range []string{"acr", "amr", "auth_time", "iss"} {
			v, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("claim-"+name)))
			if err != nil {
				t.Fatalf("%s: claim %s not shown: %v", step, name, err)
			}
			got[name] = v
		}
		return got
	}
	c := claims("after the password")
	if c["acr"] != "aal1" || c["amr"] != "pwd" || !strings.Contains(c["auth_time"], "UTC") || c["iss"] != issuer {
		t.Fatalf("claims after the password: %v", c)
	}

	// Recovery codes, set up on stepup's account page: a second factor
	// that needs no clock, as the binary keeps the wall clock (a real
	// run) and the test must not depend on it.
	do("open the enrolment", chromedp.Navigate(issuer+"/account/enrol?method=recovery"), chromedp.WaitVisible(chromedp.ID("f-saved")))
	code, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("ol.codes li:first-child code")))
	if err != nil || code == "" {
		t.Fatalf("no recovery code shown: %q %v", code, err)
	}
	do("confirm the codes are saved",
		chromedp.Click(chromedp.ID("f-saved")),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))

	// The sensitive action: stepup asks for the second factor only.
	do("step up",
		chromedp.Navigate(appURL+"/"),
		chromedp.Click(chromedp.ID("transfer")),
		chromedp.WaitVisible(chromedp.ID("f-code")))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#password").length`)); n != 0 {
		t.Fatal("the step-up asked for the password again")
	}
	do("answer with a recovery code",
		chromedp.SendKeys(chromedp.ID("f-code"), code),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("amount")))
	do("transfer",
		chromedp.SendKeys(chromedp.ID("to"), "bob"),
		chromedp.SendKeys(chromedp.ID("amount"), "25"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("done")))
	do("back to the start page", chromedp.Navigate(appURL+"/"), chromedp.WaitVisible(chromedp.ID("claims")))
	c = claims("after the step-up")
	if c["acr"] != "aal2" || !strings.Contains(" "+c["amr"]+" ", " otp ") || !strings.Contains(" "+c["amr"]+" ", " mfa ") || !strings.Contains(c["auth_time"], "UTC") {
		t.Fatalf("claims after the step-up: %v", c)
	}

	// Sign out ends the demo application's session and stepup's.
	do("sign out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("signin")))
	do("stepup asks for the password again",
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("password")))
}

// demoStep returns a function that runs one named step of actions within
// 20 s, failing the test with the page on error.
func demoStep(t *testing.T, ctx context.Context) func(step string, actions ...chromedp.Action[chromedp.Void]) {
	return func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
			t.Fatalf("%s: %v\n%s", step, err, html)
		}
	}
}
