package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/postgres"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
	"github.com/stepup-mfa/stepup/testenv"
)

// The crash test (issue 18): `stepup serve` killed with SIGKILL in the
// middle of a load of admin API writes and sign-ins, three times, and
// restarted on the same address; afterwards every write the client saw
// acknowledged is there, with its audit event. On SQLite and on
// PostgreSQL.

const (
	botID     = "bot"
	botSecret = "bot-secret-for-the-crash-test"
	alicePass = "correct horse battery"
)

// crashConfig is a config for serve on addr over the store named by
// storageYAML, with an admin automation client and a public sign-in
// client.
func crashConfig(t *testing.T, dir, addr, storageYAML string) string {
	t.Helper()
	return writeConfig(t, dir, cheapArgon+`listen: `+addr+`
issuer: http://`+addr+`
storage: `+storageYAML+`
keys: {secret_file: `+filepath.Join(dir, "secret.key")+`}
outbox: {dir: `+filepath.Join(dir, "outbox")+`}
clients:
  - id: `+botID+`
    secret: `+botSecret+`
    grant_types: [client_credentials]
    permissions: [manage_mfa]
  - id: app
    redirect_uris: [`+rpCallback+`]
methods:
  totp: {enabled: true}
  tempcode: {enabled: true}
  recovery: {enabled: false}
  sms: {enabled: false}
`)
}

// serveProc is one `stepup serve` that the test kills and restarts.
type serveProc struct {
	t    *testing.T
	dir  string
	cfg  string
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	logs *testenv.LogBuffer
}

func startServeProc(t *testing.T, dir, cfg, addr string) *serveProc {
	t.Helper()
	s := &serveProc{t: t, dir: dir, cfg: cfg, url: "http://" + addr, logs: &testenv.LogBuffer{}}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("stepup serve:\n%.20000s", s.logs.String())
		}
	})
	return s
}

func (s *serveProc) start() {
	s.t.Helper()
	s.cmd = exec.Command(stepupBin, "serve", "--config", s.cfg)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.done)
	waitReady(s.t, s.url+"/readyz")
}

// kill is kill -9: no shutdown, no flush, no goodbye to the plugins,
// which must end on their own (no orphans).
func (s *serveProc) kill() {
	s.t.Helper()
	plugins, err := testenv.Children(s.cmd.Process.Pid)
	if err != nil || len(plugins) == 0 {
		s.t.Fatalf("no plugin processes under serve: %v", err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	<-s.done
	testenv.Eventually(s.t, "the plugins of a killed serve to end", func() bool {
		for _, pid := range plugins {
			stat, err := os.ReadFile("/proc/" + pid + "/stat")
			if err == nil && !strings.Contains(string(stat), ") Z ") {
				return false
			}
		}
		return true
	})
}

func (s *serveProc) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// answer is one HTTP answer as the load sees it.
type answer struct {
	status int
	body   string
	header http.Header
}

// apiClient calls the admin API with a client_credentials token, which
// it fetches again when refused (a token is not lost by a restart, but a
// test does not depend on that).
type apiClient struct {
	base    string
	hc      *http.Client
	tokenMu sync.Mutex
	token   string
	sent    atomic.Int64 // requests sent
	five    atomic.Int64 // 5xx answers
	cut     atomic.Int64 // requests without an answer (serve killed or down)
	// unavailable counts the answers that say "try again": 503, or
	// temporarily_unavailable.
	unavailable atomic.Int64
	// onAnswer, when set, looks at every answer.
	onAnswer func(*http.Request, answer)

	mu       sync.Mutex
	statuses map[int]int // answers by status
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, hc: &http.Client{Transport: keepAlive(), Timeout: 20 * time.Second}}
}

// tokenRequest asks the token endpoint for a client_credentials token.
func (a *apiClient) tokenRequest() (answer, error) {
	req, _ := http.NewRequest("POST", a.base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(botID, botSecret)
	return a.do(req)
}

func (a *apiClient) do(req *http.Request) (answer, error) { return a.doWith(a.hc, req) }

// doWith sends req with hc and counts it and its answer.
func (a *apiClient) doWith(hc *http.Client, req *http.Request) (answer, error) {
	a.sent.Add(1)
	resp, err := hc.Do(req)
	if err != nil {
		a.cut.Add(1)
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ans := answer{status: resp.StatusCode, body: string(b), header: resp.Header}
	if resp.StatusCode >= 500 {
		a.five.Add(1)
	}
	a.mu.Lock()
	if a.statuses == nil {
		a.statuses = map[int]int{}
	}
	a.statuses[resp.StatusCode]++
	a.mu.Unlock()
	if resp.StatusCode == http.StatusServiceUnavailable || strings.Contains(ans.body, "temporarily_unavailable") {
		a.unavailable.Add(1)
	}
	if a.onAnswer != nil {
		a.onAnswer(req, ans)
	}
	return ans, err
}

func (a *apiClient) getToken() (string, error) {
	a.tokenMu.Lock()
	defer a.tokenMu.Unlock()
	if a.token != "" {
		return a.token, nil
	}
	ans, err := a.tokenRequest()
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if ans.status != 200 || json.Unmarshal([]byte(ans.body), &tok) != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: %d %.300s", ans.status, ans.body)
	}
	a.token = tok.AccessToken
	return a.token, nil
}

// call sends one admin API request with body as JSON (nil: none).
func (a *apiClient) call(method, path string, body any) (answer, error) {
	tok, err := a.getToken()
	if err != nil {
		return answer{}, err
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	ans, err := a.do(req)
	if err == nil && ans.status == http.StatusUnauthorized {
		a.tokenMu.Lock()
		if a.token == tok {
			a.token = ""
		}
		a.tokenMu.Unlock()
	}
	return ans, err
}

// acked is what the client saw acknowledged.
type acked struct {
	mu        sync.Mutex
	users     []string // created, 201
	tempcodes []string // the users a temporary code was issued for, 2xx
	signIns   int      // sign-ins that ended in a verified ID token
}

func (k *acked) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.users) + len(k.tempcodes) + k.signIns
}

// load runs workers until stop is closed: each creates users, issues a
// temporary code for every other one it created, and now and then signs
// alice in with her password. Answers that are refusals or transport
// errors (serve is down) are not acknowledgements; a 500 fails the test.
func load(t *testing.T, a *apiClient, r *replica, workers int, stop chan struct{}, k *acked) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("crash-%d-%d", w, i)
				ans, err := a.call("POST", "/admin/v1/users", map[string]any{"username": name})
				if err != nil {
					time.Sleep(20 * time.Millisecond) // serve is down: connection refused
					continue
				}
				if ans.status == http.StatusInternalServerError {
					t.Errorf("create %s: 500 %.300s", name, ans.body)
				}
				if ans.status != http.StatusCreated {
					time.Sleep(10 * time.Millisecond) // the database is away: a client waits a little
					continue
				}
				k.mu.Lock()
				k.users = append(k.users, name)
				k.mu.Unlock()
				if i%2 == 0 {
					ans, err := a.call("POST", "/admin/v1/users/"+name+"/temporary-code", map[string]any{"ttl": "2h"})
					if err == nil && ans.status == http.StatusInternalServerError {
						t.Errorf("temporary code for %s: 500 %.300s", name, ans.body)
					}
					if err == nil && ans.status/100 == 2 {
						k.mu.Lock()
						k.tempcodes = append(k.tempcodes, name)
						k.mu.Unlock()
					}
				}
				if i%4 == 1 && r != nil {
					if signIn(a, r) == nil {
						k.mu.Lock()
						k.signIns++
						k.mu.Unlock()
					}
				}
			}
		}()
	}
	return &wg
}

// signIn signs alice in with her password (aal1) and redeems the code.
func signIn(a *apiClient, r *replica) error {
	c := newCookieBrowser(r.url)
	ar := r.authURL(nil)
	a.sent.Add(3)
	p, err := c.get(ar.URL)
	if err == nil {
		p, err = c.submitPassword(p, "alice", alicePass)
	}
	if err != nil {
		return err
	}
	cb, ok := p.callback()
	if !ok {
		if p.status >= 500 {
			a.five.Add(1)
		}
		if p.status == http.StatusServiceUnavailable {
			a.unavailable.Add(1)
		}
		return fmt.Errorf("no callback: %d", p.status)
	}
	_, err = r.exchange(cb.Get("code"), ar)
	return err
}

// TestCrashUnderLoad: serve killed with SIGKILL three times under a load
// of writes loses none that it acknowledged, nor any one's audit event.
func TestCrashUnderLoad(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			dir := t.TempDir()
			addr := freeAddr(t)
			var storageYAML string
			var open func() (storage.Store, error)
			if driver == "sqlite" {
				db := filepath.Join(dir, "stepup.db")
				storageYAML = "{driver: sqlite, dsn: " + db + "}"
				open = func() (storage.Store, error) { return sqlite.Open(context.Background(), db) }
			} else {
				dsn := testenv.PostgresDSN(t)
				storageYAML = "{driver: postgres, dsn: '" + dsn + "'}"
				open = func() (storage.Store, error) { return postgres.Open(context.Background(), dsn) }
			}
			cfg := crashConfig(t, dir, addr, storageYAML)
			if _, stderr, code := stepup(t, dir, alicePass+"\n", "user", "add", "alice", "--password-stdin", "--config", cfg); code != 0 {
				t.Fatalf("user add: %s", stderr)
			}
			srv := startServeProc(t, dir, cfg, addr)
			r := startReplicaClient(t, srv.url)
			a := newAPIClient(srv.url)
			k := &acked{}
			stop := make(chan struct{})
			wg := load(t, a, r, 4, stop, k)
			const kills = 3
			for range kills {
				waitAcks(t, k, k.count()+20)
				srv.kill()
				srv.start()
			}
			waitAcks(t, k, k.count()+20)
			close(stop)
			wg.Wait()
			checkCodesActive(t, a, k)
			srv.stop()

			checked, noEvent := checkAcked(t, open, k)
			for _, name := range noEvent {
				t.Errorf("the temporary code issued for %s was acknowledged and has no tempcode.issued event", name)
			}
			t.Logf("%s: requests sent %d, 5xx %d, unanswered (serve killed mid-request, or down) %d, kills survived %d, writes checked %d (users %d with their admin.user.create event, temporary codes %d active with tempcode.issued, sign-ins %d with login.completed)",
				driver, a.sent.Load(), a.five.Load(), a.cut.Load(), kills, checked, len(k.users), len(k.tempcodes), k.signIns)
		})
	}
}

// startReplicaClient is a relying party of the serve at base: discovery,
// the public client "app", ID tokens verified by go-oidc.
func startReplicaClient(t *testing.T, base string) *replica {
	t.Helper()
	r := &replica{url: base, hc: &http.Client{Transport: keepAlive(), Timeout: 20 * time.Second}}
	ctx := oidc.ClientContext(context.Background(), r.hc)
	p, err := oidc.NewProvider(ctx, r.url)
	if err != nil {
		t.Fatalf("discovery of %s: %v", r.url, err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	r.oauth = oauth2.Config{ClientID: "app", Endpoint: ep, RedirectURL: rpCallback, Scopes: []string{oidc.ScopeOpenID}}
	r.verifier = p.Verifier(&oidc.Config{ClientID: "app"})
	return r
}

// checkCodesActive checks through the admin API that every acknowledged
// temporary code is there, as the method keeps it.
func checkCodesActive(t *testing.T, a *apiClient, k *acked) {
	t.Helper()
	for _, name := range k.tempcodes {
		ans, err := a.call("GET", "/admin/v1/users/"+name+"/temporary-code", nil)
		var st struct {
			Active bool `json:"active"`
		}
		if err != nil || ans.status != 200 || json.Unmarshal([]byte(ans.body), &st) != nil || !st.Active {
			t.Errorf("the temporary code issued for %s was acknowledged and is not active: %v %d %.300s", name, err, ans.status, ans.body)
		}
	}
}

// waitAcks waits until the load has had n writes acknowledged.
func waitAcks(t *testing.T, k *acked, n int) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("%d acknowledged writes", n), func() bool { return k.count() >= n })
}

// checkAcked opens the store the stopped serve used and checks that every
// acknowledged user is there with its admin.user.create event. It returns
// how many writes it checked, and the users whose acknowledged temporary
// code has no tempcode.issued event, for the caller to judge: a code and
// its event are not yet written in one transaction (issue 18, item 9), so
// a database that goes away between the two leaves a code acknowledged
// without its event; a kill of serve cannot, as serve answers only after
// both.
func checkAcked(t *testing.T, open func() (storage.Store, error), k *acked) (checked int, noEvent []string) {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]storage.User{}
	for _, u := range users {
		byName[u.Username] = u
	}
	events := func(typ string) map[string]bool {
		evs, err := s.ListEvents(ctx, storage.EventFilter{Type: typ, Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, e := range evs {
			m[e.UserID] = true
		}
		return m
	}
	created, issued := events("admin.user.create"), events("tempcode.issued")
	// A sign-in's completion and its login.completed event are one write
	// (SaveLogin): every sign-in that ended in an ID token has its event.
	completed, err := s.ListEvents(ctx, storage.EventFilter{UserID: byName["alice"].ID, Type: "login.completed", Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(completed) < k.signIns {
		t.Errorf("%d sign-ins ended in an ID token, and %d login.completed events are there", k.signIns, len(completed))
	}
	checked += k.signIns
	for _, name := range k.users {
		u, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("user %s was acknowledged (201) and is gone", name)
		case !created[u.ID]:
			t.Errorf("user %s is there without its admin.user.create event", name)
		}
		checked++
	}
	for _, name := range k.tempcodes {
		if u, ok := byName[name]; !ok || !issued[u.ID] {
			noEvent = append(noEvent, name)
		}
		checked++
	}
	return checked, noEvent
}
