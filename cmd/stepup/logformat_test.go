package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(csrf_token|id)" value="([^"]*)"`)

// TestServeLogsOnlyJSON: with log.format json, every line stepup serve
// writes while a relying party signs a user in, and gets some requests
// wrong, is a JSON object: zitadel's own lines (which go to slog.Default)
// included.
func TestServeLogsOnlyJSON(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	issuer := "http://" + addr
	const redirect, pw = "http://rp.test/cb", "correct horse battery staple"
	cfg := writeConfig(t, dir, fmt.Sprintf(`listen: %s
issuer: %s
log: {level: debug, format: json}
passwords: {argon2: {memory_kib: 64, iterations: 1, parallelism: 1}}
clients:
  - {id: app, secret: app-secret, redirect_uris: [%s]}
`, addr, issuer, redirect))
	if _, stderr, code := stepup(t, dir, pw+"\n", "user", "add", "alice", "--password-stdin", "--config", cfg); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, stderr)
	}
	cmd := exec.Command(stepupBin, "serve", "--config", cfg)
	cmd.Dir = dir
	out := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	waitReady(t, issuer+"/readyz")

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != addr {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	fetch := func(method, u string, form url.Values, basic ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if len(basic) == 2 {
			req.SetBasicAuth(basic[0], basic[1])
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	authorize := url.Values{"client_id": {"app"}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"st"}, "nonce": {"n"}}

	// A sign-in and a code exchange.
	_, page := fetch("GET", issuer+"/authorize?"+authorize.Encode(), nil)
	login := url.Values{"username": {"alice"}, "password": {pw}}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		login.Set(m[1], m[2])
	}
	resp, body := fetch("POST", issuer+"/login", login)
	loc, _ := resp.Location()
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("login: %d %v\n%s", resp.StatusCode, loc, body)
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect}}
	if resp, body := fetch("POST", issuer+"/oauth/token", exchange, "app", "app-secret"); resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	// Requests zitadel refuses, and logs.
	fetch("POST", issuer+"/oauth/token", exchange, "app", "app-secret") // the code again
	authorize.Set("redirect_uri", "http://elsewhere.test/cb")
	fetch("GET", issuer+"/authorize?"+authorize.Encode(), nil)
	fetch("POST", issuer+"/oauth/introspect", url.Values{"token": {"x"}})
	fetch("GET", issuer+"/userinfo", nil)
	stop()

	logs := strings.TrimSpace(out.String())
	zitadel := 0
	for i, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("line %d is not JSON: %s", i+1, line)
			continue
		}
		if _, ok := rec["oidc_error"]; ok {
			zitadel++
		}
	}
	if zitadel == 0 {
		t.Errorf("no line of zitadel's (with oidc_error) among:\n%s", logs)
	}
}
