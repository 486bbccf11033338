package provider_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/testenv"
)

const adminPassword = "help desk password"

// adminEnv has the TOTP and tempcode plugins, an administrator "helpdesk"
// (manage_mfa, TOTP enrolled, signed in at aal1 in adminB) and alice.
type adminEnv struct {
	env         *testenv.Env
	rp          *testenv.RP
	console     *testenv.RP // the client designated for administration
	adminB      *testenv.Browser
	adminSecret string
	aliceB      *testenv.Browser
	aliceSecret string
	aliceAALOne *testenv.Tokens
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	a := &adminEnv{env: testenv.New(t, testenv.WithMethods("totp", "tempcode"))}
	env := a.env
	env.AddUser(t, "helpdesk", adminPassword, "manage_mfa")
	env.AddUser(t, "alice", alicePassword)
	a.rp = env.NewRP(t, testenv.PublicClient, "")
	a.console = env.NewRP(t, testenv.AdminConsole, "")
	a.adminB = env.NewBrowser(t)
	login(t, env, a.adminB, a.rp, nil, "helpdesk", adminPassword)
	a.adminSecret = a.adminB.EnrolTOTP()
	a.aliceB = env.NewBrowser(t)
	a.aliceAALOne = login(t, env, a.aliceB, a.rp, nil, "alice", alicePassword)
	a.aliceSecret = a.aliceB.EnrolTOTP()
	env.Clock.Advance(30 * time.Second)
	return a
}

// adminToken returns an access token of helpdesk at the level asked for,
// issued to the admin console.
func (a *adminEnv) adminToken(t *testing.T, acr string) string {
	t.Helper()
	return a.tokenAt(t, a.console, acr)
}

// tokenAt returns an access token of helpdesk issued to rp.
func (a *adminEnv) tokenAt(t *testing.T, rp *testenv.RP, acr string) string {
	t.Helper()
	// max_age as the admin API's challenge asks (admin.max_auth_age).
	ar := rp.AuthURL(url.Values{"acr_values": {acr}, "max_age": {"900"}})
	p := a.adminB.Get(ar.URL)
	if p.IsLoginPage() {
		p = a.adminB.SubmitPassword(p, "helpdesk", adminPassword)
	}
	if _, done := testenv.CallbackOf(t, p); !done {
		p = stepUp(t, a.adminB, p, testenv.TOTPCode(t, a.adminSecret, a.env.Clock.Now()))
	}
	tok, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.ACR != acr {
		t.Fatalf("admin token acr = %q, want %q", tok.Claims.ACR, acr)
	}
	return tok.OAuth.AccessToken
}

type apiResponse struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func callAPI(t *testing.T, env *testenv.Env, token, method, path string, body any) apiResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, env.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := apiResponse{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	json.Unmarshal(raw, &out.Body)
	return out
}

func TestAdminStepUpChallenge(t *testing.T) {
	a := newAdminEnv(t)
	tok := a.adminToken(t, "aal1")
	got := callAPI(t, a.env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"})
	challenge := got.Header.Get("WWW-Authenticate")
	if got.Status != 401 || !strings.Contains(challenge, `error="insufficient_user_authentication"`) ||
		!strings.Contains(challenge, `acr_values="aal2`) || !strings.Contains(challenge, "max_age=900") {
		t.Fatalf("aal1 admin: %d %q %s", got.Status, challenge, got.Raw)
	}
	if got.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("content type %q", got.Header.Get("Content-Type"))
	}
	// The client does what the challenge says and succeeds.
	tok = a.adminToken(t, "aal2")
	got = callAPI(t, a.env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"})
	if got.Status != 201 || !regexp.MustCompile(`^[0-9]{8}$`).MatchString(got.Body["code"].(string)) {
		t.Fatalf("after step-up: %d %s", got.Status, got.Raw)
	}
	// Too old an authentication is challenged again.
	a.env.Clock.Advance(16 * time.Minute)
	if got := callAPI(t, a.env, tok, "GET", "/admin/v1/users/alice", nil); got.Status != 401 {
		t.Fatalf("after max_auth_age: %d", got.Status)
	}
}

func TestAdminWithoutPermission(t *testing.T) {
	a := newAdminEnv(t)
	ar := a.console.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := stepUp(t, a.aliceB, a.aliceB.Get(ar.URL), testenv.TOTPCode(t, a.aliceSecret, a.env.Clock.Now()))
	tok, err := a.console.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	got := callAPI(t, a.env, tok.OAuth.AccessToken, "GET", "/admin/v1/users/helpdesk", nil)
	if got.Status != 403 || !strings.Contains(got.Raw, "manage_mfa") {
		t.Fatalf("user without permission: %d %s", got.Status, got.Raw)
	}
	if got := callAPI(t, a.env, "", "GET", "/admin/v1/users/alice", nil); got.Status != 401 {
		t.Fatalf("no token: %d", got.Status)
	}
}

func TestTempCodeRules(t *testing.T) {
	a := newAdminEnv(t)
	env := a.env
	tok := a.adminToken(t, "aal2")
	issue := func(user, ttl string) apiResponse {
		return callAPI(t, env, tok, "POST", "/admin/v1/users/"+user+"/temporary-code", map[string]string{"ttl": ttl})
	}
	for _, tc := range []struct {
		user, ttl string
		status    int
		detail    string
	}{
		{"alice", "59m", 400, "between 1h and 24h"},
		{"alice", "24h1m", 400, "between 1h and 24h"},
		{"alice", "soon", 400, "must be a duration"},
		{"nobody", "4h", 404, "no user"},
		{"helpdesk", "4h", 403, "yourself"},
	} {
		got := issue(tc.user, tc.ttl)
		if got.Status != tc.status || !strings.Contains(got.Raw, tc.detail) {
			t.Errorf("%s %s: %d %s", tc.user, tc.ttl, got.Status, got.Raw)
		}
	}
	first := issue("alice", "1h")
	if first.Status != 201 {
		t.Fatalf("1h: %d %s", first.Status, first.Raw)
	}
	code := first.Body["code"].(string)
	if got := issue("alice", "24h"); got.Status != 409 || !strings.Contains(got.Raw, "expire the current code first") {
		t.Fatalf("second code: %d %s", got.Status, got.Raw)
	}
	meta := callAPI(t, env, tok, "GET", "/admin/v1/users/alice/temporary-code", nil)
	if meta.Status != 200 || meta.Body["active"] != true || strings.Contains(meta.Raw, code) {
		t.Fatalf("metadata: %d %s", meta.Status, meta.Raw)
	}
	// Five more in the hour (expiring each), then the seventh is refused.
	for i := 2; i <= 6; i++ {
		if got := callAPI(t, env, tok, "DELETE", "/admin/v1/users/alice/temporary-code", nil); got.Status != 204 {
			t.Fatalf("expire: %d %s", got.Status, got.Raw)
		}
		if got := issue("alice", "24h"); got.Status != 201 {
			t.Fatalf("code %d: %d %s", i, got.Status, got.Raw)
		}
	}
	callAPI(t, env, tok, "DELETE", "/admin/v1/users/alice/temporary-code", nil)
	seventh := issue("alice", "4h")
	if seventh.Status != 429 || seventh.Header.Get("Retry-After") == "" {
		t.Fatalf("seventh: %d %v %s", seventh.Status, seventh.Header, seventh.Raw)
	}
	env.Clock.Advance(61 * time.Minute)
	tok = a.adminToken(t, "aal2")
	if got := callAPI(t, env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"}); got.Status != 201 {
		t.Fatalf("after the hour: %d %s", got.Status, got.Raw)
	}
	// Inactive users get none.
	callAPI(t, env, tok, "DELETE", "/admin/v1/users/alice/temporary-code", nil)
	if got := callAPI(t, env, tok, "PATCH", "/admin/v1/users/alice", map[string]bool{"active": false}); got.Status != 200 || got.Body["active"] != false {
		t.Fatalf("deactivate: %d %s", got.Status, got.Raw)
	}
	if got := callAPI(t, env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"}); got.Status != 409 {
		t.Fatalf("inactive: %d %s", got.Status, got.Raw)
	}
	// The code never reaches the logs or the audit log.
	if strings.Contains(env.Logs.String(), code) {
		t.Fatal("the code is in the logs")
	}
	events := callAPI(t, env, tok, "GET", "/admin/v1/events?user=alice&type=tempcode.", nil)
	if strings.Contains(events.Raw, code) || !strings.Contains(events.Raw, `"tempcode.issued"`) || !strings.Contains(events.Raw, `"actor":"helpdesk"`) {
		t.Fatalf("events: %s", events.Raw)
	}
}

func TestTempCodeConcurrentIssue(t *testing.T) {
	a := newAdminEnv(t)
	tok := a.adminToken(t, "aal2")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				got := callAPI(t, a.env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "2h"})
				callAPI(t, a.env, tok, "DELETE", "/admin/v1/users/alice/temporary-code", nil)
				mu.Lock()
				statuses[got.Status]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if statuses[201] < 1 || statuses[201] > 6 {
		t.Fatalf("issued %d codes in one hour under 24 parallel attempts (statuses %v)", statuses[201], statuses)
	}
	// Two at once with none active: exactly one wins.
	b := newAdminEnv(t)
	tok = b.adminToken(t, "aal2")
	results := make(chan int, 2)
	for range 2 {
		go func() {
			results <- callAPI(t, b.env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "2h"}).Status
		}()
	}
	got := []int{<-results, <-results}
	slices.Sort(got)
	if !slices.Equal(got, []int{201, 409}) {
		t.Fatalf("two at once: %v", got)
	}
}

func TestTempCodeLogin(t *testing.T) {
	a := newAdminEnv(t)
	env := a.env
	tok := a.adminToken(t, "aal2")
	code := callAPI(t, env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"}).Body["code"].(string)

	// Offered first, before TOTP, with TOTP under "use another method".
	ar := a.rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	p := a.aliceB.Get(ar.URL)
	f := p.Form(t, "/login/verify")
	if f.Values.Get("method") != "tempcode" || !strings.Contains(p.Body, "method=totp") {
		t.Fatalf("temporary code not offered first: %s", p.Text())
	}
	p = a.aliceB.Submit(p, f, map[string]string{"code": code})
	got, err := a.rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil || got.Claims.ACR != "aal2" || !slices.Equal(got.Claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("%v %+v", err, got)
	}
	// Usable again until it expires.
	p = a.aliceB.Get(a.rp.AuthURL(url.Values{"acr_values": {"aal2"}, "max_age": {"0"}}).URL)
	p = a.aliceB.SubmitPassword(p, "alice", alicePassword)
	f = p.Form(t, "/login/verify")
	testenv.MustCallback(t, a.aliceB.Submit(p, f, map[string]string{"code": code})).Code(t)
	// Never aal3.
	claims := `{"id_token":{"acr":{"essential":true,"values":["aal3"]}}}`
	if cb := testenv.MustCallback(t, a.aliceB.Get(a.rp.AuthURL(url.Values{"claims": {claims}}).URL)); cb.Params.Get("error") != "unmet_authentication_requirements" {
		t.Fatalf("aal3 with a temporary code: %v", cb.Params)
	}
	// Expired: back on TOTP with nothing to re-enrol.
	env.Clock.Advance(4*time.Hour + time.Minute)
	p = a.aliceB.Get(a.rp.AuthURL(url.Values{"acr_values": {"aal2"}, "max_age": {"0"}}).URL)
	p = a.aliceB.SubmitPassword(p, "alice", alicePassword)
	if f := p.Form(t, "/login/verify"); f.Values.Get("method") != "totp" {
		t.Fatalf("after expiry: %s", p.Text())
	}
	if len(listEvents(t, env, "tempcode.used")) != 2 {
		t.Fatal("uses not audited")
	}
}

func TestAdminClientCredentials(t *testing.T) {
	a := newAdminEnv(t)
	cc := clientcredentials.Config{ClientID: testenv.AdminBot, ClientSecret: testenv.AdminBotSecret, TokenURL: a.env.URL + "/oauth/token"}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := callAPI(t, a.env, tok.AccessToken, "GET", "/admin/v1/users/alice/methods", nil)
	if got.Status != 200 || !strings.Contains(got.Raw, `"method":"totp"`) {
		t.Fatalf("methods: %d %s", got.Status, got.Raw)
	}
	id := got.Body["methods"].([]any)[0].(map[string]any)["id"].(string)
	created := callAPI(t, a.env, tok.AccessToken, "POST", "/admin/v1/users", map[string]any{"username": "bob", "email": "bob@example.com"})
	if created.Status != 201 || created.Body["username"] != "bob" {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	if got := callAPI(t, a.env, tok.AccessToken, "POST", "/admin/v1/users", map[string]any{"username": "bob"}); got.Status != 409 {
		t.Fatalf("duplicate: %d", got.Status)
	}
	// Disconnect a lost device and end the user's sessions.
	del := callAPI(t, a.env, tok.AccessToken, "DELETE", "/admin/v1/users/alice/methods/"+id+"?end_sessions=true", nil)
	if del.Status != 204 {
		t.Fatalf("disconnect: %d %s", del.Status, del.Raw)
	}
	if !a.aliceB.Get(a.rp.AuthURL(nil).URL).IsLoginPage() {
		t.Fatal("alice is still signed in after her sessions were ended")
	}
	if _, err := a.rp.Refresh(a.aliceAALOne.OAuth.RefreshToken); err == nil {
		t.Fatal("alice's refresh token survived")
	}
	ev := callAPI(t, a.env, tok.AccessToken, "GET", "/admin/v1/events?type=method.removed", nil)
	if !strings.Contains(ev.Raw, `"actor":"client:admin-bot"`) {
		t.Fatalf("events: %s", ev.Raw)
	}
}

func TestTempCodeLockoutAndSelfExpiry(t *testing.T) {
	a := newAdminEnv(t)
	env := a.env
	tok := a.adminToken(t, "aal2")
	code := callAPI(t, env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"}).Body["code"].(string)

	// The user sees it on the account page and can expire it.
	acct := a.aliceB.Get(env.URL + "/account")
	if !strings.Contains(acct.Text(), "Temporary code") || strings.Contains(acct.Body, code) {
		t.Fatalf("account page: %s", acct.Text())
	}
	var expire testenv.Form
	for _, f := range acct.Forms() {
		if f.Values.Get("method") == "tempcode" {
			expire = f
		}
	}
	if expire.Action == "" {
		t.Fatalf("no expire form: %s", acct.Body)
	}
	if p := a.aliceB.Submit(acct, expire, nil); !strings.Contains(p.Text(), "removed") {
		t.Fatalf("expire: %s", p.Text())
	}
	if st := callAPI(t, env, tok, "GET", "/admin/v1/users/alice/temporary-code", nil); st.Body["active"] != false {
		t.Fatalf("still active: %s", st.Raw)
	}

	// A new code guessed wrong 10 times is locked like any method.
	code = callAPI(t, env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"}).Body["code"].(string)
	claims := `{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}`
	p := a.aliceB.Get(a.rp.AuthURL(url.Values{"claims": {claims}, "max_age": {"0"}}).URL)
	p = a.aliceB.SubmitPassword(p, "alice", alicePassword)
	wrong := "00000000"
	if wrong == code {
		wrong = "11111111"
	}
	for range 10 {
		p = a.aliceB.Submit(p, p.Form(t, "/login/verify"), map[string]string{"method": "tempcode", "code": wrong})
		if _, done := testenv.CallbackOf(t, p); done {
			break
		}
	}
	// Locked: the next method (TOTP) is offered, with a notice.
	if f := p.Form(t, "/login/verify"); f.Values.Get("method") != "totp" || !strings.Contains(p.Text(), "locked") {
		t.Fatalf("after 10 wrong codes: %s", p.Text())
	}
	ev := listEvents(t, env, "lockout.started")
	if len(ev) != 1 || ev[0].Details["method"] != "tempcode" {
		t.Fatalf("lockout events: %+v", ev)
	}
}

func TestIssuingNotifiesNobodyAndEventsPage(t *testing.T) {
	a := newAdminEnv(t)
	env := a.env
	// The two enrolments of newAdminEnv mail in the background: wait for
	// both, so that only what issuing sends can differ.
	var before []notify.Message
	testenv.Eventually(t, "the enrolments' two emails", func() bool {
		before, _ = notify.ReadOutbox(env.Outbox)
		return len(before) >= 2
	})
	tok := a.adminToken(t, "aal2")
	if got := callAPI(t, env, tok, "POST", "/admin/v1/users/alice/temporary-code", map[string]string{"ttl": "4h"}); got.Status != 201 {
		t.Fatal(got.Raw)
	}
	// Any mail the request started has gone out by now.
	env.Server.WaitNotifications()
	after, _ := notify.ReadOutbox(env.Outbox)
	if len(after) != len(before) {
		t.Fatalf("issuing a temporary code sent mail: %+v", after[len(before):])
	}
	// The audit log pages with next_before, newest first, without repeats.
	seen := map[float64]bool{}
	path := "/admin/v1/events?limit=3"
	for pages := 0; ; pages++ {
		got := callAPI(t, env, tok, "GET", path, nil)
		if got.Status != 200 {
			t.Fatal(got.Raw)
		}
		for _, e := range got.Body["events"].([]any) {
			seq := e.(map[string]any)["seq"].(float64)
			if seen[seq] {
				t.Fatalf("event %v twice", seq)
			}
			seen[seq] = true
		}
		next, ok := got.Body["next_before"].(float64)
		if !ok {
			break
		}
		path = "/admin/v1/events?limit=3&before=" + strconv.FormatFloat(next, 'f', 0, 64)
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
	}
	all := callAPI(t, env, tok, "GET", "/admin/v1/events?limit=1000", nil)
	if n := len(all.Body["events"].([]any)); n != len(seen) || n < 5 {
		t.Fatalf("paged %d events, %d in one page", len(seen), n)
	}
	if got := callAPI(t, env, tok, "GET", "/admin/v1/events?since=yesterday", nil); got.Status != 400 || !strings.Contains(got.Raw, "RFC 3339") {
		t.Fatalf("bad since: %d %s", got.Status, got.Raw)
	}
}

// TestAdminAPIRefusesOtherClientsTokens replays an administrator signing
// in to an ordinary relying party at aal2: the token that party now holds
// (aud: its own client ID) must not work at the admin API, where it
// created a manage_mfa user. The admin console's token does, and the
// user's creation records the permissions granted.
func TestAdminAPIRefusesOtherClientsTokens(t *testing.T) {
	a := newAdminEnv(t)
	body := map[string]any{"username": "intruder", "password": "long enough password", "permissions": []string{"manage_mfa"}}
	got := callAPI(t, a.env, a.tokenAt(t, a.rp, "aal2"), "POST", "/admin/v1/users", body)
	if got.Status != http.StatusUnauthorized || !strings.Contains(got.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("an ordinary client's token at the admin API: %d %q %s", got.Status, got.Header.Get("WWW-Authenticate"), got.Raw)
	}
	if _, err := a.env.Store.GetUserByUsername(t.Context(), "intruder"); err == nil {
		t.Fatal("the user was created")
	}
	got = callAPI(t, a.env, a.adminToken(t, "aal2"), "POST", "/admin/v1/users", body)
	if got.Status != http.StatusCreated {
		t.Fatalf("the admin console's token: %d %s", got.Status, got.Raw)
	}
	ev := listEvents(t, a.env, "admin.user.create")
	if len(ev) == 0 || ev[0].Details["permissions"] != "manage_mfa" || ev[0].Actor != "helpdesk" {
		t.Fatalf("creation event %+v: want the permissions granted and the actor", ev)
	}
}

// TestAdminErrorsQuoteAShortPrefix: an answer quotes at most a short
// prefix of what the caller sent (issue 18, item 7: a 70,000-character
// user made a 70 KB message).
func TestAdminErrorsQuoteAShortPrefix(t *testing.T) {
	a := newAdminEnv(t)
	token := a.adminToken(t, "aal2")
	long := strings.Repeat("a", 70000)
	for _, path := range []string{"/admin/v1/events?user=" + long, "/admin/v1/users/" + long} {
		got := callAPI(t, a.env, token, http.MethodGet, path, nil)
		if got.Status != http.StatusNotFound || len(got.Raw) > 500 || !strings.Contains(got.Raw, "no user") {
			t.Errorf("GET %.40s…: %d, %d bytes: %.200s", path, got.Status, len(got.Raw), got.Raw)
		}
	}
	got := callAPI(t, a.env, token, http.MethodPost, "/admin/v1/users", map[string]any{"username": "bob", "permissions": []string{long}})
	if got.Status != http.StatusBadRequest || len(got.Raw) > 500 {
		t.Errorf("unknown permission: %d, %d bytes", got.Status, len(got.Raw))
	}
}

// TestAdminAPIWithoutItsStore: with the store gone, a good token is
// answered 503 with Retry-After, not 401 "token revoked" (issue 18, item
// 10: the revocation check read any store error as a revocation).
func TestAdminAPIWithoutItsStore(t *testing.T) {
	a := newAdminEnv(t)
	token := a.adminToken(t, "aal2")
	if got := callAPI(t, a.env, token, http.MethodGet, "/admin/v1/users/alice", nil); got.Status != http.StatusOK {
		t.Fatalf("with the store: %d %s", got.Status, got.Raw)
	}
	if err := a.env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, a.env.URL+"/admin/v1/users/alice", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || strings.Contains(string(body), "revoked") {
		t.Fatalf("without the store: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
