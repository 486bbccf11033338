package provider_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestSessionCookieAttributes: the session cookie is HttpOnly and
// SameSite=Lax (gorilla/sessions' own defaults are neither).
func TestSessionCookieAttributes(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	b := env.NewBrowser(t)
	p := b.Get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL)
	f := p.Form(t, "/login")
	f.Values.Set("username", "alice")
	f.Values.Set("password", alicePassword)
	req, _ := http.NewRequest("POST", env.URL+"/login", strings.NewReader(f.Values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range b.Client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name == "stepup_session" {
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure on an http issuer", c)
			}
		}
	}
	if !found {
		t.Fatalf("no session cookie after login (status %d)", resp.StatusCode)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	env := testenv.New(t, testenv.WithMethods("totp"))
	env.AddUser(t, "alice", alicePassword)
	login(t, env, env.NewBrowser(t), env.NewRP(t, testenv.PublicClient, ""), url.Values{}, "alice", alicePassword)
	get := func(path string) (int, string) {
		resp, err := http.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"totp":"ok"`) || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	_, body := get("/metrics")
	for _, want := range []string{`stepup_logins_total{result="success"} 1`, `stepup_plugin_healthy{method="totp"} 1`, "stepup_plugin_restarts_total"} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}

func TestReadyzWhenTheDatabaseIsGone(t *testing.T) {
	env := testenv.New(t)
	env.Store.Close() // as good as an unreachable database
	resp, err := http.Get(env.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"database":"unreachable"`) {
		t.Fatalf("readyz %d %s", resp.StatusCode, body)
	}
}
