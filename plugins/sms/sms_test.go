package sms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/conformance"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sms/gateway"
)

// pluginPath is the stepup-sms binary TestMain builds.
var pluginPath string

func TestMain(m *testing.M) {
	os.Exit(hosttest.RunWithPlugin(m, "github.com/stepup-mfa/stepup/plugins/sms/cmd/stepup-sms", &pluginPath))
}

// t0 is where every test's host clock starts.
var t0 = time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)

const (
	issuer  = "https://Login.Example.com:8443/stepup"
	product = "Acme Login"
	number  = "+447700900123"
	masked  = "+•• ••• ••• ••23"
)

var codePattern = regexp.MustCompile(`^Your Acme Login verification code is (\d{6})\. Don't share it with anyone\.\n\n@login\.example\.com #(\d{6})$`)

// codeOf returns the code a message carries, failing the test when the
// message does not have the expected form.
func codeOf(t testing.TB, body string) string {
	t.Helper()
	m := codePattern.FindStringSubmatch(body)
	if m == nil || m[1] != m[2] {
		t.Fatalf("message %q does not have the expected form", body)
	}
	return m[1]
}

// inbox plays the phones: it reads what the outbox gateway wrote.
type inbox struct {
	dir string

	mu   sync.Mutex
	seen map[string]bool // files read by next
}

func newInbox(dir string) *inbox { return &inbox{dir: dir, seen: map[string]bool{}} }

func (in *inbox) messages(t testing.TB) []gateway.OutboxMessage {
	t.Helper()
	_, msgs, err := gateway.ReadOutbox(in.dir)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// to returns the messages sent to a number, oldest first.
func (in *inbox) to(t testing.TB, phone string) []gateway.OutboxMessage {
	var out []gateway.OutboxMessage
	for _, m := range in.messages(t) {
		if m.To == phone {
			out = append(out, m)
		}
	}
	return out
}

// next returns the code of the one message to phone that arrived since
// the last call: files sort by time, then at random, so on a clock that
// stands still the new one is the one not read before.
func (in *inbox) next(t testing.TB, phone string) string {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	names, msgs, err := gateway.ReadOutbox(in.dir)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for i, n := range names {
		if !in.seen[n] {
			in.seen[n] = true
			if msgs[i].To == phone {
				codes = append(codes, codeOf(t, msgs[i].Body))
			}
		}
	}
	if len(codes) != 1 {
		t.Fatalf("%d new messages to %s, want 1", len(codes), phone)
	}
	return codes[0]
}

// env is the real plugin subprocess behind plugins/host, on an in-memory
// backend and a settable clock, sending to an outbox.
type env struct {
	p       *host.Plugin
	clock   *hosttest.Clock
	backend *hosttest.Memory
	key     []byte
	logs    *syncBuffer
	inbox   *inbox
}

// settings are the method's settings with the host's facts.
func settings(t testing.TB, dir string, extra map[string]string) map[string]string {
	s := map[string]string{
		sdk.SettingIssuer: issuer, sdk.SettingProductName: product, sdk.SettingOutboxDir: dir,
	}
	maps.Copy(s, extra)
	return s
}

func launch(t *testing.T, extra map[string]string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{clock: hosttest.NewClock(t0), backend: hosttest.NewMemory(), key: make([]byte, host.KeySize), logs: &syncBuffer{}, inbox: newInbox(dir)}
	if _, err := rand.Read(e.key); err != nil {
		t.Fatal(err)
	}
	p, err := host.Launch(context.Background(), host.Spec{
		Name: Name, Path: pluginPath, Config: settings(t, dir, extra),
		Backend: e.backend, Key: e.key, Now: e.clock.Now,
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

func user(id string) sdk.User { return sdk.User{ID: id, Username: id} }

// enrol enrols phone for the user with the code the phone received.
func (e *env) enrol(t *testing.T, userID, phone string) sdk.Credential {
	t.Helper()
	en, err := e.p.Enrol(context.Background(), sdk.EnrolRequest{User: user(userID), Params: map[string]string{"phone": phone}})
	if err != nil {
		t.Fatalf("Enrol: %v", err)
	}
	c, err := e.p.ConfirmEnrolment(context.Background(), sdk.ConfirmRequest{
		User: user(userID), EnrolmentID: en.ID, Response: map[string]string{"code": e.inbox.next(t, phone)},
	})
	if err != nil {
		t.Fatalf("ConfirmEnrolment: %v", err)
	}
	return c
}

// begin begins a challenge and returns it with the code the phone got.
func (e *env) begin(t *testing.T, userID, phone string) (sdk.Challenge, string) {
	t.Helper()
	ch, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user(userID)})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return ch, e.inbox.next(t, phone)
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

func wrong(code string) string {
	var n int
	fmt.Sscanf(code, "%d", &n)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// local runs the method in process over the same host services a plugin
// gets, for what the process boundary hides (the race detector on the
// method, the errors' full text).
type local struct {
	m     *Method
	h     sdk.Host
	clock *hosttest.Clock
	inbox *inbox
}

func newLocal(t *testing.T, extra map[string]string) *local {
	t.Helper()
	clock := hosttest.NewClock(t0)
	key := make([]byte, host.KeySize)
	_, _ = rand.Read(key)
	h, err := host.NewLocalHost(Name, hosttest.NewMemory(), key, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := New().(*Method)
	if err := m.Configure(settings(t, dir, extra)); err != nil {
		t.Fatal(err)
	}
	return &local{m: m, h: h, clock: clock, inbox: newInbox(dir)}
}

func (l *local) enrol(t *testing.T, userID, phone string, code func() string) {
	t.Helper()
	ctx := context.Background()
	en, err := l.m.Enrol(ctx, l.h, sdk.EnrolRequest{User: user(userID), Params: map[string]string{"phone": phone}})
	if err != nil {
		t.Fatalf("Enrol: %v", err)
	}
	if _, err := l.m.ConfirmEnrolment(ctx, l.h, sdk.ConfirmRequest{User: user(userID), EnrolmentID: en.ID, Response: map[string]string{"code": code()}}); err != nil {
		t.Fatalf("ConfirmEnrolment: %v", err)
	}
}

func (l *local) begin(userID string) error {
	_, err := l.m.Begin(context.Background(), l.h, sdk.BeginRequest{User: user(userID)})
	return err
}

func TestDescribe(t *testing.T) {
	e := launch(t, nil)
	d := e.p.Description()
	if d.Name != Name || d.Priority != DefaultPriority || !d.NeedsEnrolment || d.UsedEvent != EventUsed ||
		len(d.AMR) != 1 || d.AMR[0] != "sms" || len(d.Levels) != 1 || d.Levels[0] != "aal2" {
		t.Errorf("description %+v", d)
	}
	if len(d.EnrolFields) != 1 {
		t.Fatalf("enrol fields %+v, want the phone number", d.EnrolFields)
	}
	if f := d.EnrolFields[0]; f.Name != "phone" || f.Type != "tel" || f.Autocomplete != "tel" || f.Label != "Mobile number" {
		t.Errorf("enrol field %+v", f)
	}
	valid, problems := sdk.CheckAdminActions(d)
	if len(problems) != 0 || len(valid) != 2 {
		t.Fatalf("admin actions %+v: %v", valid, problems)
	}
	for _, a := range valid {
		if a.Resource != Resource {
			t.Errorf("action %s on %q, want %q", a.Name, a.Resource, Resource)
		}
		if a.Verb == sdk.VerbDelete && (a.Event != EventRemoved || a.EventIf != "removed") {
			t.Errorf("remove action %+v, want event %s when removed", a, EventRemoved)
		}
	}
	var verify sdk.Limit
	for _, l := range d.Limits {
		if l.Operation == sdk.OpVerify {
			verify = l
		}
	}
	if verify.Max != TriesPerCode || verify.Window != DefaultCodeTTL || !verify.FailuresOnly || verify.Key == "" {
		t.Errorf("verify limit %+v, want %d failures per code lifetime, counted by the host", verify, TriesPerCode)
	}
}

func TestEnrolment(t *testing.T) {
	e := launch(t, nil)
	ctx := context.Background()
	en, err := e.p.Enrol(ctx, sdk.EnrolRequest{User: user("alice"), Params: map[string]string{"phone": "+44 (0)7700 900-123"}})
	if err != nil {
		t.Fatalf("Enrol: %v", err)
	}
	msgs := e.inbox.to(t, number)
	if len(msgs) != 1 {
		t.Fatalf("%d messages to %s, want the confirmation code", len(msgs), number)
	}
	if len(en.Fields) != 1 || en.Fields[0].Autocomplete != "one-time-code" || en.Fields[0].InputMode != "numeric" {
		t.Errorf("enrolment fields %+v, want one numeric one-time-code", en.Fields)
	}
	if len(en.Displays) != 1 || en.Displays[0].Kind != sdk.DisplayText || en.Displays[0].Value != "We sent a code to "+masked {
		t.Fatalf("displays %+v, want where the code went, masked", en.Displays)
	}
	// The host's enrolment page says what a restricted authenticator is
	// and offers the stronger methods.
	if d, _ := New().Describe(context.Background()); !d.Restricted {
		t.Errorf("SMS not declared a restricted authenticator (NIST SP 800-63B)")
	}
	code := codeOf(t, msgs[0].Body)
	if !en.ExpiresAt.Equal(t0.Add(DefaultCodeTTL)) {
		t.Errorf("enrolment expires at %v, want %v", en.ExpiresAt, t0.Add(DefaultCodeTTL))
	}
	_, err = e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: user("alice"), EnrolmentID: en.ID, Response: map[string]string{"code": wrong(code)}})
	if !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("confirm with a wrong code: %v", err)
	}
	_, err = e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: user("bob"), EnrolmentID: en.ID, Response: map[string]string{"code": code}})
	if !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("confirm another user's enrolment: %v", err)
	}
	c, err := e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: user("alice"), EnrolmentID: en.ID, Label: "my phone", Response: map[string]string{"code": code}})
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if c.Label != masked || c.ID == "" || !c.CreatedAt.Equal(t0) {
		t.Errorf("credential %+v, want the masked number as its label", c)
	}
	if _, err := e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: user("alice"), EnrolmentID: en.ID, Response: map[string]string{"code": code}}); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("confirm twice: %v", err)
	}
	creds, err := e.p.ListCredentials(ctx, "alice")
	if err != nil || len(creds) != 1 || creds[0].ID != c.ID || creds[0].Label != masked {
		t.Errorf("ListCredentials = %+v, %v", creds, err)
	}
}

func TestEnrolmentExpires(t *testing.T) {
	e := launch(t, nil)
	en, err := e.p.Enrol(context.Background(), sdk.EnrolRequest{User: user("alice"), Params: map[string]string{"phone": number}})
	if err != nil {
		t.Fatal(err)
	}
	code := e.inbox.next(t, number)
	e.clock.Set(en.ExpiresAt)
	_, err = e.p.ConfirmEnrolment(context.Background(), sdk.ConfirmRequest{User: user("alice"), EnrolmentID: en.ID, Response: map[string]string{"code": code}})
	if !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("confirm at expiry: %v, want ErrInvalidResponse", err)
	}
}

func TestEnrolRefusesBadNumbers(t *testing.T) {
	e := launch(t, nil)
	for _, in := range []string{"12", "letters", "", "+12", "0770 0900 123", "+0447700900123"} {
		_, err := e.p.Enrol(context.Background(), sdk.EnrolRequest{User: user("alice"), Params: map[string]string{"phone": in}})
		if !errors.Is(err, sdk.ErrInvalidInput) || !strings.Contains(sdk.UserMessage(err), "for example +44 7700 900123") {
			t.Errorf("Enrol(%q): %v, want ErrInvalidInput with an example", in, err)
		}
	}
	if msgs := e.inbox.messages(t); len(msgs) != 0 {
		t.Fatalf("%d messages sent for bad numbers", len(msgs))
	}
	// Nothing was counted: the hour's messages are all still there.
	e.enrol(t, "alice", number)
	for range DefaultPerHour - 1 {
		e.begin(t, "alice", number)
	}
}

func TestMessage(t *testing.T) {
	e := launch(t, nil)
	e.clock.Set(t0.Add(1500 * time.Millisecond))
	e.enrol(t, "alice", number)
	msgs := e.inbox.to(t, number)
	code := codeOf(t, msgs[0].Body)
	if want := "Your Acme Login verification code is " + code + ". Don't share it with anyone.\n\n@login.example.com #" + code; msgs[0].Body != want {
		t.Errorf("body %q, want %q", msgs[0].Body, want)
	}
	if msgs[0].SentAt != "2030-01-01T09:00:01Z" || msgs[0].To != number {
		t.Errorf("message %+v, want to %s at the host's time", msgs[0], number)
	}
}

func TestMessageText(t *testing.T) {
	for _, tc := range []struct {
		issuer, product, want string
	}{
		{"https://login.example.com", "stepup", "Your stepup verification code is 123456. Don't share it with anyone.\n\n@login.example.com #123456"},
		{"http://localhost:8080", "", "Your stepup verification code is 123456. Don't share it with anyone.\n\n@localhost #123456"},
		{"https://LOGIN.example.com:443/tenant/a", "Acme\n\tSSO", "Your Acme SSO verification code is 123456. Don't share it with anyone.\n\n@login.example.com #123456"},
		{"", "", "Your stepup verification code is 123456. Don't share it with anyone."},
	} {
		m := New().(*Method)
		s := map[string]string{}
		if tc.issuer != "" {
			s[sdk.SettingIssuer] = tc.issuer
		}
		if tc.product != "" {
			s[sdk.SettingProductName] = tc.product
		}
		if err := m.Configure(s); err != nil {
			t.Fatal(err)
		}
		if got := m.text("123456"); got != tc.want {
			t.Errorf("issuer %q product %q: %q, want %q", tc.issuer, tc.product, got, tc.want)
		}
	}
}

func TestChallenge(t *testing.T) {
	e := launch(t, nil)
	e.enrol(t, "alice", number)
	e.clock.Set(t0.Add(time.Minute))
	ch, code := e.begin(t, "alice", number)
	if ch.Prompt != "Enter the 6-digit code we sent by text message to "+masked+"." {
		t.Errorf("prompt %q", ch.Prompt)
	}
	if len(ch.Fields) != 1 || ch.Fields[0].Autocomplete != "one-time-code" || ch.Fields[0].InputMode != "numeric" || ch.Fields[0].Name != "code" {
		t.Errorf("fields %+v", ch.Fields)
	}
	if !ch.ExpiresAt.Equal(t0.Add(time.Minute + DefaultCodeTTL)) {
		t.Errorf("expires at %v, want %v", ch.ExpiresAt, t0.Add(time.Minute+DefaultCodeTTL))
	}
	e.clock.Set(ch.ExpiresAt.Add(-time.Second))
	if err := e.verify("alice", ch.ID, code[:3]+" "+code[3:]); err != nil {
		t.Fatalf("a grouped code just before expiry: %v", err)
	}
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("the code again: %v, want ErrInvalidResponse", err)
	}
	ch, code = e.begin(t, "alice", number)
	e.clock.Set(ch.ExpiresAt)
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("the code at expiry: %v, want ErrInvalidResponse", err)
	}
}

func TestNewCodeReplacesTheOld(t *testing.T) {
	e := launch(t, nil)
	e.enrol(t, "alice", number)
	ch1, code1 := e.begin(t, "alice", number)
	ch2, code2 := e.begin(t, "alice", number)
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
	e.enrol(t, "alice", number)
	ch, code := e.begin(t, "alice", number)
	for range 3 {
		if err := e.verify("alice", ch.ID, wrong(code)); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	e.clock.Advance(time.Minute)
	ch, code = e.begin(t, "alice", number)
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
	// A third code brings no tries either, until the failures age out.
	ch, code = e.begin(t, "alice", number)
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
	e.enrol(t, "alice", number) // the first of the hour
	for i := 1; i < DefaultPerHour; i++ {
		e.clock.Set(t0.Add(time.Duration(i) * 10 * time.Minute))
		e.begin(t, "alice", number)
	}
	e.clock.Set(t0.Add(50 * time.Minute))
	refused := func(want time.Time) {
		t.Helper()
		_, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user("alice")})
		if !errors.Is(err, sdk.ErrRateLimited) {
			t.Fatalf("message %d in the hour: %v, want ErrRateLimited", DefaultPerHour+1, err)
		}
		if retry, ok := sdk.RetryAfter(err); !ok || !retry.Equal(want) {
			t.Fatalf("retry after %v, want %v", retry, want)
		}
	}
	refused(t0.Add(time.Hour))
	if _, err := e.p.Enrol(context.Background(), sdk.EnrolRequest{User: user("alice"), Params: map[string]string{"phone": "+15550100123"}}); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("an enrolment past the limit: %v, want ErrRateLimited", err)
	}
	if n := len(e.inbox.messages(t)); n != DefaultPerHour {
		t.Fatalf("%d messages, want %d", n, DefaultPerHour)
	}
	// The window rolls: the first message leaves it at t0+1h, the second
	// ten minutes later.
	e.clock.Set(t0.Add(time.Hour))
	e.begin(t, "alice", number)
	e.clock.Set(t0.Add(time.Hour + time.Second))
	refused(t0.Add(time.Hour + 10*time.Minute))
	e.clock.Set(t0.Add(time.Hour + 10*time.Minute))
	e.begin(t, "alice", number)
	// Another user has an hour of their own.
	e.enrol(t, "bob", "+15550100123")
}

func TestHourlyLimitSentence(t *testing.T) {
	l := newLocal(t, nil)
	l.enrol(t, "alice", number, func() string { return codeOf(t, l.inbox.to(t, number)[0].Body) })
	for range DefaultPerHour - 1 {
		if err := l.begin("alice"); err != nil {
			t.Fatal(err)
		}
	}
	err := l.begin("alice")
	if !errors.Is(err, sdk.ErrRateLimited) || sdk.UserMessage(err) != MsgTooManyMessages {
		t.Fatalf("message %d: %v, want ErrRateLimited saying %q", DefaultPerHour+1, err, MsgTooManyMessages)
	}
	if MsgTooManyMessages != "Unable to send you a verification code at this time. You may have attempted too many verifications in the last hour. Try again later." {
		t.Fatal("the sentence is not the seed's")
	}
	if _, ok := sdk.RetryAfter(err); !ok {
		t.Errorf("%v says no retry time", err)
	}
}

func TestPerHourSetting(t *testing.T) {
	e := launch(t, map[string]string{"per_hour": "2"})
	e.enrol(t, "alice", number)
	e.begin(t, "alice", number)
	if _, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user("alice")}); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("third message with per_hour 2: %v", err)
	}
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
	e.enrol(t, "alice", number)
	limited := race(t, 20, func() error {
		_, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user("alice")})
		return err
	})
	if n := len(e.inbox.to(t, number)); n != DefaultPerHour || limited != 20-(DefaultPerHour-1) {
		t.Fatalf("%d messages sent, %d of 20 refused; want %d sent in the hour, the rest refused", n, limited, DefaultPerHour)
	}
}

func TestConcurrentBeginInProcess(t *testing.T) {
	l := newLocal(t, nil)
	l.enrol(t, "alice", number, func() string { return codeOf(t, l.inbox.to(t, number)[0].Body) })
	limited := race(t, 20, func() error { return l.begin("alice") })
	if n := len(l.inbox.to(t, number)); n != DefaultPerHour || limited != 20-(DefaultPerHour-1) {
		t.Fatalf("%d messages sent, %d of 20 refused; want %d sent in the hour, the rest refused", n, limited, DefaultPerHour)
	}
}

// webhook is a gateway the test switches between answering, failing and
// hanging; it keeps what it took.
type webhook struct {
	mu   sync.Mutex
	mode string // "ok", "fail", "hang"
	took []gateway.WebhookMessage
	srv  *httptest.Server
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{mode: "ok"}
	release := make(chan struct{})
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		mode := w.mode
		if mode == "ok" {
			var m gateway.WebhookMessage
			_ = json.Unmarshal(body, &m)
			w.took = append(w.took, m)
		}
		w.mu.Unlock()
		switch mode {
		case "ok":
			rw.WriteHeader(http.StatusNoContent)
		case "fail":
			http.Error(rw, "gateway down", http.StatusBadGateway)
		default:
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(func() { close(release); w.srv.Close() })
	return w
}

func (w *webhook) set(mode string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mode = mode
}

func (w *webhook) sent() []gateway.WebhookMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]gateway.WebhookMessage(nil), w.took...)
}

func (w *webhook) setting() map[string]string {
	return map[string]string{"gateway": `{"kind":"webhook","url":"` + w.srv.URL + `/sms","secret":"0123456789abcdef0123","timeout":"200ms"}`}
}

func TestGatewayFailureIsNotCounted(t *testing.T) {
	w := newWebhook(t)
	l := newLocal(t, w.setting())
	l.enrol(t, "alice", number, func() string { return codeOf(t, w.sent()[0].Body) })
	for _, mode := range []string{"fail", "hang", "fail"} {
		w.set(mode)
		err := l.begin("alice")
		if !errors.Is(err, sdk.ErrUnavailable) || !errors.Is(err, gateway.ErrFailed) {
			t.Fatalf("Begin with the gateway %s: %v, want ErrUnavailable and gateway.ErrFailed", mode, err)
		}
		if errors.Is(err, sdk.ErrRateLimited) || errors.Is(err, sdk.ErrInvalidInput) {
			t.Fatalf("a gateway failure looks like a limit or bad input: %v", err)
		}
	}
	w.set("ok")
	for range DefaultPerHour - 1 {
		if err := l.begin("alice"); err != nil {
			t.Fatalf("Begin after the gateway came back: %v", err)
		}
	}
	if err := l.begin("alice"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("message %d: %v, want ErrRateLimited", DefaultPerHour+1, err)
	}
	if n := len(w.sent()); n != DefaultPerHour {
		t.Fatalf("the gateway took %d messages, want %d", n, DefaultPerHour)
	}
}

func TestConcurrentBeginAfterGatewayFailures(t *testing.T) {
	w := newWebhook(t)
	l := newLocal(t, w.setting())
	l.enrol(t, "alice", number, func() string { return codeOf(t, w.sent()[0].Body) })
	w.set("fail")
	for range 3 {
		if err := l.begin("alice"); !errors.Is(err, gateway.ErrFailed) {
			t.Fatal(err)
		}
	}
	w.set("ok")
	limited := race(t, 20, func() error { return l.begin("alice") })
	if n := len(w.sent()); n != DefaultPerHour || limited != 20-(DefaultPerHour-1) {
		t.Fatalf("%d messages sent, %d of 20 refused; want %d sent in the hour, the rest refused", n, limited, DefaultPerHour)
	}
}

func TestGatewayFailureThroughThePlugin(t *testing.T) {
	w := newWebhook(t)
	e := launch(t, w.setting())
	ctx := context.Background()
	en, err := e.p.Enrol(ctx, sdk.EnrolRequest{User: user("alice"), Params: map[string]string{"phone": number}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: user("alice"), EnrolmentID: en.ID, Response: map[string]string{"code": codeOf(t, w.sent()[0].Body)}}); err != nil {
		t.Fatal(err)
	}
	w.set("fail")
	for range 3 {
		_, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")})
		if !errors.Is(err, sdk.ErrUnavailable) || !strings.Contains(err.Error(), "sms gateway failed") || !strings.Contains(err.Error(), "502") ||
			sdk.UserMessage(err) != MsgNotSent {
			t.Fatalf("Begin with the gateway failing: %v (user told %q), want ErrUnavailable saying the gateway failed, and MsgNotSent for the user", err, sdk.UserMessage(err))
		}
	}
	if _, err := e.p.Enrol(ctx, sdk.EnrolRequest{User: user("alice"), Params: map[string]string{"phone": "+15550100123"}}); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("Enrol with the gateway failing: %v", err)
	}
	w.set("ok")
	for range DefaultPerHour - 1 {
		if _, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")}); err != nil {
			t.Fatalf("Begin after the gateway came back: %v", err)
		}
	}
	if _, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")}); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("message %d: %v, want ErrRateLimited", DefaultPerHour+1, err)
	}
}

func TestGatewayFailuresAreGivenBackOnlyWithinTheHour(t *testing.T) {
	w := newWebhook(t)
	l := newLocal(t, w.setting())
	l.enrol(t, "alice", number, func() string { return codeOf(t, w.sent()[0].Body) })
	w.set("fail")
	if err := l.begin("alice"); !errors.Is(err, gateway.ErrFailed) {
		t.Fatal(err)
	}
	w.set("ok")
	// Until the failure is sdk.FailureMargin short of an hour old, it gives
	// its count back; from then on it no longer does, while its count is
	// still in the limiter's window (stricter for a minute, never looser).
	l.clock.Set(t0.Add(SendWindow - sdk.FailureMargin - time.Second))
	for range DefaultPerHour - 1 {
		if err := l.begin("alice"); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.begin("alice"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("message %d: %v, want ErrRateLimited", DefaultPerHour+1, err)
	}
	l.clock.Set(t0.Add(SendWindow - sdk.FailureMargin))
	if err := l.begin("alice"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("with the failure no longer given back: %v, want ErrRateLimited", err)
	}
	// At t0+1h the enrolment's message and the failure leave the hour.
	l.clock.Set(t0.Add(SendWindow))
	if err := l.begin("alice"); err != nil {
		t.Fatalf("after the enrolment's message left the hour: %v", err)
	}
	if err := l.begin("alice"); !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("%d messages in the hour: %v, want ErrRateLimited", DefaultPerHour+1, err)
	}
	if n := len(w.sent()); n != 1+(DefaultPerHour-1)+1 { // the enrolment, the hour, the one after
		t.Errorf("the gateway took %d messages", n)
	}
}

func TestSendAttemptsAreBounded(t *testing.T) {
	w := newWebhook(t)
	l := newLocal(t, w.setting())
	l.enrol(t, "alice", number, func() string { return codeOf(t, w.sent()[0].Body) })
	w.set("fail")
	for i := range FailuresPerSend * DefaultPerHour {
		if err := l.begin("alice"); !errors.Is(err, gateway.ErrFailed) {
			t.Fatalf("failed send %d: %v, want the gateway's failure", i+1, err)
		}
	}
	err := l.begin("alice")
	if !errors.Is(err, sdk.ErrRateLimited) || sdk.UserMessage(err) != MsgTooManyMessages {
		t.Fatalf("after %d failed sends in the hour: %v, want ErrRateLimited", FailuresPerSend*DefaultPerHour, err)
	}
	if n := len(w.sent()); n != 1 {
		t.Fatalf("%d messages delivered, want the enrolment's only", n)
	}
}

func TestNumberChange(t *testing.T) {
	e := launch(t, nil)
	first := e.enrol(t, "alice", number)
	ch, code := e.begin(t, "alice", number)
	const other = "+15550100188"
	second := e.enrol(t, "alice", other)
	if second.ID == first.ID || second.Label != "+• ••• ••• ••88" {
		t.Errorf("new credential %+v after %+v, want a new one labelled with the new number", second, first)
	}
	creds, err := e.p.ListCredentials(context.Background(), "alice")
	if err != nil || len(creds) != 1 || creds[0].ID != second.ID {
		t.Fatalf("ListCredentials = %+v, %v; want only the new number", creds, err)
	}
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("a code sent to the old number: %v, want ErrInvalidResponse", err)
	}
	ch, code = e.begin(t, "alice", other)
	if err := e.verify("alice", ch.ID, code); err != nil {
		t.Fatalf("a code sent to the new number: %v", err)
	}
}

func TestAdminRemovesTheNumber(t *testing.T) {
	e := launch(t, nil)
	ctx := context.Background()
	admin := func(action string) map[string]string {
		t.Helper()
		r, err := e.p.Admin(ctx, sdk.AdminRequest{Action: action, User: user("alice"), Actor: "helpdesk"})
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return r
	}
	if r := admin(ActionStatus); r["enrolled"] != "false" || r["summary"] == "" {
		t.Errorf("status before enrolment: %v", r)
	}
	e.enrol(t, "alice", number)
	r := admin(ActionStatus)
	if r["enrolled"] != "true" || r["phone"] != masked || r["enrolled_at"] != t0.Format(time.RFC3339) || !strings.Contains(r["summary"], masked) {
		t.Errorf("status: %v", r)
	}
	ch, code := e.begin(t, "alice", number)
	if r := admin(ActionRemove); r["removed"] != "true" || r["phone"] != masked {
		t.Errorf("remove: %v", r)
	}
	if creds, err := e.p.ListCredentials(ctx, "alice"); err != nil || len(creds) != 0 {
		t.Errorf("ListCredentials after removal = %v, %v", creds, err)
	}
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("a code sent before the removal: %v, want ErrInvalidResponse", err)
	}
	if _, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")}); !errors.Is(err, sdk.ErrNotEnrolled) {
		t.Errorf("Begin after removal: %v, want ErrNotEnrolled", err)
	}
	if r := admin(ActionRemove); r["removed"] != "false" {
		t.Errorf("remove again: %v", r)
	}
	for _, v := range admin(ActionStatus) {
		if strings.Contains(v, "23") {
			t.Errorf("status after removal still shows the number: %q", v)
		}
	}
}

func TestUserRemovesTheNumber(t *testing.T) {
	e := launch(t, nil)
	c := e.enrol(t, "alice", number)
	ch, code := e.begin(t, "alice", number)
	if err := e.p.Remove(context.Background(), "alice", c.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.verify("alice", ch.ID, code); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("a code sent before the removal: %v, want ErrInvalidResponse", err)
	}
}

// TestNothingSecretLeaks runs every path that can fail or log and looks
// for the full number or a code in the errors and the logs.
func TestNothingSecretLeaks(t *testing.T) {
	w := newWebhook(t)
	e := launch(t, w.setting())
	ctx := context.Background()
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	_, err := e.p.Enrol(ctx, sdk.EnrolRequest{User: user("alice"), Params: map[string]string{"phone": "+44 7700 9OO123"}})
	note(err)
	en, err := e.p.Enrol(ctx, sdk.EnrolRequest{User: user("alice"), Params: map[string]string{"phone": number}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: user("alice"), EnrolmentID: en.ID, Response: map[string]string{"code": "000000"}})
	note(err)
	_, err = e.p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: user("alice"), EnrolmentID: en.ID, Response: map[string]string{"code": codeOf(t, w.sent()[0].Body)}})
	note(err)
	for _, mode := range []string{"fail", "hang", "ok", "ok"} {
		w.set(mode)
		ch, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")})
		note(err)
		note(e.verify("alice", ch.ID, "999999"))
	}
	for range DefaultPerHour {
		_, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")})
		note(err)
	}
	_, err = e.p.Admin(ctx, sdk.AdminRequest{Action: "no-such", User: user("alice")})
	note(err)
	r, err := e.p.Admin(ctx, sdk.AdminRequest{Action: ActionStatus, User: user("alice")})
	note(err)
	var secrets []string
	for _, m := range w.sent() {
		secrets = append(secrets, codeOf(t, m.Body))
	}
	secrets = append(secrets, number, strings.TrimPrefix(number, "+"), "7700900123", "0123456789abcdef0123")
	var texts []string
	for _, err := range errs {
		texts = append(texts, err.Error(), sdk.UserMessage(err))
	}
	texts = append(texts, e.logs.String())
	for _, v := range r {
		texts = append(texts, v)
	}
	for _, s := range secrets {
		// Digits not part of a longer run (a process ID, a temporary
		// directory's name), which a 6-digit code may be by chance.
		alone := regexp.MustCompile(`(^|[^0-9])` + regexp.QuoteMeta(s) + `($|[^0-9])`)
		for _, text := range texts {
			if alone.MatchString(text) {
				t.Errorf("%q appears in %q", s, text)
			}
		}
	}
	if len(errs) < 5 {
		t.Errorf("only %d errors seen: the paths did not fail", len(errs))
	}
}

func TestConfigure(t *testing.T) {
	for _, tc := range []struct {
		settings map[string]string
		key      string
	}{
		{map[string]string{"per_hour": "0"}, "per_hour"},
		{map[string]string{"per_hour": "21"}, "per_hour"},
		{map[string]string{"per_hour": "five"}, "per_hour"},
		{map[string]string{"priority": "-1"}, "priority"},
		{map[string]string{"code_ttl": "30s"}, "code_ttl"},
		{map[string]string{"code_ttl": "2h"}, "code_ttl"},
		{map[string]string{"code_ttl": "10"}, "code_ttl"},
		{map[string]string{"gateway": `{"kind":"fax"}`}, "gateway.kind"},
		{map[string]string{"gateway": `{"kind":"webhook","url":"http://sms.example.com","secret":"0123456789abcdef"}`}, "gateway.url"},
		{map[string]string{"gateway": `{"kind":"twilio","account_sid":"AC1","from":"+15005550006"}`}, "gateway.auth_token"},
		{map[string]string{sdk.SettingIssuer: "not a url"}, sdk.SettingIssuer},
	} {
		err := New().(*Method).Configure(tc.settings)
		var se *sdk.SettingError
		if !errors.As(err, &se) || se.Key != tc.key {
			t.Errorf("Configure(%v) = %v, want a SettingError for %s", tc.settings, err, tc.key)
		}
	}
	m := New().(*Method)
	if err := m.Configure(map[string]string{"priority": "45", "per_hour": "20", "code_ttl": "5m", "unknown": "ignored"}); err != nil {
		t.Fatal(err)
	}
	d, _ := m.Describe(context.Background())
	if d.Priority != 45 || m.perHour != 20 || d.Limits[0].Window != 5*time.Minute {
		t.Errorf("configured: priority %d per_hour %d limits %+v", d.Priority, m.perHour, d.Limits)
	}
}

func TestDefaultSettings(t *testing.T) {
	m := New().(*Method)
	s := m.DefaultSettings()
	want := map[string]string{"per_hour": "5", "code_ttl": "10m", "gateway": `{"kind":"outbox"}`}
	if !maps.Equal(s, want) {
		t.Errorf("DefaultSettings = %v, want %v", s, want)
	}
	if err := m.Configure(s); err != nil {
		t.Errorf("Configure(DefaultSettings()): %v", err)
	}
	d, _ := m.Describe(context.Background())
	if d.Priority != DefaultPriority || m.perHour != DefaultPerHour || m.codeTTL != DefaultCodeTTL {
		t.Errorf("defaults: priority %d per_hour %d code_ttl %v", d.Priority, m.perHour, m.codeTTL)
	}
}

// harness plays every user's phone: each user enrols a number of their
// own, and the codes are read from the outbox the plugin writes to.
type harness struct {
	dir string

	mu     sync.Mutex
	phones map[string]string // user ID -> number
	seen   map[string]bool   // outbox files read
	codes  map[string]string // number -> its last code
}

func newHarness(t *testing.T) *harness {
	return &harness{dir: t.TempDir(), phones: map[string]string{}, seen: map[string]bool{}, codes: map[string]string{}}
}

func (h *harness) Spec() host.Spec {
	return host.Spec{Name: Name, Path: pluginPath, Config: map[string]string{
		sdk.SettingOutboxDir: h.dir, sdk.SettingIssuer: issuer, sdk.SettingProductName: product,
	}}
}

func (h *harness) EnrolParams(t testing.TB, _ *conformance.Env, u sdk.User) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.phones[u.ID]
	if !ok {
		p = fmt.Sprintf("+4477009%05d", len(h.phones)+1)
		h.phones[u.ID] = p
	}
	// As a person types it.
	return map[string]string{"phone": p[:3] + " " + p[3:7] + " " + p[7:]}
}

// code returns the last code sent to the user's number: the files not
// read before are the ones the latest call wrote.
func (h *harness) code(t testing.TB, u sdk.User, valid bool) map[string]string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	names, msgs, err := gateway.ReadOutbox(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		if !h.seen[n] {
			h.seen[n] = true
			h.codes[msgs[i].To] = codeOf(t, msgs[i].Body)
		}
	}
	code, ok := h.codes[h.phones[u.ID]]
	if !ok {
		t.Fatalf("no message for %s", u.ID)
	}
	if !valid {
		code = wrong(code)
	}
	return map[string]string{"code": code}
}

func (h *harness) EnrolmentResponse(t testing.TB, _ *conformance.Env, u sdk.User, _ sdk.Enrolment, valid bool) map[string]string {
	return h.code(t, u, valid)
}

func (h *harness) ChallengeResponse(t testing.TB, _ *conformance.Env, u sdk.User, _ sdk.Challenge, valid bool) map[string]string {
	return h.code(t, u, valid)
}

func TestConformance(t *testing.T) {
	conformance.RunMethodTests(t, newHarness(t))
}
