package tempcode

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/conformance"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// pluginPath is the stepup-tempcode binary TestMain builds.
var pluginPath string

func TestMain(m *testing.M) {
	os.Exit(hosttest.RunWithPlugin(m, "github.com/stepup-mfa/stepup/plugins/tempcode/cmd/stepup-tempcode", &pluginPath))
}

// t0 is where every test's host clock starts.
var t0 = time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)

// env is the real plugin subprocess behind plugins/host, on an in-memory
// backend and a settable clock.
type env struct {
	p       *host.Plugin
	clock   *hosttest.Clock
	backend *hosttest.Memory
	key     []byte
	logs    *syncBuffer
}

func launch(t *testing.T, config map[string]string) *env {
	t.Helper()
	e := &env{clock: hosttest.NewClock(t0), backend: hosttest.NewMemory(), key: make([]byte, host.KeySize), logs: &syncBuffer{}}
	if _, err := rand.Read(e.key); err != nil {
		t.Fatal(err)
	}
	p, err := host.Launch(context.Background(), e.spec(config))
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() {
		_ = p.Close()
		if t.Failed() {
			t.Logf("plugin and host log:\n%s", e.logs.String())
		}
	})
	e.p = p
	return e
}

func (e *env) spec(config map[string]string) host.Spec {
	return host.Spec{
		Name: Name, Path: pluginPath, Config: config,
		Backend: e.backend, Key: e.key, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// local reads the method's storage from the host side, decrypted.
func (e *env) local(t *testing.T) sdk.Host {
	t.Helper()
	h, err := host.NewLocalHost(Name, e.backend, e.key, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (e *env) admin(action, userID string, params ...string) (map[string]string, error) {
	m := map[string]string{}
	for i := 0; i+1 < len(params); i += 2 {
		m[params[i]] = params[i+1]
	}
	return e.p.Admin(context.Background(), sdk.AdminRequest{Action: action, User: sdk.User{ID: userID, Username: userID}, Params: m})
}

func (e *env) issue(userID, ttl string) (map[string]string, error) {
	return e.admin(ActionIssue, userID, "ttl", ttl, "actor", "admin:helpdesk")
}

// mustIssue issues a code and returns it.
func (e *env) mustIssue(t *testing.T, userID, ttl string) string {
	t.Helper()
	r, err := e.issue(userID, ttl)
	if err != nil {
		t.Fatalf("issue for %s: %v", userID, err)
	}
	return r["code"]
}

func (e *env) mustExpire(t *testing.T, userID string) {
	t.Helper()
	r, err := e.admin(ActionExpire, userID)
	if err != nil || r["expired"] != "true" {
		t.Fatalf("expire for %s = %v, %v", userID, r, err)
	}
}

func (e *env) begin(t *testing.T, userID string) sdk.Challenge {
	t.Helper()
	ch, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: sdk.User{ID: userID}})
	if err != nil {
		t.Fatalf("Begin for %s: %v", userID, err)
	}
	return ch
}

func (e *env) verifyWith(userID, challengeID, code string) (sdk.Result, error) {
	return e.p.Verify(context.Background(), sdk.VerifyRequest{UserID: userID, ChallengeID: challengeID, Response: map[string]string{"code": code}})
}

// verify begins a challenge and answers it.
func (e *env) verify(t *testing.T, userID, code string) error {
	t.Helper()
	_, err := e.verifyWith(userID, e.begin(t, userID).ID, code)
	return err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func isDigits(s string, n int) bool {
	return len(s) == n && strings.Trim(s, "0123456789") == ""
}

// wrong returns another code of the same length.
func wrong(code string) string {
	last := code[len(code)-1]
	return code[:len(code)-1] + string('0'+(last-'0'+1)%10)
}

func TestDescribe(t *testing.T) {
	e := launch(t, nil)
	for _, d := range []sdk.Description{e.p.Description(), must(e.p.Describe(context.Background()))} {
		if d.Name != "tempcode" || d.DisplayName != "Temporary code from your help desk" ||
			!slices.Equal(d.Levels, []string{"aal2"}) || !slices.Equal(d.AMR, []string{"otp"}) ||
			!d.NeedsEnrolment || !d.Bypass || d.Priority != 100 ||
			!slices.Equal(d.AdminActions, []string{"issue", "status", "expire"}) ||
			!slices.Equal(d.Limits, []sdk.Limit{{Operation: sdk.OpVerify, Max: 10, Window: 5 * time.Minute, Key: "verify/{user}"}}) {
			t.Errorf("description %+v", d)
		}
	}
}

// TestDescribeAdminActions: the actions the host offers are well formed,
// their ttl choices follow the settings, and the code's special behaviour
// on the pages and in the audit log is declared, not known to the host by
// name.
func TestDescribeAdminActions(t *testing.T) {
	for _, tc := range []struct {
		settings     map[string]string
		choices      []string
		defaultValue string
	}{
		{nil, []string{"1h", "2h", "3h", "4h", "5h", "6h", "7h", "8h", "9h", "10h", "11h", "12h", "13h", "14h", "15h", "16h",
			"17h", "18h", "19h", "20h", "21h", "22h", "23h", "24h"}, "4h"},
		{map[string]string{"min_ttl": "2h", "max_ttl": "5h"}, []string{"2h", "3h", "4h", "5h"}, "4h"},
		{map[string]string{"min_ttl": "5h", "max_ttl": "7h"}, []string{"5h", "6h", "7h"}, "5h"},
		{map[string]string{"min_ttl": "30m", "max_ttl": "2h"}, []string{"30m", "1h30m"}, "30m"},
	} {
		d := launch(t, tc.settings).p.Description()
		valid, problems := sdk.CheckAdminActions(d)
		if len(problems) > 0 || len(valid) != 3 {
			t.Fatalf("%v: admin actions %+v: %v", tc.settings, d.Admin, problems)
		}
		byName := map[string]sdk.AdminAction{}
		for _, a := range valid {
			byName[a.Name] = a
			if a.Resource != "temporary-code" {
				t.Errorf("%s on %q, want the admin API's temporary-code", a.Name, a.Resource)
			}
		}
		issue := byName[ActionIssue]
		if issue.Verb != sdk.VerbPost || !issue.BreakGlass || !issue.NotForSelf || !issue.ActiveUserOnly ||
			issue.Event != "tempcode.issued" || issue.RefusedEvent != "tempcode.issue_refused" || len(issue.Params) != 1 ||
			!slices.Equal(issue.Params[0].Choices, tc.choices) || issue.Params[0].Default != tc.defaultValue ||
			len(issue.Results) == 0 || issue.Results[0] != (sdk.AdminResult{Name: "code", Label: "Temporary code", Secret: true}) {
			t.Errorf("%v: issue %+v", tc.settings, issue)
		}
		if st := byName[ActionStatus]; st.Verb != sdk.VerbGet || st.Event != "" {
			t.Errorf("status %+v", st)
		}
		if ex := byName[ActionExpire]; ex.Verb != sdk.VerbDelete || ex.Event != "tempcode.expired" || ex.EventIf != "expired" {
			t.Errorf("expire %+v", ex)
		}
		if d.UsedEvent != "tempcode.used" || d.Removal != (sdk.Removal{Label: "Expire now", Event: "tempcode.expired", NoReverify: true}) {
			t.Errorf("used event %q, removal %+v", d.UsedEvent, d.Removal)
		}
	}
}

// TestIssueRecordsTheActor: who issues the code comes with the request.
func TestIssueRecordsTheActor(t *testing.T) {
	e := launch(t, nil)
	if _, err := e.p.Admin(context.Background(), sdk.AdminRequest{Action: ActionIssue, User: sdk.User{ID: "alice"},
		Params: map[string]string{"ttl": "2h"}, Actor: "helpdesk"}); err != nil {
		t.Fatal(err)
	}
	if st, err := e.admin(ActionStatus, "alice"); err != nil || st["issued_by"] != "helpdesk" || !strings.Contains(st["summary"], "(issued by helpdesk)") {
		t.Fatalf("status = %v, %v", st, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestIssueTTL(t *testing.T) {
	e := launch(t, nil)
	cases := []struct {
		ttl     string
		ok      bool
		message string // for a refusal: the whole message, or "" for any naming the range
	}{
		{"59m", false, "ttl must be between 1h and 24h"},
		{"59m59s", false, "ttl must be between 1h and 24h"},
		{"1h", true, ""},
		{"90m", true, ""},
		{"4h", true, ""},
		{"24h", true, ""},
		{"24h0m1s", false, "ttl must be between 1h and 24h"},
		{"24h1m", false, "ttl must be between 1h and 24h"},
		{"-4h", false, "ttl must be between 1h and 24h"},
		{"garbage", false, ""},
		{"4", false, ""},
		{"", false, ""},
	}
	for i, c := range cases {
		t.Run(c.ttl, func(t *testing.T) {
			user := fmt.Sprintf("ttl-%d", i)
			r, err := e.issue(user, c.ttl)
			if !c.ok {
				msg := sdk.UserMessage(err)
				if !errors.Is(err, sdk.ErrInvalidInput) || !strings.Contains(msg, "between 1h and 24h") || (c.message != "" && msg != c.message) {
					t.Fatalf("issue ttl %q = %v, %v (message %q); want ErrInvalidInput naming the range", c.ttl, r, err, msg)
				}
				if st, err := e.admin(ActionStatus, user); err != nil || st["active"] != "false" {
					t.Errorf("status after a refused issue = %v, %v", st, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("issue ttl %q: %v", c.ttl, err)
			}
			want := t0.Add(must(time.ParseDuration(c.ttl))).Format(time.RFC3339)
			if !isDigits(r["code"], 8) || r["expires_at"] != want || r["summary"] != msgIssuedNote || len(r) != 3 {
				t.Errorf("issue ttl %q = %v, want an 8-digit code expiring at %s", c.ttl, r, want)
			}
		})
	}
}

// TestOneActiveAtATime: a second issue while a code is live is a conflict
// that says what to do, and refused issues use up none of the hourly
// budget.
func TestOneActiveAtATime(t *testing.T) {
	e := launch(t, nil)
	code := e.mustIssue(t, "alice", "4h")
	for range 10 {
		_, err := e.issue("alice", "2h")
		if !errors.Is(err, sdk.ErrConflict) || errors.Is(err, sdk.ErrRateLimited) ||
			sdk.UserMessage(err) != "a temporary code is already active: expire the current code first" {
			t.Fatalf("second issue: %v (message %q), want ErrConflict with a message", err, sdk.UserMessage(err))
		}
		if _, err := e.issue("alice", "25h"); !errors.Is(err, sdk.ErrInvalidInput) {
			t.Fatalf("issue with a bad ttl: %v", err)
		}
	}
	if err := e.verify(t, "alice", code); err != nil {
		t.Fatalf("the first code after the refused issues: %v", err)
	}
	e.mustExpire(t, "alice")
	// 1 issued + 5 more = the 6 of the hour; the 20 refusals counted nothing.
	for range 5 {
		e.mustIssue(t, "alice", "1h")
		e.mustExpire(t, "alice")
		e.clock.Advance(time.Minute)
	}
	if _, err := e.issue("alice", "1h"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("seventh issue in the hour: %v, want ErrRateLimited", err)
	}
	// Another user has a budget of their own.
	e.mustIssue(t, "bob", "1h")
}

func TestNewCodeAfterExpiry(t *testing.T) {
	e := launch(t, nil)
	old := e.mustIssue(t, "alice", "1h")
	e.clock.Advance(time.Hour - time.Second)
	if st, err := e.admin(ActionStatus, "alice"); err != nil || st["active"] != "true" {
		t.Fatalf("status a second before expiry = %v, %v", st, err)
	}
	if _, err := e.issue("alice", "1h"); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("issue a second before expiry: %v, want ErrConflict", err)
	}
	e.clock.Advance(time.Second)
	if st, err := e.admin(ActionStatus, "alice"); err != nil || !maps.Equal(st, map[string]string{"active": "false", "summary": msgStatusNone}) {
		t.Fatalf("status at expiry = %v, %v", st, err)
	}
	if _, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: sdk.User{ID: "alice"}}); !errors.Is(err, sdk.ErrNotEnrolled) {
		t.Fatalf("Begin at expiry: %v, want ErrNotEnrolled", err)
	}
	if creds, err := e.p.ListCredentials(context.Background(), "alice"); err != nil || len(creds) != 0 {
		t.Fatalf("credentials at expiry = %v, %v", creds, err)
	}
	code := e.mustIssue(t, "alice", "2h")
	if err := e.verify(t, "alice", code); err != nil {
		t.Fatalf("the new code: %v", err)
	}
	if code != old {
		if err := e.verify(t, "alice", old); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("the expired code after a new issue: %v", err)
		}
	}
}

// TestHourlyLimitSlides: six issues in a rolling hour, then RateLimited
// until the first of them leaves the hour.
func TestHourlyLimitSlides(t *testing.T) {
	e := launch(t, nil)
	for i := range 6 {
		e.clock.Set(t0.Add(time.Duration(i) * 10 * time.Minute))
		e.mustIssue(t, "alice", "1h")
		e.mustExpire(t, "alice")
	}
	e.clock.Set(t0.Add(55 * time.Minute))
	_, err := e.issue("alice", "1h")
	retry, ok := sdk.RetryAfter(err)
	if !errors.Is(err, sdk.ErrRateLimited) || !ok || !retry.Equal(t0.Add(time.Hour)) {
		t.Fatalf("seventh issue = %v (retry after %v), want ErrRateLimited until %v", err, retry, t0.Add(time.Hour))
	}
	if st, _ := e.admin(ActionStatus, "alice"); st["active"] != "false" {
		t.Fatalf("a refused issue left a code: %v", st)
	}
	e.clock.Set(retry.Add(-time.Second))
	if _, err := e.issue("alice", "1h"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("a second before the hour slides: %v", err)
	}
	e.clock.Set(retry)
	code := e.mustIssue(t, "alice", "1h")
	if err := e.verify(t, "alice", code); err != nil {
		t.Fatalf("the code issued after the hour slid: %v", err)
	}
	e.mustExpire(t, "alice")
	_, err = e.issue("alice", "1h")
	if retry, _ := sdk.RetryAfter(err); !errors.Is(err, sdk.ErrRateLimited) || !retry.Equal(t0.Add(70*time.Minute)) {
		t.Fatalf("eighth issue = %v (retry after %v), want ErrRateLimited until %v", err, retry, t0.Add(70*time.Minute))
	}
}

// TestConcurrentIssueOneWins: of two simultaneous issues for one user,
// exactly one gets a code; the other is a conflict that counts nothing.
func TestConcurrentIssueOneWins(t *testing.T) {
	e := launch(t, nil)
	for round := range 10 {
		user := fmt.Sprintf("race-%d", round)
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  [2]error
			codes [2]string
		)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var r map[string]string
				r, errs[i] = e.issue(user, "1h")
				codes[i] = r["code"]
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
				if err := e.verify(t, user, codes[i]); err != nil {
					t.Errorf("the winner's code: %v", err)
				}
			case !errors.Is(err, sdk.ErrConflict) || sdk.UserMessage(err) == "":
				t.Errorf("the loser: %v, want ErrConflict with a message", err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of 2 concurrent issues won, want 1", round, won)
		}
		// The loser counted nothing: five more fit in the hour, not six.
		e.mustExpire(t, user)
		for range 5 {
			e.mustIssue(t, user, "1h")
			e.mustExpire(t, user)
		}
		if _, err := e.issue(user, "1h"); !errors.Is(err, sdk.ErrRateLimited) {
			t.Fatalf("round %d: seventh issue: %v, want ErrRateLimited", round, err)
		}
	}
}

// stormIssueExpire runs workers goroutines that each issue and, when they
// win, expire, iterations times, and returns the expiry times of the codes
// issued. Any error but a conflict or a rate limit fails t.
func stormIssueExpire(t *testing.T, e *env, user string, workers, iterations int) []time.Time {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		issued []time.Time
		start  = make(chan struct{})
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range iterations {
				r, err := e.issue(user, "1h")
				switch {
				case err == nil:
					at, perr := time.Parse(time.RFC3339, r["expires_at"])
					if perr != nil {
						t.Errorf("expires_at %q: %v", r["expires_at"], perr)
					}
					mu.Lock()
					issued = append(issued, at.Add(-time.Hour))
					mu.Unlock()
					if _, err := e.admin(ActionExpire, user); err != nil {
						t.Errorf("expire: %v", err)
					}
				case errors.Is(err, sdk.ErrConflict), errors.Is(err, sdk.ErrRateLimited):
				default:
					t.Errorf("issue: %v", err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	return issued
}

// TestIssueStormExact: 20 parallel issue+expire loops at one instant
// issue exactly per_hour codes between them and what follows: never a
// seventh, and no budget lost to the refused ones.
func TestIssueStormExact(t *testing.T) {
	e := launch(t, nil)
	issued := stormIssueExpire(t, e, "storm", 20, 15)
	if len(issued) > 6 {
		t.Fatalf("%d codes issued in one instant, want at most 6", len(issued))
	}
	_, _ = e.admin(ActionExpire, "storm")
	after := 0
	for {
		_, err := e.issue("storm", "1h")
		if errors.Is(err, sdk.ErrRateLimited) {
			break
		}
		if err != nil {
			t.Fatalf("issue after the storm: %v", err)
		}
		after++
		e.mustExpire(t, "storm")
		if after > 6 {
			break
		}
	}
	if len(issued)+after != 6 {
		t.Fatalf("%d issued in the storm and %d after it; want 6 in all", len(issued), after)
	}
}

// TestIssueStormRollingHour: the same storm in rounds while the clock
// moves on 7 minutes a round: no rolling hour ever holds a seventh code.
func TestIssueStormRollingHour(t *testing.T) {
	e := launch(t, nil)
	var issued []time.Time
	for range 24 {
		issued = append(issued, stormIssueExpire(t, e, "storm", 20, 3)...)
		e.clock.Advance(7 * time.Minute)
	}
	slices.SortFunc(issued, func(a, b time.Time) int { return a.Compare(b) })
	for _, at := range issued {
		n := 0
		for _, other := range issued {
			if other.After(at.Add(-time.Hour)) && !other.After(at) {
				n++
			}
		}
		if n > 6 {
			t.Fatalf("%d codes issued in the hour up to %v, want at most 6 (all: %v)", n, at, issued)
		}
	}
	// 24 rounds of 7 minutes span 2h41m: the budget refills twice.
	if len(issued) < 13 {
		t.Fatalf("only %d codes issued over %v", len(issued), 24*7*time.Minute)
	}
	t.Logf("%d codes issued over %v", len(issued), 24*7*time.Minute)
}

func TestVerifyMultiUse(t *testing.T) {
	e := launch(t, nil)
	code := e.mustIssue(t, "alice", "2h")
	creds, err := e.p.ListCredentials(context.Background(), "alice")
	if err != nil || len(creds) != 1 {
		t.Fatalf("credentials %v, %v", creds, err)
	}
	ch := e.begin(t, "alice")
	f := ch.Fields
	if ch.Prompt != "Enter the temporary code your help desk gave you." || len(f) != 1 || f[0].Name != "code" ||
		f[0].Autocomplete != "one-time-code" || f[0].InputMode != "numeric" || f[0].MaxLength != 8 ||
		!ch.ExpiresAt.Equal(t0.Add(ChallengeTTL)) {
		t.Errorf("challenge %+v", ch)
	}
	for i := range 3 {
		r, err := e.verifyWith("alice", ch.ID, code)
		if err != nil || !slices.Equal(r.AMR, []string{"otp"}) || r.CredentialID != creds[0].ID {
			t.Fatalf("use %d of the code on one challenge = %+v, %v", i+1, r, err)
		}
	}
	if err := e.verify(t, "alice", code[:4]+" "+code[4:]); err != nil {
		t.Fatalf("the code typed in two groups: %v", err)
	}
	// Still good just before it expires, on a challenge that ends with it.
	e.clock.Advance(2*time.Hour - time.Minute)
	ch = e.begin(t, "alice")
	if !ch.ExpiresAt.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("challenge near the code's end expires at %v, want with the code at %v", ch.ExpiresAt, t0.Add(2*time.Hour))
	}
	if _, err := e.verifyWith("alice", ch.ID, code); err != nil {
		t.Fatalf("a minute before expiry: %v", err)
	}
}

func TestExpiredCodeRefused(t *testing.T) {
	e := launch(t, nil)
	code := e.mustIssue(t, "alice", "1h")
	e.clock.Advance(58 * time.Minute)
	ch := e.begin(t, "alice")
	if _, err := e.verifyWith("alice", ch.ID, code); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := e.verifyWith("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("at expiry: %v, want ErrInvalidResponse", err)
	}
	if _, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: sdk.User{ID: "alice"}}); !errors.Is(err, sdk.ErrNotEnrolled) {
		t.Fatalf("Begin after expiry: %v, want ErrNotEnrolled", err)
	}
	// Expired early by the administrator: refused at once, even on a live
	// challenge.
	code = e.mustIssue(t, "bob", "4h")
	ch = e.begin(t, "bob")
	e.mustExpire(t, "bob")
	if _, err := e.verifyWith("bob", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("after expire now: %v, want ErrInvalidResponse", err)
	}
}

// TestFailuresLookAlike: every refusal is the same error.
func TestFailuresLookAlike(t *testing.T) {
	e := launch(t, nil)
	alice := e.mustIssue(t, "alice", "4h")
	bob := e.mustIssue(t, "bob", "4h")
	ch := e.begin(t, "alice")
	bobCh := e.begin(t, "bob")

	// carol's challenge was begun for a code that was then replaced.
	e.mustIssue(t, "carol", "4h")
	carolCh := e.begin(t, "carol")
	e.mustExpire(t, "carol")
	carol := e.mustIssue(t, "carol", "4h")

	tampered := []byte(ch.ID)
	tampered[3] ^= 1
	cases := []struct {
		name             string
		user, chID, code string
	}{
		{"wrong code", "alice", ch.ID, wrong(alice)},
		{"another user's code", "alice", ch.ID, bob},
		{"unknown user", "nobody", ch.ID, alice},
		{"unknown user, own challenge shape", "nobody", bobCh.ID, bob},
		{"another user's challenge", "bob", ch.ID, bob},
		{"tampered challenge", "alice", string(tampered), alice},
		{"empty challenge", "alice", "", alice},
		{"garbage challenge", "alice", "!!", alice},
		{"empty code", "alice", ch.ID, ""},
		{"very long code", "alice", ch.ID, strings.Repeat(alice, 100)},
		{"challenge of a replaced code", "carol", carolCh.ID, carol},
		{"empty user", "", ch.ID, alice},
	}
	var first error
	for _, c := range cases {
		_, err := e.verifyWith(c.user, c.chID, c.code)
		if !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Errorf("%s: %v, want ErrInvalidResponse", c.name, err)
			continue
		}
		if first == nil {
			first = err
		} else if err.Error() != first.Error() {
			t.Errorf("%s: %q differs from %q", c.name, err, first)
		}
	}
	for user, code := range map[string]string{"alice": alice, "bob": bob, "carol": carol} {
		if err := e.verify(t, user, code); err != nil {
			t.Errorf("%s's code after the failures: %v", user, err)
		}
	}
}

// TestCodeNeverStoredOrShownAgain: status is metadata only, and neither
// the backend (sealed or decrypted) nor the log holds the code; what is
// stored is the keyed hash.
func TestCodeNeverStoredOrShownAgain(t *testing.T) {
	e := launch(t, nil)
	r, err := e.admin(ActionIssue, "alice", "ttl", "4h", "actor", "admin:bob")
	if err != nil {
		t.Fatal(err)
	}
	code := r["code"]
	e.clock.Advance(time.Minute)
	if err := e.verify(t, "alice", code); err != nil {
		t.Fatal(err)
	}
	st, err := e.admin(ActionStatus, "alice")
	want := map[string]string{
		"active": "true", "issued_at": t0.Format(time.RFC3339), "expires_at": t0.Add(4 * time.Hour).Format(time.RFC3339),
		"issued_by": "admin:bob", "summary": "A temporary code is active until 2030-01-01 13:00 UTC (issued by admin:bob).",
	}
	if err != nil || !maps.Equal(st, want) {
		t.Fatalf("status = %v, %v; want %v", st, err, want)
	}
	creds, _ := e.p.ListCredentials(context.Background(), "alice")
	for _, c := range creds {
		if strings.Contains(c.ID+c.Label, code) {
			t.Errorf("credential %+v shows the code", c)
		}
	}

	sum := sha256.Sum256([]byte(code))
	userSum := sha256.Sum256([]byte("alice" + code))
	forbidden := [][]byte{
		[]byte(code), sum[:], userSum[:],
		[]byte(hex.EncodeToString(sum[:])), []byte(base64.StdEncoding.EncodeToString(sum[:])),
	}
	local := e.local(t)
	ns := host.Namespace(Name)
	keys := e.backend.Keys()
	if len(keys) == 0 {
		t.Fatal("nothing stored")
	}
	for _, nk := range keys {
		gotNS, key, _ := strings.Cut(nk, "\x00")
		if gotNS != ns {
			continue // rate-limit events live elsewhere; the backend keeps them as times
		}
		raw, _ := e.backend.Raw(ns, key)
		plain, _, err := local.Storage().Get(context.Background(), key)
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		for _, f := range forbidden {
			if strings.Contains(key, string(f)) || bytes.Contains(raw, f) || bytes.Contains(plain, f) {
				t.Errorf("%s holds the code or its plain hash: %q", key, plain)
			}
		}
	}
	// What is stored is the keyed hash.
	hkey, _, err := local.Storage().Get(context.Background(), keyName)
	if err != nil || len(hkey) != 32 {
		t.Fatalf("hmac key: %d bytes, %v", len(hkey), err)
	}
	var rec map[string]any
	plain, _, err := local.Storage().Get(context.Background(), codeKey("alice"))
	if err != nil || json.Unmarshal(plain, &rec) != nil {
		t.Fatalf("record %q: %v", plain, err)
	}
	if rec["hash"] != base64.StdEncoding.EncodeToString(codeHash(hkey, "alice", code)) {
		t.Errorf("stored hash is not HMAC-SHA-256(key, user, code): %v", rec)
	}
	if fields := slices.Sorted(maps.Keys(rec)); !slices.Equal(fields, []string{"digits", "expires_at", "hash", "id", "issued_at", "issued_by"}) {
		t.Errorf("record fields %v", fields)
	}
	if strings.Contains(e.logs.String(), code) {
		t.Errorf("the code is in the log:\n%s", e.logs.String())
	}
	e.mustExpire(t, "alice")
	if st, err := e.admin(ActionStatus, "alice"); err != nil || !maps.Equal(st, map[string]string{"active": "false", "summary": msgStatusNone}) {
		t.Fatalf("status after expire = %v, %v", st, err)
	}
}

func TestListCredentialsAndRemove(t *testing.T) {
	e := launch(t, nil)
	ctx := context.Background()
	if creds, err := e.p.ListCredentials(ctx, "alice"); err != nil || creds == nil || len(creds) != 0 {
		t.Fatalf("credentials before issue = %#v, %v", creds, err)
	}
	e.mustIssue(t, "alice", "4h")
	e.mustIssue(t, "bob", "4h")
	e.clock.Advance(time.Hour)
	creds, err := e.p.ListCredentials(ctx, "alice")
	if err != nil || len(creds) != 1 || creds[0].ID == "" || creds[0].Label != "Temporary code (expires 13:00 UTC)" ||
		!creds[0].CreatedAt.Equal(t0) {
		t.Fatalf("credentials = %+v, %v", creds, err)
	}
	if again, _ := e.p.ListCredentials(ctx, "alice"); again[0].ID != creds[0].ID {
		t.Errorf("credential ID not stable: %s then %s", creds[0].ID, again[0].ID)
	}
	id := creds[0].ID
	for name, c := range map[string]struct{ user, id string }{
		"unknown ID": {"alice", "no-such-code"}, "empty ID": {"alice", ""}, "another user's": {"bob", id}, "unknown user": {"nobody", id},
	} {
		if err := e.p.Remove(ctx, c.user, c.id); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Remove %s: %v, want ErrNotFound", name, err)
		}
	}
	if err := e.p.Remove(ctx, "alice", id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if creds, err := e.p.ListCredentials(ctx, "alice"); err != nil || len(creds) != 0 {
		t.Errorf("credentials after Remove = %v, %v", creds, err)
	}
	if _, err := e.p.Begin(ctx, sdk.BeginRequest{User: sdk.User{ID: "alice"}}); !errors.Is(err, sdk.ErrNotEnrolled) {
		t.Errorf("Begin after Remove: %v", err)
	}
	if err := e.p.Remove(ctx, "alice", id); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Remove twice: %v", err)
	}
	if r, err := e.admin(ActionExpire, "alice"); err != nil || !maps.Equal(r, map[string]string{"expired": "false"}) {
		t.Errorf("expire with none active = %v, %v", r, err)
	}
	// bob's code is untouched; alice may get a new one with a new ID.
	if creds, _ := e.p.ListCredentials(ctx, "bob"); len(creds) != 1 {
		t.Errorf("bob's credentials %v", creds)
	}
	e.mustIssue(t, "alice", "1h")
	if creds, _ := e.p.ListCredentials(ctx, "alice"); len(creds) != 1 || creds[0].ID == id {
		t.Errorf("credentials after a new issue %v", creds)
	}
}

func TestUserCannotEnrol(t *testing.T) {
	e := launch(t, nil)
	ctx := context.Background()
	_, err := e.p.Enrol(ctx, sdk.EnrolRequest{User: sdk.User{ID: "alice"}})
	if !errors.Is(err, sdk.ErrInvalidInput) || sdk.UserMessage(err) != "temporary codes are issued by your help desk" {
		t.Errorf("Enrol = %v (%q)", err, sdk.UserMessage(err))
	}
	_, err = e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: sdk.User{ID: "alice"}, EnrolmentID: "x", Response: map[string]string{"code": "12345678"}})
	if !errors.Is(err, sdk.ErrInvalidInput) || sdk.UserMessage(err) != "temporary codes are issued by your help desk" {
		t.Errorf("ConfirmEnrolment = %v (%q)", err, sdk.UserMessage(err))
	}
}

func TestAdminInput(t *testing.T) {
	e := launch(t, nil)
	for name, call := range map[string]func() (map[string]string, error){
		"unknown action": func() (map[string]string, error) { return e.admin("reveal", "alice") },
		"no user":        func() (map[string]string, error) { return e.admin(ActionIssue, "", "ttl", "1h") },
		"long actor": func() (map[string]string, error) {
			return e.admin(ActionIssue, "alice", "ttl", "1h", "actor", strings.Repeat("a", 300))
		},
	} {
		if _, err := call(); !errors.Is(err, sdk.ErrInvalidInput) || sdk.UserMessage(err) == "" {
			t.Errorf("%s: %v, want ErrInvalidInput with a message", name, err)
		}
	}
}

func TestConfigure(t *testing.T) {
	m := New().(*Method)
	if err := m.Configure(map[string]string{
		"digits": "10", "min_ttl": "30m", "max_ttl": "2h", "per_hour": "2", "priority": "90",
		"verify_limit": "3", "verify_window": "1m", "enabled": "true",
	}); err != nil {
		t.Fatal(err)
	}
	d, _ := m.Describe(context.Background())
	if d.Priority != 90 || d.Limits[0] != (sdk.Limit{Operation: sdk.OpVerify, Max: 3, Window: time.Minute, Key: "verify/{user}"}) ||
		m.digits != 10 || m.minTTL != 30*time.Minute || m.maxTTL != 2*time.Hour || m.perHour != 2 {
		t.Errorf("configured %+v, description %+v", m, d)
	}
	for _, bad := range []struct {
		settings map[string]string
		key      string
	}{
		{map[string]string{"digits": "5"}, "digits"}, {map[string]string{"digits": "13"}, "digits"},
		{map[string]string{"digits": "eight"}, "digits"}, {map[string]string{"min_ttl": "soon"}, "min_ttl"},
		{map[string]string{"min_ttl": "0s"}, "min_ttl"}, {map[string]string{"max_ttl": "-1h"}, "max_ttl"},
		{map[string]string{"min_ttl": "2h", "max_ttl": "1h"}, "min_ttl"}, {map[string]string{"min_ttl": "25h"}, "min_ttl"},
		{map[string]string{"max_ttl": "30m"}, "min_ttl"}, {map[string]string{"per_hour": "0"}, "per_hour"},
		{map[string]string{"per_hour": "1001"}, "per_hour"}, {map[string]string{"verify_limit": "0"}, "verify_limit"},
		{map[string]string{"verify_window": "x"}, "verify_window"}, {map[string]string{"priority": "-1"}, "priority"},
	} {
		err := New().(*Method).Configure(bad.settings)
		var se *sdk.SettingError
		if !errors.As(err, &se) || se.Key != bad.key || !errors.Is(err, sdk.ErrInvalidInput) || !strings.HasPrefix(sdk.UserMessage(err), bad.key+" ") {
			t.Errorf("Configure(%v) = %v, want a setting error naming %s", bad.settings, err, bad.key)
		}
	}
}

// TestDefaultSettings: the defaults the configuration shows are the ones
// the method runs with, and Configure takes them as they are.
func TestDefaultSettings(t *testing.T) {
	m := New().(*Method)
	want := map[string]string{"digits": "8", "min_ttl": "1h", "max_ttl": "24h", "per_hour": "6"}
	if got := m.DefaultSettings(); !maps.Equal(got, want) {
		t.Errorf("DefaultSettings() = %v, want %v", got, want)
	}
	c := New().(*Method)
	if err := c.Configure(m.DefaultSettings()); err != nil {
		t.Fatal(err)
	}
	if c.digits != m.digits || c.minTTL != m.minTTL || c.maxTTL != m.maxTTL || c.perHour != m.perHour {
		t.Errorf("configured with the defaults %+v, new %+v", c, m)
	}
}

// TestConfiguredPlugin: the settings reach the subprocess, and a bad one
// stops it at launch with the key named.
func TestConfiguredPlugin(t *testing.T) {
	e := launch(t, map[string]string{"digits": "12", "min_ttl": "30m", "max_ttl": "2h", "per_hour": "2", "priority": "90"})
	if e.p.Description().Priority != 90 {
		t.Errorf("priority %d", e.p.Description().Priority)
	}
	if _, err := e.issue("alice", "3h"); sdk.UserMessage(err) != "ttl must be between 30m and 2h" {
		t.Errorf("issue 3h: %v", err)
	}
	code := e.mustIssue(t, "alice", "30m")
	if !isDigits(code, 12) {
		t.Errorf("code %q, want 12 digits", code)
	}
	if ch := e.begin(t, "alice"); ch.Fields[0].MaxLength != 12 {
		t.Errorf("field %+v", ch.Fields[0])
	}
	if err := e.verify(t, "alice", code); err != nil {
		t.Fatal(err)
	}
	e.mustExpire(t, "alice")
	e.mustIssue(t, "alice", "30m")
	e.mustExpire(t, "alice")
	if _, err := e.issue("alice", "30m"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Errorf("third issue with per_hour 2: %v", err)
	}

	bad := &env{clock: hosttest.NewClock(t0), backend: hosttest.NewMemory(), key: e.key, logs: &syncBuffer{}}
	_, err := host.Launch(context.Background(), bad.spec(map[string]string{"digits": "4"}))
	if err == nil || !strings.Contains(err.Error(), "digits") {
		t.Fatalf("launch with digits 4: %v, want an error naming the key", err)
	}
}

// TestNewCode: the right length, zero-padded, and every digit about
// equally likely in every position.
func TestNewCode(t *testing.T) {
	const n, digits = 20000, 6
	var counts [digits][10]int
	for range n {
		c, err := newCode(digits)
		if err != nil || !isDigits(c, digits) {
			t.Fatalf("newCode = %q, %v", c, err)
		}
		for i, r := range c {
			counts[i][r-'0']++
		}
	}
	for i := range digits {
		chi := 0.0
		for _, got := range counts[i] {
			d := float64(got) - n/10.0
			chi += d * d / (n / 10.0)
		}
		// 9 degrees of freedom: 45 is beyond p = 1e-6.
		if chi > 45 {
			t.Errorf("position %d: chi-square %.1f over %v", i, chi, counts[i])
		}
	}
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 30 * time.Minute: "30m",
		45 * time.Second: "45s", time.Hour + time.Second: "1h0m1s",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// harness issues a code through the admin action and answers with it.
type harness struct {
	mu    sync.Mutex
	codes map[string]string
}

func (h *harness) Spec() host.Spec { return host.Spec{Name: Name, Path: pluginPath} }

func (h *harness) Properties() conformance.Properties {
	return conformance.Properties{MultiUse: true}
}

func (h *harness) Issue(t testing.TB, env *conformance.Env, u sdk.User) []string {
	t.Helper()
	r, err := env.Plugin.Admin(context.Background(), sdk.AdminRequest{
		Action: ActionIssue, User: u, Params: map[string]string{"ttl": "24h", "actor": "conformance"},
	})
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.codes[u.ID] = r["code"]
	return []string{r["code"]}
}

func (h *harness) EnrolmentResponse(t testing.TB, _ *conformance.Env, _ sdk.User, _ sdk.Enrolment, _ bool) map[string]string {
	t.Fatal("a temporary code has no enrolment")
	return nil
}

func (h *harness) ChallengeResponse(t testing.TB, _ *conformance.Env, u sdk.User, _ sdk.Challenge, valid bool) map[string]string {
	h.mu.Lock()
	code, ok := h.codes[u.ID]
	h.mu.Unlock()
	if !ok {
		t.Fatalf("no code issued for %s", u.ID)
	}
	if !valid {
		code = wrong(code)
	}
	return map[string]string{"code": code}
}

func TestConformance(t *testing.T) {
	conformance.RunMethodTests(t, &harness{codes: map[string]string{}})
}
