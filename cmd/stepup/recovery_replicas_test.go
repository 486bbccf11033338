package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/stepup-mfa/stepup/testenv"
)

// TestRecoveryCodeSpentOnceAcrossReplicas: one recovery code, submitted
// at the same moment in 50 step-ups of one user, split over two `stepup
// serve` processes on one PostgreSQL schema, completes exactly one of
// them, at aal2; the other 49 are refused.
//
// The method's verify limit and the lockout are raised above 50 so that
// every one of the 50 answers reaches the code check and races for the
// code, instead of most being turned away before it by a limit; a
// rate-limit answer would still count as a refusal.
func TestRecoveryCodeSpentOnceAcrossReplicas(t *testing.T) {
	const flows = 50
	dsn := testenv.PostgresDSN(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, cheapArgon+`storage: {driver: postgres, dsn: '`+dsn+`'}
keys: {secret_file: `+filepath.Join(dir, "secret.key")+`}
outbox: {dir: `+filepath.Join(dir, "outbox")+`}
clients:
  - id: app
    redirect_uris: [`+rpCallback+`]
methods:
  totp: {enabled: true}
  recovery: {enabled: true, verify_limit: 100}
  tempcode: {enabled: false}
  sms: {enabled: false}
lockout: {max_failures: 100, max_failures_per_user: 100}
`)
	if _, stderr, code := stepup(t, dir, "correct horse battery\n", "user", "add", "alice", "--email", "alice@example.com", "--password-stdin", "--config", cfg); code != 0 {
		t.Fatalf("user add: %s", stderr)
	}
	// A first, alone: it creates the schema and the secret file B reads.
	a := startReplica(t, dir, cfg)
	b := startReplica(t, dir, cfg)
	replicas := []*replica{a, b}

	// Alice adds an authenticator app and recovery codes on A's account
	// page: the app first, with the password alone; the codes after she
	// proves the app again.
	br := newCookieBrowser(a.url)
	p, err := br.get(a.url + "/account")
	if err == nil {
		_, err = br.submitPassword(p, "alice", "correct horse battery")
	}
	if err != nil {
		t.Fatal(err)
	}
	secret, err := br.enrolTOTP()
	if err != nil {
		t.Fatal(err)
	}
	codes, err := br.enrolRecovery(secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10: %q", len(codes), codes)
	}
	code := codes[3]

	// 50 browsers, each signed in with its password on one replica and at
	// its recovery challenge ("use another method").
	type flow struct {
		rp *replica
		br *cookieBrowser
		ar authRequest
		f  htmlForm
		at *page
	}
	fl := make([]flow, flows)
	var wg sync.WaitGroup
	errs := make(chan error, flows)
	sem := make(chan struct{}, 8)
	for i := range fl {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rp := replicas[i%2]
			c := newCookieBrowser(rp.url)
			ar := rp.authURL(url.Values{"acr_values": {"aal2"}})
			p, err := c.get(ar.URL)
			if err == nil {
				p, err = c.submitPassword(p, "alice", "correct horse battery")
			}
			if err != nil {
				errs <- fmt.Errorf("flow %d: %w", i, err)
				return
			}
			id := p.url.Query().Get("id")
			if f, ferr := p.form("/login/verify"); ferr == nil && f.values.Get("method") != "totp" {
				errs <- fmt.Errorf("flow %d: the first challenge is %q, want totp", i, f.values.Get("method"))
				return
			}
			if !strings.Contains(p.body, "method=recovery") {
				errs <- fmt.Errorf("flow %d: the challenge page offers no recovery codes:\n%s", i, p.text())
				return
			}
			p, err = c.get(rp.url + "/login?id=" + url.QueryEscape(id) + "&method=recovery")
			if err != nil {
				errs <- fmt.Errorf("flow %d: %w", i, err)
				return
			}
			f, err := p.form("/login/verify")
			if err != nil || f.values.Get("method") != "recovery" {
				errs <- fmt.Errorf("flow %d: no recovery challenge (%v):\n%s", i, err, p.text())
				return
			}
			fl[i] = flow{rp: rp, br: c, ar: ar, f: f, at: p}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// All at once, the same code.
	type outcome struct {
		success bool
		kind    string
		err     error
	}
	out := make([]outcome, flows)
	start := make(chan struct{})
	for i := range fl {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f := fl[i]
			p, err := f.br.submit(f.at, f.f, map[string]string{"code": code})
			if err != nil {
				out[i] = outcome{err: err}
				return
			}
			if cb, ok := p.callback(); ok {
				tok, err := f.rp.exchange(cb.Get("code"), f.ar)
				switch {
				case err != nil:
					out[i] = outcome{kind: "callback without tokens", err: err}
				case tok.ACR != "aal2" || !slices.Contains(tok.AMR, "otp"):
					out[i] = outcome{kind: fmt.Sprintf("callback at acr %q amr %v", tok.ACR, tok.AMR)}
				default:
					out[i] = outcome{success: true}
				}
				return
			}
			switch text := p.text(); {
			case p.status == http.StatusUnauthorized && strings.Contains(text, "That is not correct."):
				out[i] = outcome{kind: "wrong code"}
			case p.status == http.StatusTooManyRequests && strings.Contains(text, "Too many attempts"):
				out[i] = outcome{kind: "rate limited"}
			default:
				out[i] = outcome{kind: fmt.Sprintf("status %d at %s: %.300s", p.status, p.url, text)}
			}
		}()
	}
	close(start)
	wg.Wait()

	successes, kinds, wonOn := 0, map[string]int{}, ""
	for i, o := range out {
		switch {
		case o.err != nil:
			t.Errorf("flow %d (replica %s): %s %v", i, fl[i].rp.url, o.kind, o.err)
		case o.success:
			successes++
			wonOn += " " + []string{"A", "B"}[i%2]
		default:
			kinds[o.kind]++
		}
	}
	t.Logf("one code, %d step-ups at once on two replicas: %d succeeded (on%s), refusals %v", flows, successes, wonOn, kinds)
	for kind, n := range kinds {
		if kind != "wrong code" && kind != "rate limited" {
			t.Errorf("%d answers neither a success nor a refusal: %s", n, kind)
		}
	}
	if successes != 1 {
		t.Fatalf("%d of %d concurrent step-ups with one recovery code succeeded, want exactly 1", successes, flows)
	}
	// The set says so too: one code spent, on either replica.
	for _, r := range replicas {
		c := newCookieBrowser(r.url)
		p, err := c.get(r.url + "/account")
		if err == nil {
			p, err = c.submitPassword(p, "alice", "correct horse battery")
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(p.text(), "9 of 10 codes left") {
			t.Errorf("account page on %s after the race: %.500s", r.url, p.text())
		}
	}
}

// rpCallback is where the test's relying party receives its codes.
const rpCallback = "http://rp.test/callback"

// replica is one `stepup serve` process, on an issuer of its own, and a
// relying party of it that verifies its ID tokens independently.
type replica struct {
	url      string
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	hc       *http.Client
}

// startReplica runs stepup serve with the shared config file on an
// address (and issuer) of its own, set by the environment, until the test
// ends.
func startReplica(t *testing.T, dir, cfg string) *replica {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(stepupBin, "serve", "--config", cfg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "STEPUP_LISTEN="+addr, "STEPUP_ISSUER=http://"+addr)
	logs := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	// Stopped before the schema is dropped (PostgresDSN's cleanup runs
	// last).
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("stepup serve on %s:\n%s", addr, logs.String())
		}
	})
	r := &replica{url: "http://" + addr, hc: &http.Client{Transport: keepAlive()}}
	waitReady(t, r.url+"/readyz")
	ctx := oidc.ClientContext(context.Background(), r.hc)
	p, err := oidc.NewProvider(ctx, r.url)
	if err != nil {
		t.Fatalf("discovery of %s: %v", r.url, err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams // a public client: client_id in the body, no Basic header to try first
	r.oauth = oauth2.Config{ClientID: "app", Endpoint: ep, RedirectURL: rpCallback, Scopes: []string{oidc.ScopeOpenID}}
	r.verifier = p.Verifier(&oidc.Config{ClientID: "app"})
	return r
}

// authRequest is one authorization request of the relying party.
type authRequest struct {
	URL, Nonce, Verifier string
}

func (r *replica) authURL(extra url.Values) authRequest {
	ar := authRequest{Nonce: randomToken(), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(ar.Nonce), oauth2.S256ChallengeOption(ar.Verifier)}
	for k, vs := range extra {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	ar.URL = r.oauth.AuthCodeURL(randomToken(), opts...)
	return ar
}

// idClaims are the claims of an ID token the test looks at.
type idClaims struct {
	ACR   string   `json:"acr"`
	AMR   []string `json:"amr"`
	Nonce string   `json:"nonce"`
}

// exchange redeems code at the replica's token endpoint and verifies the
// ID token it returns.
func (r *replica) exchange(code string, ar authRequest) (idClaims, error) {
	var c idClaims
	if code == "" {
		return c, errors.New("no code in the callback")
	}
	ctx := oidc.ClientContext(context.Background(), r.hc)
	tok, err := r.oauth.Exchange(ctx, code, oauth2.VerifierOption(ar.Verifier))
	if err != nil {
		return c, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		return c, err
	}
	if err := idt.Claims(&c); err != nil {
		return c, err
	}
	if c.Nonce != ar.Nonce {
		return c, fmt.Errorf("nonce %q, want %q", c.Nonce, ar.Nonce)
	}
	return c, nil
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// keepAlive is a connection pool that keeps as many idle connections as
// requests run at once.
func keepAlive() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return tr
}

// cookieBrowser is a browser of one replica, without JavaScript: its own
// cookie jar, redirects followed on the replica and stopped elsewhere (at
// the relying party's callback). Its methods return errors rather than
// failing the test, as they run on many goroutines.
type cookieBrowser struct {
	base string
	hc   *http.Client
}

var sharedTransport = keepAlive()

func newCookieBrowser(base string) *cookieBrowser {
	jar, _ := cookiejar.New(nil)
	host := strings.TrimPrefix(base, "http://")
	return &cookieBrowser{base: base, hc: &http.Client{Transport: sharedTransport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != host {
				return http.ErrUseLastResponse
			}
			if len(via) > 20 {
				return errors.New("too many redirects")
			}
			return nil
		}}}
}

// page is an answer as the browser sees it.
type page struct {
	status   int
	url      *url.URL // after redirects
	location *url.URL // a redirect off the replica
	body     string
	doc      *html.Node
}

func (c *cookieBrowser) get(u string) (*page, error) {
	resp, err := c.hc.Get(u)
	if err != nil {
		return nil, err
	}
	return readPage(resp)
}

func (c *cookieBrowser) post(u string, v url.Values) (*page, error) {
	resp, err := c.hc.PostForm(u, v)
	if err != nil {
		return nil, err
	}
	return readPage(resp)
}

func readPage(resp *http.Response) (*page, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	p := &page{status: resp.StatusCode, url: resp.Request.URL, body: string(body)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		p.location, _ = resp.Location()
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "html") {
		if p.doc, err = html.Parse(strings.NewReader(p.body)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// htmlForm is a form of a page, with the values of its named inputs.
type htmlForm struct {
	action, method string
	values         url.Values
}

// form returns the first form whose action contains action.
func (p *page) form(action string) (htmlForm, error) {
	var found *htmlForm
	var walk func(n *html.Node, f *htmlForm)
	walk = func(n *html.Node, f *htmlForm) {
		if found != nil && f == nil {
			return
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if found == nil && strings.Contains(htmlAttr(n, "action"), action) {
					found = &htmlForm{action: htmlAttr(n, "action"), method: strings.ToLower(htmlAttr(n, "method")), values: url.Values{}}
					f = found
				} else {
					f = nil
				}
			case "input":
				if f != nil && htmlAttr(n, "name") != "" && htmlAttr(n, "type") != "submit" && htmlAttr(n, "type") != "checkbox" {
					f.values.Set(htmlAttr(n, "name"), htmlAttr(n, "value"))
				}
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch, f)
		}
		if n.Type == html.ElementNode && n.Data == "form" {
			f = nil
		}
	}
	if p.doc != nil {
		walk(p.doc, nil)
	}
	if found == nil {
		return htmlForm{}, fmt.Errorf("no form posting to %q on %s (status %d): %.500s", action, p.url, p.status, p.text())
	}
	return *found, nil
}

// submit posts f with fields set over its values.
func (c *cookieBrowser) submit(p *page, f htmlForm, fields map[string]string) (*page, error) {
	v := url.Values{}
	for k, vs := range f.values {
		v[k] = slices.Clone(vs)
	}
	for k, val := range fields {
		v.Set(k, val)
	}
	target, err := p.url.Parse(f.action)
	if err != nil {
		return nil, err
	}
	if f.method == "get" {
		target.RawQuery = v.Encode()
		return c.get(target.String())
	}
	return c.post(target.String(), v)
}

func (c *cookieBrowser) submitPassword(p *page, user, pw string) (*page, error) {
	f, err := p.form("/login")
	if err != nil {
		return nil, err
	}
	return c.submit(p, f, map[string]string{"username": user, "password": pw})
}

// callback returns the parameters of a redirect to the relying party.
func (p *page) callback() (url.Values, bool) {
	if p.location == nil || !strings.HasPrefix(p.location.String(), rpCallback) {
		return nil, false
	}
	return p.location.Query(), true
}

// text is the page's visible text, collapsed.
func (p *page) text() string {
	if p.doc == nil {
		return p.body
	}
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script") {
			return
		}
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(p.doc)
	return strings.Join(strings.Fields(sb.String()), " ")
}

func htmlAttr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

var otpauthSecret = regexp.MustCompile(`otpauth://[^"<]*?secret=([A-Z2-7]+)`)

// enrolTOTP adds an authenticator app on the account page and returns its
// secret; the code of the current time step confirms it.
func (c *cookieBrowser) enrolTOTP() (string, error) {
	p, err := c.get(c.base + "/account/enrol?method=totp")
	if err != nil {
		return "", err
	}
	m := otpauthSecret.FindStringSubmatch(p.body)
	if m == nil {
		return "", fmt.Errorf("no otpauth:// link on the enrolment page (%d): %.500s", p.status, p.text())
	}
	f, err := p.form("/account/enrol")
	if err != nil {
		return "", err
	}
	done, err := c.submit(p, f, map[string]string{"code": totpCode(m[1], time.Now()), "label": "phone"})
	if err != nil {
		return "", err
	}
	if !strings.Contains(done.text(), "The method was added") {
		return "", fmt.Errorf("authenticator app not added (%d): %.500s", done.status, done.text())
	}
	return m[1], nil
}

var shownCode = regexp.MustCompile(`<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code></li>`)

// enrolRecovery generates a set of recovery codes on the account page,
// proving the authenticator app first when asked (with the next step's
// code: the current one confirmed the app), ticks "I have saved them"
// and returns the codes.
func (c *cookieBrowser) enrolRecovery(totpSecret string) ([]string, error) {
	p, err := c.get(c.base + "/account/enrol?method=recovery")
	if err != nil {
		return nil, err
	}
	if f, ferr := p.form("/login/verify"); ferr == nil {
		p, err = c.submit(p, f, map[string]string{"code": totpCode(totpSecret, time.Now().Add(30*time.Second))})
		if err != nil {
			return nil, err
		}
	}
	var codes []string
	for _, m := range shownCode.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) == 0 {
		return nil, fmt.Errorf("no recovery codes on the enrolment page (%d at %s): %.500s", p.status, p.url, p.text())
	}
	f, err := p.form("/account/enrol")
	if err != nil {
		return nil, err
	}
	done, err := c.submit(p, f, map[string]string{"saved": "on"})
	if err != nil {
		return nil, err
	}
	if !strings.Contains(done.text(), "The method was added") || !strings.Contains(done.text(), fmt.Sprintf("%d of %d codes left", len(codes), len(codes))) {
		return nil, fmt.Errorf("recovery codes not added (%d): %.500s", done.status, done.text())
	}
	return codes, nil
}

// totpCode is the code an authenticator app shows at t ("" for a bad
// secret, which the server refuses).
func totpCode(secret string, at time.Time) string {
	code, _ := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	return code
}
