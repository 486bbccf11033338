package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"regexp"
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

// pluginPath is the stepup-email binary TestMain builds.
var pluginPath string

func TestMain(m *testing.M) {
	os.Exit(hosttest.RunWithPlugin(m, "github.com/stepup-mfa/stepup/plugins/email/cmd/stepup-email", &pluginPath))
}

// t0 is where every test's host clock starts.
var t0 = time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)

const product = "Acme Login"

var codePattern = regexp.MustCompile(`^Your Acme Login verification code is:\n\n    (\d{6})\n\nIt is valid for 10 minutes\. Don't share it with anyone: nobody from Acme Login will ever ask you for it\.\n`)

// codeOf returns the code a message carries, failing the test when the
// message does not have the expected form.
func codeOf(t testing.TB, m hosttest.Mail) string {
	t.Helper()
	c := codePattern.FindStringSubmatch(m.Text)
	if c == nil || m.Subject != Subject {
		t.Fatalf("message %+v does not have the expected form", m)
	}
	return c[1]
}

func wrong(code string) string {
	var n int
	fmt.Sscanf(code, "%d", &n)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

func user(id string) sdk.User { return sdk.User{ID: id, Username: id, Email: id + "@example.com"} }

// mailbox plays the users' mailboxes: it reads what the backend's Mailer
// took, by user.
type mailbox struct {
	backend *hosttest.Memory

	mu   sync.Mutex
	read int // messages read by next
}

func (b *mailbox) to(userID string) []hosttest.Mail {
	var out []hosttest.Mail
	for _, m := range b.backend.Mails() {
		if m.UserID == userID {
			out = append(out, m)
		}
	}
	return out
}

// next returns the code of the one message that arrived since the last
// call, which must be to userID.
func (b *mailbox) next(t testing.TB, userID string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	all := b.backend.Mails()
	fresh := all[b.read:]
	b.read = len(all)
	if len(fresh) != 1 || fresh[0].UserID != userID {
		t.Fatalf("%d new messages %+v, want 1 to %s", len(fresh), fresh, userID)
	}
	return codeOf(t, fresh[0])
}

// env is the real plugin subprocess behind plugins/host, on an in-memory
// backend (which keeps the mail) and a settable clock.
type env struct {
	p       *host.Plugin
	clock   *hosttest.Clock
	backend *hosttest.Memory
	logs    *syncBuffer
	mail    *mailbox
}

func settings(extra map[string]string) map[string]string {
	s := map[string]string{sdk.SettingProductName: product}
	maps.Copy(s, extra)
	return s
}

func launch(t *testing.T, extra map[string]string) *env {
	t.Helper()
	backend := hosttest.NewMemory()
	e := &env{clock: hosttest.NewClock(t0), backend: backend, logs: &syncBuffer{}, mail: &mailbox{backend: backend}}
	key := make([]byte, host.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	p, err := host.Launch(context.Background(), host.Spec{
		Name: Name, Path: pluginPath, Config: settings(extra), Backend: backend, Key: key, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
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

func (e *env) admin(t *testing.T, action, userID string) map[string]string {
	t.Helper()
	r, err := e.p.Admin(context.Background(), sdk.AdminRequest{Action: action, User: user(userID), Actor: "helpdesk"})
	if err != nil {
		t.Fatalf("admin %s: %v", action, err)
	}
	return r
}

func (e *env) enable(t *testing.T, userID string) { e.admin(t, ActionEnable, userID) }

// begin begins a challenge and returns it with the code the user got.
func (e *env) begin(t *testing.T, userID string) (sdk.Challenge, string) {
	t.Helper()
	ch, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user(userID)})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return ch, e.mail.next(t, userID)
}

func (e *env) verify(userID, challengeID, code string) error {
	_, err := e.p.Verify(context.Background(), sdk.VerifyRequest{UserID: userID, ChallengeID: challengeID, Response: map[string]string{"code": code}})
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

// local runs the method in process over the same host services a plugin
// gets, for what the process boundary hides (the race detector on the
// method, the errors' full text).
type local struct {
	m       *Method
	h       sdk.Host
	clock   *hosttest.Clock
	backend *hosttest.Memory
}

func newLocal(t *testing.T, extra map[string]string) *local {
	t.Helper()
	clock, backend := hosttest.NewClock(t0), hosttest.NewMemory()
	key := make([]byte, host.KeySize)
	_, _ = rand.Read(key)
	h, err := host.NewLocalHost(Name, backend, key, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	m := New().(*Method)
	if err := m.Configure(settings(extra)); err != nil {
		t.Fatal(err)
	}
	return &local{m: m, h: h, clock: clock, backend: backend}
}

func (l *local) enable(t *testing.T, userID string) {
	t.Helper()
	if _, err := l.m.Admin(context.Background(), l.h, sdk.AdminRequest{Action: ActionEnable, User: user(userID)}); err != nil {
		t.Fatal(err)
	}
}

func (l *local) begin(userID string) error {
	_, err := l.m.Begin(context.Background(), l.h, sdk.BeginRequest{User: user(userID)})
	return err
}

func TestDescribe(t *testing.T) {
	e := launch(t, nil)
	d := e.p.Description()
	if d.Name != Name || d.Priority != DefaultPriority || !d.NeedsEnrolment || !d.Managed || d.UsedEvent != EventUsed ||
		!slices.Equal(d.AMR, []string{"otp"}) || !slices.Equal(d.Levels, []string{"aal2"}) || !slices.Equal(d.ExceptWith, []string{"sms"}) {
		t.Errorf("description %+v", d)
	}
	if len(d.EnrolFields) != 0 || d.Bypass || d.Restricted {
		t.Errorf("description %+v: nothing to enrol, no bypass", d)
	}
	valid, problems := sdk.CheckAdminActions(d)
	if len(problems) != 0 || len(valid) != 3 {
		t.Fatalf("admin actions %+v: %v", valid, problems)
	}
	for _, a := range valid {
		switch {
		case a.Resource != Resource:
			t.Errorf("action %s on %q, want %q", a.Name, a.Resource, Resource)
		case a.Verb == sdk.VerbPost && (a.Label != "Allow email codes" || a.PatchField != PatchField || a.Event != EventEnabled):
			t.Errorf("enable action %+v", a)
		case a.Verb == sdk.VerbDelete && (a.Label != "Stop email codes" || a.PatchField != PatchField || a.Event != EventDisabled || a.EventIf != "disabled"):
			t.Errorf("disable action %+v", a)
		}
	}
	if len(d.Limits) != 2 || d.Limits[0].Operation != sdk.OpVerify || d.Limits[0].Max != TriesPerCode ||
		d.Limits[0].Window != DefaultCodeTTL || !d.Limits[0].FailuresOnly || d.Limits[0].Key == "" {
		t.Errorf("limits %+v, want %d failures per code lifetime, counted by the host", d.Limits, TriesPerCode)
	}
	if len(d.Limits) == 2 && (d.Limits[1].Operation != sdk.OpBegin || d.Limits[1].Max != MessagesPerHour ||
		d.Limits[1].Window != SendWindow || d.Limits[1].Key != "send/"+sdk.UserPlaceholder) {
		t.Errorf("begin limit %+v, want %d messages an hour, counted by the host", d.Limits[1], MessagesPerHour)
	}
}

// TestMaxLevel: a deployment that follows NIST SP 800-63B-4 sets
// max_level aal1; the method then declares that level only, so it never
// counts as a second factor.
func TestMaxLevel(t *testing.T) {
	for setting, want := range map[string]string{"": "aal2", "aal2": "aal2", "aal1": "aal1", " aal1 ": "aal1"} {
		m := New().(*Method)
		s := map[string]string{}
		if setting != "" {
			s["max_level"] = setting
		}
		if err := m.Configure(s); err != nil {
			t.Fatalf("max_level %q: %v", setting, err)
		}
		d, _ := m.Describe(context.Background())
		if !slices.Equal(d.Levels, []string{want}) {
			t.Errorf("max_level %q: levels %v, want [%s]", setting, d.Levels, want)
		}
	}
	e := launch(t, map[string]string{"max_level": "aal1"})
	if d := e.p.Description(); !slices.Equal(d.Levels, []string{"aal1"}) {
		t.Errorf("through the plugin: levels %v", d.Levels)
	}
}

func TestConfigure(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"for_everyone", "sometimes"}, {"max_level", "aal3"}, {"max_level", "high"}, {"code_ttl", "30s"},
		{"code_ttl", "2h"}, {"code_ttl", "90s"}, {"code_ttl", "ten"}, {"priority", "-1"}, {"priority", "x"},
	} {
		err := New().(*Method).Configure(map[string]string{tc.key: tc.value})
		var se *sdk.SettingError
		if !errors.As(err, &se) || se.Key != tc.key {
			t.Errorf("%s: %q: %v, want a SettingError naming the key", tc.key, tc.value, err)
		}
	}
	m := New().(*Method)
	if err := m.Configure(map[string]string{"for_everyone": "true", "code_ttl": "5m", "priority": "35", "unknown": "x"}); err != nil {
		t.Fatal(err)
	}
	if !m.forEveryone || m.codeTTL != 5*time.Minute || m.priority != 35 {
		t.Errorf("configured %+v", m)
	}
}

func TestDefaultSettings(t *testing.T) {
	m := New().(*Method)
	def := m.DefaultSettings()
	if len(def) != 3 || def["for_everyone"] != "false" || def["max_level"] != "aal2" || def["code_ttl"] != "10m" {
		t.Fatalf("defaults %v", def)
	}
	if err := m.Configure(def); err != nil || m.forEveryone || m.maxLevel != "aal2" || m.codeTTL != DefaultCodeTTL {
		t.Fatalf("the defaults as settings: %v, %+v", err, m)
	}
}

// TestOfferedOnlyWhenAllowed: a user has email codes only once an
// administrator allowed them (Explicit) or for_everyone is set (not
// Explicit); the user cannot turn them on.
func TestOfferedOnlyWhenAllowed(t *testing.T) {
	ctx := context.Background()
	for _, everyone := range []bool{false, true} {
		e := launch(t, map[string]string{"for_everyone": fmt.Sprint(everyone)})
		creds, err := e.p.ListCredentials(ctx, "alice")
		if want := map[bool]int{false: 0, true: 1}[everyone]; err != nil || len(creds) != want || (want == 1 && creds[0].Explicit) {
			t.Fatalf("for_everyone %v: ListCredentials before allowing = %+v, %v; want %d, not explicit", everyone, creds, err, want)
		}
		_, err = e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")})
		if !everyone && !errors.Is(err, sdk.ErrNotEnrolled) {
			t.Fatalf("Begin for a user not allowed: %v, want ErrNotEnrolled", err)
		}
		if everyone && err != nil {
			t.Fatalf("Begin with for_everyone: %v", err)
		}
		for _, call := range []func() error{
			func() error { _, err := e.p.Enrol(ctx, sdk.EnrolRequest{User: user("alice")}); return err },
			func() error { _, err := e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: user("alice")}); return err },
		} {
			if err := call(); !errors.Is(err, sdk.ErrInvalidInput) || sdk.UserMessage(err) != msgSelfEnrol {
				t.Errorf("a user turning email codes on: %v, want %q", err, msgSelfEnrol)
			}
		}
		e.clock.Advance(time.Minute)
		e.enable(t, "alice")
		creds, err = e.p.ListCredentials(ctx, "alice")
		if err != nil || len(creds) != 1 || creds[0].ID != CredentialID || creds[0].Label != "Email codes" || !creds[0].Explicit ||
			!creds[0].CreatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("ListCredentials once allowed = %+v, %v", creds, err)
		}
		if creds, _ := e.p.ListCredentials(ctx, "bob"); len(creds) != map[bool]int{false: 0, true: 1}[everyone] {
			t.Errorf("allowing alice gave bob %+v", creds)
		}
	}
}

func TestMessage(t *testing.T) {
	e := launch(t, nil)
	e.enable(t, "alice")
	ch, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user("alice")})
	if err != nil {
		t.Fatal(err)
	}
	mails := e.mail.to("alice")
	if len(mails) != 1 {
		t.Fatalf("mails %+v", mails)
	}
	code := codeOf(t, mails[0])
	if !strings.HasSuffix(mails[0].Text, "If you did not just try to sign in, someone may know your password: change it, or tell your help desk.\n") {
		t.Errorf("text %q", mails[0].Text)
	}
	if ch.Prompt != "Enter the 6-digit code we emailed to a•••@example.com." || len(ch.Fields) != 1 {
		t.Errorf("challenge %+v", ch)
	}
	if f := ch.Fields[0]; f.Name != "code" || f.Autocomplete != "one-time-code" || f.InputMode != "numeric" || f.MaxLength != 6 {
		t.Errorf("field %+v", f)
	}
	if !ch.ExpiresAt.Equal(t0.Add(DefaultCodeTTL)) {
		t.Errorf("expires at %v, want %v", ch.ExpiresAt, t0.Add(DefaultCodeTTL))
	}
	if strings.Contains(ch.Prompt+ch.ID, code) || strings.Contains(mails[0].Subject, code) {
		t.Error("the code is in the subject or the challenge")
	}
	m := New().(*Method)
	if err := m.Configure(map[string]string{"code_ttl": "1m", sdk.SettingProductName: "Acme\n\tSSO"}); err != nil {
		t.Fatal(err)
	}
	if got := m.text("123456"); !strings.HasPrefix(got, "Your Acme SSO verification code is:\n\n    123456\n\nIt is valid for 1 minute. Don't share it with anyone: nobody from Acme SSO") {
		t.Errorf("text %q", got)
	}
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com": "a•••@example.com", " élise@x.org ": "é•••@x.org", "a@b": "a•••@b",
		"": "", "nobody": "", "@example.com": "", "a@": "", "a@b@c": "", "a@b c": "",
	} {
		if got := MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCodeOnceAndExpiry(t *testing.T) {
	e := launch(t, nil)
	e.enable(t, "alice")
	ch, code := e.begin(t, "alice")
	if err := e.verify("bob", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("another user: %v", err)
	}
	if err := e.verify("alice", ch.ID, " "+code[:3]+"-"+code[3:]); err != nil {
		t.Fatalf("the code as a person types it: %v", err)
	}
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("the code again: %v, want ErrInvalidResponse", err)
	}
	ch, code = e.begin(t, "alice")
	e.clock.Set(ch.ExpiresAt)
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("the code at expiry: %v, want ErrInvalidResponse", err)
	}
}

func TestNewCodeReplacesTheOld(t *testing.T) {
	e := launch(t, nil)
	e.enable(t, "alice")
	ch1, code1 := e.begin(t, "alice")
	ch2, code2 := e.begin(t, "alice")
	for _, c := range []struct{ ch, code string }{{ch1.ID, code1}, {ch2.ID, code1}, {ch1.ID, code2}} {
		if err := e.verify("alice", c.ch, c.code); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("an earlier code or challenge: %v, want ErrInvalidResponse", err)
		}
	}
	if err := e.verify("alice", ch2.ID, code2); err != nil {
		t.Fatalf("the last code: %v", err)
	}
}

func TestFailuresSurviveANewCode(t *testing.T) {
	e := launch(t, nil)
	e.enable(t, "alice")
	ch, code := e.begin(t, "alice")
	for range 3 {
		if err := e.verify("alice", ch.ID, wrong(code)); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	e.clock.Advance(time.Minute)
	ch, code = e.begin(t, "alice")
	for range 2 {
		if err := e.verify("alice", ch.ID, wrong(code)); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	err := e.verify("alice", ch.ID, code)
	if !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("the right code after %d failures over two codes: %v, want ErrRateLimited", TriesPerCode, err)
	}
	retry, ok := sdk.RetryAfter(err)
	if !ok || !retry.Equal(t0.Add(DefaultCodeTTL)) {
		t.Fatalf("retry after %v, want when the first failure is %v old", retry, DefaultCodeTTL)
	}
	ch, code = e.begin(t, "alice")
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("a third code: %v, want ErrRateLimited", err)
	}
	e.clock.Set(retry)
	if err := e.verify("alice", ch.ID, code); err != nil {
		t.Fatalf("the right code once the failures aged out: %v", err)
	}
}

func TestHourlyLimit(t *testing.T) {
	e := launch(t, nil)
	e.enable(t, "alice")
	for i := range MessagesPerHour {
		e.clock.Set(t0.Add(time.Duration(i) * 10 * time.Minute))
		e.begin(t, "alice")
	}
	refused := func(want time.Time) {
		t.Helper()
		_, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user("alice")})
		msg := fmt.Sprintf("We cannot email you another code just now: we send at most 5 in any hour. Try again after %s UTC, or use another method.", want.Format("15:04"))
		if !errors.Is(err, sdk.ErrRateLimited) || sdk.UserMessage(err) != msg {
			t.Fatalf("message %d in the hour: %v (%q), want ErrRateLimited saying %q", MessagesPerHour+1, err, sdk.UserMessage(err), msg)
		}
		if retry, ok := sdk.RetryAfter(err); !ok || !retry.Equal(want) {
			t.Fatalf("retry after %v, want %v", retry, want)
		}
	}
	e.clock.Set(t0.Add(50 * time.Minute))
	refused(t0.Add(time.Hour))
	if n := len(e.mail.to("alice")); n != MessagesPerHour {
		t.Fatalf("%d messages, want %d", n, MessagesPerHour)
	}
	// The window rolls: the first message leaves it at t0+1h, the second
	// ten minutes later.
	e.clock.Set(t0.Add(time.Hour))
	e.begin(t, "alice")
	e.clock.Set(t0.Add(time.Hour + time.Second))
	refused(t0.Add(time.Hour + 10*time.Minute))
	// Another user has an hour of their own.
	e.enable(t, "bob")
	e.begin(t, "bob")
}

// race sends n concurrent "send me a code" and returns how many were
// refused by the limit; any other error fails the test.
func race(t *testing.T, n int, begin func() error) (limited int) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = begin() })
	}
	wg.Wait()
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, sdk.ErrRateLimited):
			limited++
		default:
			t.Errorf("concurrent Begin: %v", err)
		}
	}
	return limited
}

func TestConcurrentBegin(t *testing.T) {
	e := launch(t, nil)
	e.enable(t, "alice")
	limited := race(t, 20, func() error {
		_, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user("alice")})
		return err
	})
	if n := len(e.mail.to("alice")); n != MessagesPerHour || limited != 20-MessagesPerHour {
		t.Fatalf("%d messages sent, %d of 20 refused; want %d sent, the rest refused", n, limited, MessagesPerHour)
	}
}

func TestConcurrentBeginInProcess(t *testing.T) {
	l := newLocal(t, nil)
	l.enable(t, "alice")
	limited := race(t, 20, func() error { return l.begin("alice") })
	if n := len(l.backend.Mails()); n != MessagesPerHour || limited != 20-MessagesPerHour {
		t.Fatalf("%d messages sent, %d of 20 refused; want %d sent, the rest refused", n, limited, MessagesPerHour)
	}
}

// TestSendFailureIsNotCounted: a message the host could not send tells
// the user so, in the method's words, and does not use up the hour.
func TestSendFailureIsNotCounted(t *testing.T) {
	e := launch(t, nil)
	e.enable(t, "alice")
	ctx := context.Background()
	e.backend.FailMail(errors.New("smtp: 451 4.3.0 mail server busy"))
	for range 3 {
		_, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")})
		if !errors.Is(err, sdk.ErrUnavailable) || sdk.UserMessage(err) != MsgNotSent ||
			errors.Is(err, sdk.ErrRateLimited) || errors.Is(err, sdk.ErrInvalidInput) || errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("Begin with mail failing: %v (user told %q), want ErrUnavailable saying %q", err, sdk.UserMessage(err), MsgNotSent)
		}
	}
	if !e.p.Healthy() {
		t.Fatal("a mail failure made the plugin unhealthy")
	}
	e.backend.FailMail(nil)
	limited := race(t, 20, func() error { _, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")}); return err })
	if n := len(e.mail.to("alice")); n != MessagesPerHour || limited != 20-MessagesPerHour {
		t.Fatalf("after the failures: %d messages sent, %d of 20 refused; want %d sent", n, limited, MessagesPerHour)
	}
}

// TestSendFailuresAreGivenBackOnlyWithinTheHour: a failure gives its
// count back until it is sdk.FailureMargin short of an hour old, never after
// its count left the limiter's window.
func TestSendFailuresAreGivenBackOnlyWithinTheHour(t *testing.T) {
	l := newLocal(t, nil)
	l.enable(t, "alice")
	l.backend.FailMail(errors.New("down"))
	if err := l.begin("alice"); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatal(err)
	}
	l.backend.FailMail(nil)
	l.clock.Set(t0.Add(SendWindow - sdk.FailureMargin - time.Second))
	for range MessagesPerHour {
		if err := l.begin("alice"); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.begin("alice"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("message %d: %v, want ErrRateLimited", MessagesPerHour+1, err)
	}
	l.clock.Set(t0.Add(SendWindow))
	if err := l.begin("alice"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("with the failure gone from the hour and its five messages in it: %v, want ErrRateLimited", err)
	}
	if n := len(l.backend.Mails()); n != MessagesPerHour {
		t.Errorf("%d messages sent, want %d", n, MessagesPerHour)
	}
}

func TestSendAttemptsAreBounded(t *testing.T) {
	l := newLocal(t, nil)
	l.enable(t, "alice")
	l.backend.FailMail(errors.New("down"))
	for i := range FailuresPerMessage * MessagesPerHour {
		if err := l.begin("alice"); !errors.Is(err, sdk.ErrUnavailable) {
			t.Fatalf("failed send %d: %v, want the mail failure", i+1, err)
		}
	}
	if err := l.begin("alice"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("after %d failed sends in the hour: %v, want ErrRateLimited", FailuresPerMessage*MessagesPerHour, err)
	}
}

// TestNoAddress: a user without an address is told so, and nothing is
// counted.
func TestNoAddress(t *testing.T) {
	l := newLocal(t, map[string]string{"for_everyone": "true"})
	ctx := context.Background()
	for range MessagesPerHour + 1 {
		_, err := l.m.Begin(ctx, l.h, sdk.BeginRequest{User: sdk.User{ID: "alice"}})
		if !errors.Is(err, sdk.ErrUnavailable) || sdk.UserMessage(err) != MsgNoAddress {
			t.Fatalf("Begin without an address: %v, want %q", err, MsgNoAddress)
		}
	}
	l.backend.NoAddress("alice") // the host knows better than the call
	for range MessagesPerHour + 1 {
		err := l.begin("alice")
		if !errors.Is(err, sdk.ErrUnavailable) || errors.Is(err, sdk.ErrNotFound) || sdk.UserMessage(err) != MsgNoAddress {
			t.Fatalf("Begin for a user the host has no address of: %v, want %q", err, MsgNoAddress)
		}
	}
	for range MessagesPerHour {
		if err := l.begin("bob"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAdminActions(t *testing.T) {
	e := launch(t, nil)
	ctx := context.Background()
	if got := e.admin(t, ActionStatus, "alice"); got["enabled"] != "false" || got["for_everyone"] != "false" || got["summary"] != msgStatusOff {
		t.Fatalf("status before: %v", got)
	}
	if got := e.admin(t, ActionDisable, "alice"); got["disabled"] != "false" {
		t.Fatalf("disable what is off: %v", got)
	}
	e.clock.Set(t0.Add(90 * time.Second))
	if got := e.admin(t, ActionEnable, "alice"); got["enabled"] != "true" || got["changed"] != "true" {
		t.Fatalf("enable: %v", got)
	}
	if got := e.admin(t, ActionEnable, "alice"); got["changed"] != "false" {
		t.Fatalf("enable again: %v", got)
	}
	got := e.admin(t, ActionStatus, "alice")
	if got["enabled"] != "true" || got["enabled_at"] != "2030-01-01T09:01:30Z" || got["enabled_by"] != "helpdesk" ||
		got["summary"] != "Email codes are on for this user (since 2030-01-01 09:01 UTC, by helpdesk)." {
		t.Fatalf("status once on: %v", got)
	}
	// Turning them off voids the code sent.
	ch, code := e.begin(t, "alice")
	if got := e.admin(t, ActionDisable, "alice"); got["disabled"] != "true" {
		t.Fatalf("disable: %v", got)
	}
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("a code sent before email codes were turned off: %v", err)
	}
	if _, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")}); !errors.Is(err, sdk.ErrNotEnrolled) {
		t.Fatalf("Begin once off: %v", err)
	}
	// An administrator disconnecting the method turns them off too.
	e.enable(t, "alice")
	if err := e.p.Remove(ctx, "alice", "other"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Remove another credential: %v", err)
	}
	if err := e.p.Remove(ctx, "alice", CredentialID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if creds, err := e.p.ListCredentials(ctx, "alice"); err != nil || len(creds) != 0 {
		t.Fatalf("after Remove: %+v, %v", creds, err)
	}
	if _, err := e.p.Admin(ctx, sdk.AdminRequest{Action: ActionEnable, User: user("alice"), Actor: strings.Repeat("x", 257)}); !errors.Is(err, sdk.ErrInvalidInput) {
		t.Errorf("a silly actor: %v", err)
	}
}

func TestAdminForEveryone(t *testing.T) {
	e := launch(t, map[string]string{"for_everyone": "true"})
	ctx := context.Background()
	if got := e.admin(t, ActionStatus, "alice"); got["enabled"] != "false" || got["for_everyone"] != "true" || got["summary"] != msgStatusAll {
		t.Fatalf("status: %v", got)
	}
	// Only the configuration turns off what it turned on.
	if err := e.p.Remove(ctx, "alice", CredentialID); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Remove with for_everyone: %v, want ErrNotFound", err)
	}
	e.enable(t, "alice")
	if got := e.admin(t, ActionStatus, "alice"); got["enabled"] != "true" {
		t.Fatalf("status once allowed: %v", got)
	}
	if got := e.admin(t, ActionDisable, "alice"); got["disabled"] != "true" {
		t.Fatalf("disable: %v", got)
	}
	if creds, _ := e.p.ListCredentials(ctx, "alice"); len(creds) != 1 || creds[0].Explicit {
		t.Fatalf("after disable, for everyone again: %+v", creds)
	}
}

// TestNothingSecretLeaks runs the paths that fail or log and looks for
// the code in errors, logs and storage.
func TestNothingSecretLeaks(t *testing.T) {
	e := launch(t, nil)
	e.enable(t, "alice")
	ch, code := e.begin(t, "alice")
	var errs []string
	for _, c := range []string{wrong(code), code, code} {
		if err := e.verify("alice", ch.ID, c); err != nil {
			errs = append(errs, err.Error())
		}
	}
	e.backend.FailMail(errors.New("down"))
	if _, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user("alice")}); err != nil {
		errs = append(errs, err.Error())
	}
	for _, nk := range e.backend.Keys() {
		ns, key, _ := strings.Cut(nk, "\x00")
		raw, _ := e.backend.Raw(ns, key)
		if strings.Contains(key, code) || bytes.Contains(raw, []byte(code)) || strings.Contains(key, "example.com") {
			t.Errorf("the code or the address is readable under %s/%s", ns, key)
		}
	}
	if all := strings.Join(errs, "\n") + e.logs.String(); strings.Contains(all, code) || strings.Contains(all, "alice@example.com") {
		t.Errorf("the code or the address leaked:\n%s", all)
	}
}

// harness gives each user email codes through the admin action and reads
// their codes from the mail the backend kept.
type harness struct{}

func (harness) Spec() host.Spec {
	return host.Spec{Name: Name, Path: pluginPath, Config: settings(nil)}
}

func (harness) Issue(t testing.TB, env *conformance.Env, u sdk.User) []string {
	t.Helper()
	if _, err := env.Plugin.Admin(context.Background(), sdk.AdminRequest{Action: ActionEnable, User: u, Actor: "conformance"}); err != nil {
		t.Fatalf("enable: %v", err)
	}
	return nil
}

func (harness) EnrolmentResponse(t testing.TB, _ *conformance.Env, _ sdk.User, _ sdk.Enrolment, _ bool) map[string]string {
	t.Fatal("email codes have no enrolment")
	return nil
}

// ChallengeResponse answers with the last code mailed to the user.
func (harness) ChallengeResponse(t testing.TB, env *conformance.Env, u sdk.User, _ sdk.Challenge, valid bool) map[string]string {
	t.Helper()
	var last *hosttest.Mail
	for _, m := range env.Backend.Mails() {
		if m.UserID == u.ID {
			last = &m
		}
	}
	if last == nil {
		t.Fatalf("no mail for %s", u.ID)
	}
	code := codeOf(t, *last)
	if !valid {
		code = wrong(code)
	}
	return map[string]string{"code": code}
}

func TestConformance(t *testing.T) {
	conformance.RunMethodTests(t, harness{})
}
