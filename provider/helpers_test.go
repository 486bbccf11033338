package provider_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/testenv"
)

func decodeJWTPart(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeJWT(t *testing.T, jwt string) map[string]any { return decodeJWTPart(t, jwt, 1) }
func jwtHeader(t *testing.T, jwt string) map[string]any { return decodeJWTPart(t, jwt, 0) }

func listEvents(t *testing.T, env *testenv.Env, typ string) []storage.Event {
	t.Helper()
	ev, err := env.Store.ListEvents(context.Background(), storage.EventFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func deactivate(t *testing.T, env *testenv.Env, id string) {
	t.Helper()
	_, err := env.Store.UpdateUser(context.Background(), id, func(u storage.User) (storage.User, error) {
		u.Active = false
		return u, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// chromeStep returns a function that runs one named step of actions in
// ctx's browser within 15 s, failing the test with the page on error.
// chromeSignIn signs in at url with a password, then with the current
// code of the TOTP secret, and returns once the element thenID shows.
func chromeSignIn(t *testing.T, do func(string, ...chromedp.Action[chromedp.Void]), env *testenv.Env, url, user, password, secret, thenID string) {
	t.Helper()
	do("password",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("f-code")))
	do("code",
		chromedp.SendKeys(chromedp.ID("f-code"), testenv.TOTPCode(t, secret, env.Clock.Now())),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID(thenID)))
}

func chromeStep(t *testing.T, ctx context.Context) func(step string, actions ...chromedp.Action[chromedp.Void]) {
	return func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
			t.Fatalf("%s: %v\n%s", step, err, html)
		}
	}
}
