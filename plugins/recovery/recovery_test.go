package recovery

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

// pluginPath is the stepup-recovery binary TestMain builds.
var pluginPath string

func TestMain(m *testing.M) {
	os.Exit(hosttest.RunWithPlugin(m, "github.com/stepup-mfa/stepup/plugins/recovery/cmd/stepup-recovery", &pluginPath))
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

func launch(t testing.TB, config map[string]string) *env {
	t.Helper()
	e := &env{clock: hosttest.NewClock(t0), backend: hosttest.NewMemory(), key: make([]byte, host.KeySize), logs: &syncBuffer{}}
	if _, err := rand.Read(e.key); err != nil {
		t.Fatal(err)
	}
	e.p = e.start(t, config)
	return e
}

// start launches another plugin process on e's backend, key and clock: a
// second replica.
func (e *env) start(t testing.TB, config map[string]string) *host.Plugin {
	t.Helper()
	p, err := host.Launch(context.Background(), host.Spec{
		Name: Name, Path: pluginPath, Config: config,
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
	return p
}

// local reads the method's storage from the host side, decrypted.
func (e *env) local(t testing.TB) sdk.Host {
	t.Helper()
	h, err := host.NewLocalHost(Name, e.backend, e.key, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func user(id string) sdk.User { return sdk.User{ID: id, Username: id, Email: id + "@example.test"} }

func (e *env) enrol(t testing.TB, userID string) sdk.Enrolment {
	t.Helper()
	en, err := e.p.Enrol(context.Background(), sdk.EnrolRequest{User: user(userID)})
	if err != nil {
		t.Fatalf("Enrol for %s: %v", userID, err)
	}
	return en
}

func (e *env) confirm(userID string, en sdk.Enrolment, saved string) (sdk.Credential, error) {
	return e.p.ConfirmEnrolment(context.Background(), sdk.ConfirmRequest{
		User: user(userID), EnrolmentID: en.ID, Response: map[string]string{"saved": saved},
	})
}

// newSet enrols and confirms a set for userID and returns its codes.
func (e *env) newSet(t testing.TB, userID string) []string {
	t.Helper()
	en := e.enrol(t, userID)
	if _, err := e.confirm(userID, en, "on"); err != nil {
		t.Fatalf("confirm for %s: %v", userID, err)
	}
	return codesOf(t, en)
}

func codesOf(t testing.TB, en sdk.Enrolment) []string {
	t.Helper()
	for _, d := range en.Displays {
		if d.Kind == sdk.DisplayCodes {
			return d.Values
		}
	}
	t.Fatalf("enrolment shows no codes: %+v", en.Displays)
	return nil
}

func (e *env) begin(t testing.TB, userID string) sdk.Challenge {
	t.Helper()
	ch, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user(userID)})
	if err != nil {
		t.Fatalf("Begin for %s: %v", userID, err)
	}
	return ch
}

func (e *env) verifyWith(p *host.Plugin, userID, challengeID, code string) (sdk.Result, error) {
	return p.Verify(context.Background(), sdk.VerifyRequest{UserID: userID, ChallengeID: challengeID, Response: map[string]string{"code": code}})
}

// verify begins a challenge and answers it with code.
func (e *env) verify(t testing.TB, userID, code string) error {
	t.Helper()
	_, err := e.verifyWith(e.p, userID, e.begin(t, userID).ID, code)
	return err
}

func (e *env) credentials(t testing.TB, userID string) []sdk.Credential {
	t.Helper()
	creds, err := e.p.ListCredentials(context.Background(), userID)
	if err != nil {
		t.Fatalf("ListCredentials: %v", err)
	}
	return creds
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

var codePattern = regexp.MustCompile(`^[` + Alphabet + `]{4}(-[` + Alphabet + `]{4}){3}$`)

// TestCodeFormat: 80 random bits each, four groups of four from an
// alphabet without I, L, O or U; every symbol in use.
func TestCodeFormat(t *testing.T) {
	if CodeBits < 64 || len(Alphabet) != 32 || strings.ContainsAny(Alphabet, "ILOU") {
		t.Fatalf("%d bits per code from %q", CodeBits, Alphabet)
	}
	seen := map[string]bool{}
	symbols := map[rune]int{}
	const n = 2000
	for range n {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if !codePattern.MatchString(c) {
			t.Fatalf("code %q is not four groups of four", c)
		}
		if seen[c] {
			t.Fatalf("code %q twice in %d", c, n)
		}
		seen[c] = true
		for _, r := range strings.ReplaceAll(c, "-", "") {
			symbols[r]++
		}
		if plain, ok := Normalise(c); !ok || plain != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("Normalise(%q) = %q, %v", c, plain, ok)
		}
	}
	// 32000 symbols, 1000 expected each: a fixed bit or a skewed mapping
	// shows far outside this.
	for _, r := range Alphabet {
		if got := symbols[r]; got < 800 || got > 1200 {
			t.Errorf("symbol %c appears %d times in %d codes, want about 1000", r, got, n)
		}
	}
}

func TestNormalise(t *testing.T) {
	const want = "7KQ4M2XD9RTAWP3C"
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"7KQ4-M2XD-9RTA-WP3C", true},
		{"7kq4-m2xd-9rta-wp3c", true},
		{"7KQ4M2XD9RTAWP3C", true},
		{"7kq4 m2xd 9rta wp3c", true},
		{"  7KQ4 - M2XD\t9RTA\u00a0WP3C \n", true},
		{"7KQ4\u2013M2XD\u2014 9RTA\u2010WP3C", true},
		{"7KQ4-M2XD-9RTA-WP3", false},
		{"7KQ4-M2XD-9RTA-WP3CC", false},
		{"7KQ4-M2XD-9RTA-WP3U", false},
		{"7KQ4-M2XD-9RTA-WP3!", false},
		{"7KQ4-M2XD-9RTA-WP3\u00e9", false},
		{"", false},
		{strings.Repeat(" ", maxInput) + want, false},
	} {
		got, ok := Normalise(c.in)
		if ok != c.ok || (ok && got != want) {
			t.Errorf("Normalise(%q) = %q, %v; want %v", c.in, got, ok, c.ok)
		}
	}
	// The letters Crockford leaves out read as the digits they look like.
	if got, ok := Normalise("oOiI-lL01-0000-1111"); !ok || got != "0011110100001111" {
		t.Errorf("confusables: %q, %v", got, ok)
	}
}

func TestDescribe(t *testing.T) {
	e := launch(t, nil)
	d := e.p.Description()
	want := sdk.Description{
		Name: Name, DisplayName: "Recovery codes", Levels: []string{"aal2"}, AMR: []string{"otp"},
		NeedsEnrolment: true, Priority: DefaultPriority, UsedEvent: "recovery.used",
		Limits:      []sdk.Limit{{Operation: sdk.OpVerify, Max: DefaultVerifyLimit, Window: DefaultVerifyWindow, Key: "verify/{user}", FailuresOnly: true}},
		UserRecords: []string{"set/{user}"},
	}
	if d.Name != want.Name || d.DisplayName != want.DisplayName || !slices.Equal(d.Levels, want.Levels) ||
		!slices.Equal(d.AMR, want.AMR) || d.NeedsEnrolment != want.NeedsEnrolment || d.Priority != want.Priority ||
		d.UsedEvent != want.UsedEvent || !slices.Equal(d.Limits, want.Limits) || !slices.Equal(d.UserRecords, want.UserRecords) ||
		d.Bypass || len(d.EnrolFields) != 0 || len(d.AdminActions) != 0 {
		t.Errorf("description\n%+v\nwant\n%+v", d, want)
	}
}

func TestConfigure(t *testing.T) {
	m := New().(*Method)
	if err := m.Configure(map[string]string{"count": "20", "priority": "15", "verify_limit": "3", "verify_window": "1m", "enabled": "true"}); err != nil {
		t.Fatal(err)
	}
	d, _ := m.Describe(context.Background())
	if m.count != 20 || d.Priority != 15 || d.Limits[0].Max != 3 || d.Limits[0].Window != time.Minute {
		t.Errorf("configured: count %d, %+v", m.count, d)
	}
	for key, bad := range map[string]string{
		"count": "4", "priority": "-1", "verify_limit": "0", "verify_window": "soon",
	} {
		err := New().(*Method).Configure(map[string]string{key: bad})
		var se *sdk.SettingError
		if !errors.As(err, &se) || se.Key != key || !errors.Is(err, sdk.ErrInvalidInput) {
			t.Errorf("Configure(%s: %s) = %v, want a setting error naming %s", key, bad, err, key)
		}
	}
	for _, bad := range []string{"21", "ten", "", "1e1"} {
		if err := New().(*Method).Configure(map[string]string{"count": bad}); err == nil || !strings.Contains(err.Error(), "from 5 to 20") {
			t.Errorf("count %q: %v", bad, err)
		}
	}
	def := New().(*Method).DefaultSettings()
	if !maps.Equal(def, map[string]string{"count": "10"}) {
		t.Errorf("DefaultSettings = %v", def)
	}
	if err := New().(*Method).Configure(def); err != nil {
		t.Errorf("own defaults refused: %v", err)
	}
}

// TestEnrolShowsCodes: count codes, shown once with a warning that they
// will not be shown again, confirmed with a checkbox.
func TestEnrolShowsCodes(t *testing.T) {
	for _, count := range []int{5, 10, 20} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			var config map[string]string
			if count != DefaultCount {
				config = map[string]string{"count": fmt.Sprint(count)}
			}
			e := launch(t, config)
			en := e.enrol(t, "alice")
			codes := codesOf(t, en)
			if len(codes) != count {
				t.Fatalf("%d codes, want %d", len(codes), count)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(codes)))) != count {
				t.Errorf("codes repeat: %v", codes)
			}
			for _, c := range codes {
				if !codePattern.MatchString(c) {
					t.Errorf("code %q", c)
				}
			}
			if en.ID == "" || en.Prompt == "" || !en.ExpiresAt.Equal(t0.Add(EnrolmentTTL)) {
				t.Errorf("enrolment %+v", en)
			}
			if len(en.Displays) != 2 || en.Displays[0].Label != "Save these recovery codes: each works once." ||
				en.Displays[1].Kind != sdk.DisplayText || !strings.Contains(en.Displays[1].Value, "will not be shown again") ||
				strings.Contains(en.Displays[1].Value, "replaces") {
				t.Errorf("displays %+v", en.Displays)
			}
			if len(en.Fields) != 1 || en.Fields[0] != (sdk.Field{Name: "saved", Label: "I have saved them", Type: "checkbox"}) {
				t.Errorf("fields %+v", en.Fields)
			}
		})
	}
}

// TestPendingSetNotActive: a set works only once the user confirmed that
// it is saved, and an enrolment is confirmed once.
func TestPendingSetNotActive(t *testing.T) {
	e := launch(t, nil)
	ctx := context.Background()
	en := e.enrol(t, "alice")
	codes := codesOf(t, en)
	if _, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")}); !errors.Is(err, sdk.ErrNotEnrolled) {
		t.Fatalf("Begin with a pending set: %v, want ErrNotEnrolled", err)
	}
	if creds := e.credentials(t, "alice"); len(creds) != 0 {
		t.Fatalf("credentials with a pending set: %+v", creds)
	}
	for _, saved := range []string{"", "off", "false"} {
		_, err := e.confirm("alice", en, saved)
		if !errors.Is(err, sdk.ErrInvalidInput) || sdk.UserMessage(err) != msgNotSaved {
			t.Fatalf("confirm with saved=%q: %v, want the message %q", saved, err, msgNotSaved)
		}
	}
	if _, err := e.confirm("bob", en, "on"); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("alice's enrolment confirmed by bob: %v", err)
	}
	if _, err := e.confirm("alice", sdk.Enrolment{ID: "another"}, "on"); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("another enrolment ID: %v", err)
	}
	if creds := e.credentials(t, "alice"); len(creds) != 0 {
		t.Fatalf("credentials before confirmation: %+v", creds)
	}
	e.clock.Advance(time.Minute)
	cred, err := e.confirm("alice", en, "on")
	if err != nil {
		t.Fatal(err)
	}
	if cred.ID == "" || cred.Label != "10 of 10 codes left" || !cred.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("credential %+v", cred)
	}
	if creds := e.credentials(t, "alice"); len(creds) != 1 || creds[0] != cred {
		t.Errorf("credentials %+v, want %+v", creds, cred)
	}
	if _, err := e.confirm("alice", en, "on"); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("the same enrolment confirmed twice: %v", err)
	}
	if err := e.verify(t, "alice", codes[0]); err != nil {
		t.Errorf("a code of the confirmed set: %v", err)
	}
}

func TestEnrolmentExpires(t *testing.T) {
	e := launch(t, nil)
	en := e.enrol(t, "alice")
	e.clock.Advance(EnrolmentTTL)
	if _, err := e.confirm("alice", en, "on"); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("confirm after expiry: %v", err)
	}
	if creds := e.credentials(t, "alice"); len(creds) != 0 {
		t.Fatalf("credentials %+v", creds)
	}
}

// TestConcurrentConfirmOnce: a confirmation sent twice at once makes one
// set.
func TestConcurrentConfirmOnce(t *testing.T) {
	e := launch(t, nil)
	en := e.enrol(t, "alice")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = e.confirm("alice", en, "on") })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, sdk.ErrInvalidResponse):
			t.Errorf("a losing confirmation: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent confirmations succeeded, want 1", won, n)
	}
}

// TestNewSetVoidsOld: the old set works until the new one is confirmed,
// and not at all after, not even for a challenge begun before.
func TestNewSetVoidsOld(t *testing.T) {
	e := launch(t, nil)
	old := e.newSet(t, "alice")
	oldID := e.credentials(t, "alice")[0].ID
	if err := e.verify(t, "alice", old[0]); err != nil {
		t.Fatal(err)
	}
	en := e.enrol(t, "alice")
	if !strings.Contains(en.Displays[1].Value, "stop working at once") {
		t.Errorf("a new set while one is active does not say it replaces it: %q", en.Displays[1].Value)
	}
	if err := e.verify(t, "alice", old[1]); err != nil {
		t.Fatalf("the old set before the new one is confirmed: %v", err)
	}
	pendingCh := e.begin(t, "alice")
	cred, err := e.confirm("alice", en, "on")
	if err != nil {
		t.Fatal(err)
	}
	if cred.ID == oldID {
		t.Errorf("the new set has the old one's ID")
	}
	if creds := e.credentials(t, "alice"); len(creds) != 1 || creds[0].ID != cred.ID || creds[0].Label != "10 of 10 codes left" {
		t.Errorf("credentials %+v", creds)
	}
	if _, err := e.verifyWith(e.p, "alice", pendingCh.ID, old[2]); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("an old code on a challenge begun before the new set: %v", err)
	}
	for _, c := range old[2:] {
		if err := e.verify(t, "alice", c); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("old code %s after the new set: %v", c, err)
		}
	}
	if err := e.verify(t, "alice", codesOf(t, en)[0]); err != nil {
		t.Errorf("a new code: %v", err)
	}
	if err := e.p.Remove(context.Background(), "alice", oldID); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Remove the old set: %v", err)
	}
}

// TestSpentCodeRefused: each code once, typed however the user types it;
// the label counts down.
func TestSpentCodeRefused(t *testing.T) {
	e := launch(t, map[string]string{"verify_limit": "100"}) // more failures than the default allows
	codes := e.newSet(t, "alice")
	typed := []string{
		strings.ToLower(codes[0]),
		strings.ReplaceAll(codes[1], "-", " "),
		strings.ReplaceAll(codes[2], "-", ""),
		" " + strings.ToLower(strings.ReplaceAll(codes[3], "-", "")) + " ",
	}
	for i, c := range typed {
		ch := e.begin(t, "alice")
		res, err := e.verifyWith(e.p, "alice", ch.ID, c)
		if err != nil {
			t.Fatalf("code typed as %q: %v", c, err)
		}
		if !slices.Equal(res.AMR, []string{"otp"}) || res.CredentialID != e.credentials(t, "alice")[0].ID {
			t.Errorf("result %+v", res)
		}
		// The answered challenge is spent, even with another code.
		if _, err := e.verifyWith(e.p, "alice", ch.ID, codes[9]); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Errorf("an answered challenge again: %v", err)
		}
		if got, want := e.credentials(t, "alice")[0].Label, fmt.Sprintf("%d of 10 codes left", 9-i); got != want {
			t.Errorf("label %q, want %q", got, want)
		}
	}
	for i, c := range codes[:4] {
		for _, again := range []string{c, typed[i]} {
			if err := e.verify(t, "alice", again); !errors.Is(err, sdk.ErrInvalidResponse) {
				t.Errorf("spent code %q again: %v", again, err)
			}
		}
	}
	if err := e.verify(t, "alice", codes[4]); err != nil {
		t.Errorf("an unspent code after the refusals: %v", err)
	}
}

// TestLastCodes: a warning from two codes left; after the last one the set
// lists nothing and Begin says not enrolled, so the host moves on.
func TestLastCodes(t *testing.T) {
	e := launch(t, map[string]string{"count": "5"})
	codes := e.newSet(t, "alice")
	wantLabels := []string{"4 of 5 codes left", "3 of 5 codes left", "2 of 5 codes left", "1 of 5 codes left"}
	wantWarnings := []string{"", "", "Only 2 of 5 codes left: generate a new set", "Only 1 of 5 codes left: generate a new set"}
	for i, c := range codes[:4] {
		if err := e.verify(t, "alice", c); err != nil {
			t.Fatal(err)
		}
		if got := e.credentials(t, "alice"); len(got) != 1 || got[0].Label != wantLabels[i] || got[0].Warning != wantWarnings[i] {
			t.Errorf("after %d used: %+v, want %q warning %q", i+1, got, wantLabels[i], wantWarnings[i])
		}
	}
	ch := e.begin(t, "alice")
	if _, err := e.verifyWith(e.p, "alice", ch.ID, codes[4]); err != nil {
		t.Fatal(err)
	}
	if creds := e.credentials(t, "alice"); len(creds) != 0 {
		t.Errorf("credentials with every code spent: %+v", creds)
	}
	if _, err := e.p.Begin(context.Background(), sdk.BeginRequest{User: user("alice")}); !errors.Is(err, sdk.ErrNotEnrolled) {
		t.Errorf("Begin with every code spent: %v, want ErrNotEnrolled", err)
	}
	if _, err := e.verifyWith(e.p, "alice", ch.ID, codes[4]); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("the last code again: %v", err)
	}
	// A new set is an enrolment like the first.
	if err := e.verify(t, "alice", e.newSet(t, "alice")[0]); err != nil {
		t.Errorf("a new set after the last code: %v", err)
	}
}

func TestUsedNotice(t *testing.T) {
	for _, c := range []struct {
		left int
		want string
	}{
		{9, "A recovery code was used to verify your identity. 9 of your 10 codes are left."},
		{3, "A recovery code was used to verify your identity. 3 of your 10 codes are left."},
		{2, "A recovery code was used to verify your identity. Only 2 of your 10 codes are left: generate a new set on your account page."},
		{1, "A recovery code was used to verify your identity. Only 1 of your 10 codes are left: generate a new set on your account page."},
		{0, "Your last recovery code was used to verify your identity. Generate a new set on your account page now."},
	} {
		if got := usedNotice(c.left, 10); got != c.want {
			t.Errorf("usedNotice(%d) = %q, want %q", c.left, got, c.want)
		}
	}
}

// TestNothingStoredHoldsACode reads the backend raw and decrypted: no
// code in any form, no plain hash of one; the set holds HMAC-SHA-256 of
// user and code under the method's key.
func TestNothingStoredHoldsACode(t *testing.T) {
	e := launch(t, nil)
	codes := e.newSet(t, "alice")
	pending := codesOf(t, e.enrol(t, "alice")) // a pending set too
	if err := e.verify(t, "alice", codes[0]); err != nil {
		t.Fatal(err)
	}
	var forbidden [][]byte
	for _, c := range append(slices.Clone(codes), pending...) {
		plain, _ := Normalise(c)
		for _, form := range []string{c, plain, strings.ToLower(plain), "alice" + plain, "alice\x00" + plain} {
			sum := sha256.Sum256([]byte(form))
			forbidden = append(forbidden, []byte(form), sum[:],
				[]byte(hex.EncodeToString(sum[:])), []byte(base64.StdEncoding.EncodeToString(sum[:])),
				[]byte(base64.RawURLEncoding.EncodeToString(sum[:])))
		}
		for _, group := range strings.Split(c, "-") {
			forbidden = append(forbidden, []byte(group+"-")) // no part of a code either
		}
	}
	local := e.local(t)
	ns := host.Namespace(Name)
	seen := 0
	for _, nk := range e.backend.Keys() {
		gotNS, key, _ := strings.Cut(nk, "\x00")
		if gotNS != ns {
			continue
		}
		seen++
		raw, _ := e.backend.Raw(ns, key)
		plain, _, err := local.Storage().Get(context.Background(), key)
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		for _, f := range forbidden {
			if strings.Contains(key, string(f)) || bytes.Contains(raw, f) || bytes.Contains(plain, f) {
				t.Errorf("%s holds a code or its plain hash (%q): %q", key, f, plain)
			}
		}
	}
	if seen < 3 {
		t.Fatalf("%d records, want the key, the set and the pending set", seen)
	}
	hkey, _, err := local.Storage().Get(context.Background(), keyName)
	if err != nil || len(hkey) != 32 {
		t.Fatalf("hmac key: %d bytes, %v", len(hkey), err)
	}
	var set codeSet
	if _, err := sdk.GetJSON(context.Background(), local.Storage(), setKey("alice"), &set); err != nil {
		t.Fatal(err)
	}
	if set.total() != len(codes) || set.left() != len(codes)-1 {
		t.Fatalf("%d stored codes, %d left; want %d, %d", set.total(), set.left(), len(codes), len(codes)-1)
	}
	for i := 1; i < set.total(); i++ {
		if bytes.Compare(set.hashAt(i-1), set.hashAt(i)) >= 0 {
			t.Errorf("hashes are not sorted and unique at %d", i)
		}
	}
	for i, c := range codes {
		plain, _ := Normalise(c)
		at, ok := set.find(codeHash(hkey, "alice", plain))
		if !ok {
			t.Errorf("code %d is not stored as HMAC-SHA-256(key, user, code)", i)
			continue
		}
		if spent := set.spent(at); spent != (i == 0) {
			t.Errorf("code %d spent: %v", i, spent)
		}
	}
	var fields map[string]any
	rawSet, _, _ := local.Storage().Get(context.Background(), setKey("alice"))
	if err := json.Unmarshal(rawSet, &fields); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, []string{"created_at", "hashes", "id", "last_challenge", "last_used_at", "spent"}) {
		t.Errorf("set fields %v", got)
	}
	for _, c := range append(slices.Clone(codes), pending...) {
		plain, _ := Normalise(c)
		if strings.Contains(e.logs.String(), plain) || strings.Contains(e.logs.String(), c) {
			t.Errorf("a code is in the log")
		}
	}
}

// TestConcurrentOneCode: 50 verifications with one code at once, on two
// plugin processes over one storage (two replicas), exactly one succeeds;
// the others fail as any wrong code does. With the default limit the host
// lets at most 10 reach the method; the rest are rate limited.
func TestConcurrentOneCode(t *testing.T) {
	for _, c := range []struct {
		name   string
		config map[string]string
	}{
		{"every attempt judged", map[string]string{"verify_limit": "100"}},
		{"default limit", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := launch(t, c.config)
			replicas := []*host.Plugin{e.p, e.start(t, c.config)}
			codes := e.newSet(t, "alice")
			chs := make([]sdk.Challenge, 2)
			for i := range chs {
				chs[i] = e.begin(t, "alice")
			}
			const n = 50
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = e.verifyWith(replicas[i%2], "alice", chs[i%2].ID, codes[0])
				})
			}
			close(start)
			wg.Wait()
			won, wrong, limited := 0, 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, sdk.ErrInvalidResponse):
					wrong++
				case errors.Is(err, sdk.ErrRateLimited) && c.config == nil:
					limited++
				default:
					t.Errorf("a losing verification: %v", err)
				}
			}
			if won != 1 {
				t.Fatalf("%d of %d concurrent verifications of one code succeeded, want exactly 1 (%d wrong, %d limited)", won, n, wrong, limited)
			}
			if c.config == nil && wrong+won > DefaultVerifyLimit+1 {
				t.Errorf("%d verifications judged, want at most the limit %d and the success", wrong+won, DefaultVerifyLimit)
			}
			if creds := e.credentials(t, "alice"); len(creds) != 1 || creds[0].Label != "9 of 10 codes left" {
				t.Errorf("credentials %+v", creds)
			}
		})
	}
}

// TestConcurrentOneCodeLocal is the same race in process, where
// PutOnAccept writes at once and the method itself looks again after a
// lost compare-and-swap.
func TestConcurrentOneCodeLocal(t *testing.T) {
	clock := hosttest.NewClock(t0)
	key := make([]byte, host.KeySize)
	_, _ = rand.Read(key)
	h, err := host.NewLocalHost(Name, hosttest.NewMemory(), key, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	if err := m.(*Method).Configure(map[string]string{"verify_limit": "100"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u := user("alice")
	en, err := m.Enrol(ctx, h, sdk.EnrolRequest{User: u})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ConfirmEnrolment(ctx, h, sdk.ConfirmRequest{User: u, EnrolmentID: en.ID, Response: map[string]string{"saved": "on"}}); err != nil {
		t.Fatal(err)
	}
	code := codesOf(t, en)[3]
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ch, err := m.Begin(ctx, h, sdk.BeginRequest{User: u})
			if err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = m.Verify(ctx, h, sdk.VerifyRequest{UserID: u.ID, ChallengeID: ch.ID, Response: map[string]string{"code": code}})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, sdk.ErrInvalidResponse):
			t.Errorf("a losing verification: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent verifications of one code succeeded, want exactly 1", won, n)
	}
}

func TestRemove(t *testing.T) {
	e := launch(t, nil)
	ctx := context.Background()
	codes := e.newSet(t, "alice")
	e.newSet(t, "bob")
	id := e.credentials(t, "alice")[0].ID
	if err := e.p.Remove(ctx, "bob", id); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("alice's set removed as bob's: %v", err)
	}
	if err := e.p.Remove(ctx, "alice", id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Begin(ctx, sdk.BeginRequest{User: user("alice")}); !errors.Is(err, sdk.ErrNotEnrolled) {
		t.Errorf("Begin after Remove: %v", err)
	}
	ch := e.begin(t, "bob")
	if _, err := e.verifyWith(e.p, "alice", ch.ID, codes[0]); !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("a removed set's code: %v", err)
	}
	if len(e.credentials(t, "bob")) != 1 {
		t.Errorf("bob's set went too")
	}
}

func TestNoAdminActions(t *testing.T) {
	e := launch(t, nil)
	_, err := e.p.Admin(context.Background(), sdk.AdminRequest{Action: "issue", User: user("alice")})
	if !errors.Is(err, sdk.ErrInvalidInput) || !strings.Contains(sdk.UserMessage(err), "issue") {
		t.Errorf("Admin: %v", err)
	}
}

// harness answers with the codes the enrolment showed, each once.
type harness struct {
	mu    sync.Mutex
	codes map[string][]string
}

func (h *harness) Spec() host.Spec { return host.Spec{Name: Name, Path: pluginPath} }

func (h *harness) EnrolmentResponse(t testing.TB, _ *conformance.Env, u sdk.User, e sdk.Enrolment, valid bool) map[string]string {
	if !valid {
		return map[string]string{"saved": ""}
	}
	h.mu.Lock()
	h.codes[u.ID] = slices.Clone(codesOf(t, e))
	h.mu.Unlock()
	return map[string]string{"saved": "on"}
}

func (h *harness) ChallengeResponse(t testing.TB, _ *conformance.Env, u sdk.User, _ sdk.Challenge, valid bool) map[string]string {
	if !valid {
		c, err := NewCode() // 2^-76 to be one of the set
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"code": c}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	codes := h.codes[u.ID]
	if len(codes) == 0 {
		t.Fatalf("no code left for %s", u.ID)
	}
	h.codes[u.ID] = codes[1:]
	return map[string]string{"code": codes[0]}
}

func TestConformance(t *testing.T) {
	conformance.RunMethodTests(t, &harness{codes: map[string][]string{}})
}

// BenchmarkVerify measures a check through the real plugin (host ->
// plugin Verify, the set sent with the call, the spent mark written as the
// host accepts) for sets of 10 and 20 codes: one keyed hash and one lookup
// either way, so the two cost the same. A new set is made, off the clock,
// whenever the codes run out. p50-µs compares with TOTP's BenchmarkVerify.
func BenchmarkVerify(b *testing.B) {
	for _, count := range []int{10, 20} {
		b.Run(fmt.Sprintf("count=%d", count), func(b *testing.B) {
			e := launch(b, map[string]string{"count": fmt.Sprint(count), "verify_limit": "1000000"})
			var codes []string
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				if len(codes) == 0 {
					codes = e.newSet(b, "bench")
				}
				// As TOTP's benchmark moves to a new time step: the host's
				// limiter then sees the same window as there.
				e.clock.Advance(30 * time.Second)
				ch := e.begin(b, "bench")
				code := codes[0]
				codes = codes[1:]
				b.StartTimer()
				t0 := time.Now()
				_, err := e.verifyWith(e.p, "bench", ch.ID, code)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
		})
	}
}

// BenchmarkCheck is the check alone, in process, for sets of 10 and 20:
// decode the set, hash, look up, compare.
func BenchmarkCheck(b *testing.B) {
	key := make([]byte, 32)
	for _, count := range []int{10, 20} {
		b.Run(fmt.Sprintf("count=%d", count), func(b *testing.B) {
			codes, hashes, err := newSet(key, "bench", count)
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := json.Marshal(codeSet{ID: "set", Hashes: hashes, Spent: make([]byte, (count+7)/8)})
			plain, _ := Normalise(codes[count-1])
			b.ResetTimer()
			for range b.N {
				var set codeSet
				if err := json.Unmarshal(raw, &set); err != nil {
					b.Fatal(err)
				}
				if i, ok := set.find(codeHash(key, "bench", plain)); !ok || set.spent(i) {
					b.Fatal("not found")
				}
			}
		})
	}
}
