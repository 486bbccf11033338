package pin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

const alicePassword = "correct horse battery staple"

// withPIN configures the plugin as an operator would in stepup.yaml:
//
//	methods:
//	  pin: { path: ..., sha256: ..., priority: 50, memory_kib: 64, iterations: 1 }
func withPIN(sum string) testenv.Option {
	return testenv.WithConfig(func(c *config.Config) {
		c.Methods["pin"] = config.MethodConfig{Path: pluginPath, SHA256: sum, Priority: 50,
			Settings: map[string]any{"memory_kib": 64, "iterations": 1}}
	})
}

// TestEndToEnd runs stepup with the PIN plugin as its only method: alice
// signs in with her password, adds a PIN on her account page, and a step-up
// to aal2 asks for the PIN only.
func TestEndToEnd(t *testing.T) {
	// WithMethods("pin") disables the built-ins; the plugin itself comes
	// from the configuration, as in production.
	env := testenv.New(t, testenv.WithMethods("pin"), withPIN(hosttest.FileSHA256(t, pluginPath)))
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	b := env.NewBrowser(t)

	// aal1: the password.
	ar := rp.AuthURL(nil)
	p := b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)
	tok, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.ACR != "aal1" || !slices.Equal(tok.Claims.AMR, []string{"pwd"}) {
		t.Fatalf("first login: %+v", tok.Claims)
	}

	// The account page offers the plugin under its display name.
	p = b.Get(env.URL + "/account")
	if !strings.Contains(p.Text(), "PIN") || !strings.Contains(p.Body, `href="/account/enrol?method=pin"`) {
		t.Fatalf("account page without a PIN to add:\n%s", p.Text())
	}
	// The enrolment form is built from the plugin's fields.
	p = b.Get(env.URL + "/account/enrol?method=pin")
	f := p.Form(t, "/account/enrol")
	for _, name := range []string{"pin", "pin_confirm"} {
		if !slices.ContainsFunc(f.Inputs, func(in testenv.Input) bool { return in.Name == name && in.Type == "password" }) {
			t.Fatalf("enrolment form lacks a password input %q: %+v", name, f.Inputs)
		}
	}
	// A PIN typed differently the second time: the plugin's message is shown.
	got := b.Submit(p, f, map[string]string{"pin": "491735", "pin_confirm": "491753"})
	if got.Status != http.StatusBadRequest || !strings.Contains(got.Text(), "The two PINs differ") {
		t.Fatalf("mismatched PIN: %d %s", got.Status, got.Text())
	}
	p = b.Get(env.URL + "/account/enrol?method=pin")
	got = b.Submit(p, p.Form(t, "/account/enrol"), map[string]string{"pin": "491735", "pin_confirm": "491735", "label": "my PIN"})
	if !strings.Contains(got.Text(), "The method was added") || !strings.Contains(got.Text(), "my PIN") {
		t.Fatalf("PIN not added: %d %s", got.Status, got.Text())
	}

	// Step-up: only the PIN is asked for.
	ar = rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p = b.Get(ar.URL)
	if p.IsLoginPage() {
		t.Fatal("step-up asked for the password again")
	}
	f = p.Form(t, "/login/verify")
	if f.Values.Get("method") != "pin" {
		t.Fatalf("challenge for method %q, want pin:\n%s", f.Values.Get("method"), p.Text())
	}
	wrong := b.Submit(p, f, map[string]string{"pin": "491736"})
	if wrong.Status != http.StatusUnauthorized {
		t.Fatalf("a wrong PIN: %d %s", wrong.Status, wrong.Text())
	}
	cb := testenv.MustCallback(t, b.Submit(wrong, wrong.Form(t, "/login/verify"), map[string]string{"pin": "491735"}))
	tok, err = rp.Exchange(cb.Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	c := tok.Claims
	if c.ACR != "aal2" || !slices.Contains(c.AMR, "pin") || !slices.Contains(c.AMR, "mfa") || !slices.Contains(c.AMR, "pwd") {
		t.Fatalf("after the PIN: acr %q amr %v, want aal2 with pwd, pin and mfa", c.ACR, c.AMR)
	}
}

// TestWrongChecksumRefusesStart runs `stepup serve` as an operator would,
// with a sha256 that is not the plugin's: it stops at start, non-zero, with
// one line naming the method.
func TestWrongChecksumRefusesStart(t *testing.T) {
	stepup, err := testenv.StepupBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wrong := strings.Repeat("0", 64)
	cfg := `issuer: http://127.0.0.1:8080
listen: 127.0.0.1:0
storage: { driver: sqlite, dsn: ` + filepath.Join(dir, "stepup.db") + ` }
keys: { secret_file: ` + filepath.Join(dir, "secret.key") + ` }
methods:
  totp:     { enabled: false }
  tempcode: { enabled: false }
  pin:      { path: ` + pluginPath + `, sha256: "` + wrong + `", priority: 50 }
`
	file := filepath.Join(dir, "stepup.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, stepup, "serve", "--config", file).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || ctx.Err() != nil {
		t.Fatalf("stepup serve with a wrong checksum: %v (want a non-zero exit)\n%s", err, out)
	}
	if !strings.Contains(string(out), "method pin") || !strings.Contains(string(out), "checksum") {
		t.Fatalf("the error does not name the method and its checksum:\n%s", out)
	}
}
