package pin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/conformance"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// pluginPath is the stepup-pin executable TestMain builds, for the
// conformance kit and the end-to-end tests.
var pluginPath string

// cheap are argon2id parameters that keep the tests fast.
var cheap = map[string]string{"memory_kib": "64", "iterations": "1"}

func TestMain(m *testing.M) {
	os.Exit(hosttest.RunWithPlugin(m, "github.com/stepup-mfa/stepup/examples/customplugin/cmd/stepup-pin", &pluginPath))
}

// harness plays the users of the conformance kit: each chooses a random
// PIN at enrolment and answers with it.
type harness struct {
	mu   sync.Mutex
	pins map[string]string
}

func (h *harness) Spec() host.Spec {
	return host.Spec{Name: Name, Path: pluginPath, Config: cheap}
}

// Properties: a PIN is right for every challenge until it is removed.
func (h *harness) Properties() conformance.Properties {
	return conformance.Properties{MultiUse: true}
}

// EnrolmentResponse chooses the user's PIN. An invalid one repeats it
// wrongly (the method declares no confirm limit, so the kit does not ask).
func (h *harness) EnrolmentResponse(t testing.TB, _ *conformance.Env, u sdk.User, _ sdk.Enrolment, valid bool) map[string]string {
	p := randomPIN(t)
	h.mu.Lock()
	h.pins[u.ID] = p
	h.mu.Unlock()
	if !valid {
		return map[string]string{"pin": p, "pin_confirm": otherPIN(p)}
	}
	return map[string]string{"pin": p, "pin_confirm": p}
}

func (h *harness) ChallengeResponse(t testing.TB, _ *conformance.Env, u sdk.User, _ sdk.Challenge, valid bool) map[string]string {
	h.mu.Lock()
	p, ok := h.pins[u.ID]
	h.mu.Unlock()
	if !ok {
		t.Fatalf("no PIN for %s", u.ID)
	}
	if !valid {
		p = otherPIN(p)
	}
	return map[string]string{"pin": p}
}

func TestConformance(t *testing.T) {
	conformance.RunMethodTests(t, &harness{pins: map[string]string{}})
}

// randomPIN returns a PIN of 6 to 8 digits that the method accepts.
func randomPIN(t testing.TB) string {
	t.Helper()
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
		if err != nil {
			t.Fatal(err)
		}
		width := MinDigits + int(n.Int64()%3)
		p := fmt.Sprintf("%08d", n.Int64())[:width]
		if !guessable(p) {
			return p
		}
	}
}

// otherPIN returns a well-formed PIN that differs from p.
func otherPIN(p string) string {
	last := (p[len(p)-1]-'0'+1)%10 + '0'
	return p[:len(p)-1] + string(last)
}

// local runs the method in process over the same host services a plugin
// gets: storage namespace, encryption, rate limits, a settable clock.
type local struct {
	m       *Method
	h       sdk.Host
	clock   *hosttest.Clock
	backend *hosttest.Memory
}

func newLocal(t *testing.T) *local {
	t.Helper()
	m := New()
	if err := m.Configure(cheap); err != nil {
		t.Fatal(err)
	}
	clock := hosttest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	backend := hosttest.NewMemory()
	key := make([]byte, host.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	h, err := host.NewLocalHost(Name, backend, key, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &local{m: m, h: h, clock: clock, backend: backend}
}

func (l *local) enrol(t *testing.T, userID, pin, again string) (sdk.Credential, error) {
	t.Helper()
	ctx := context.Background()
	e, err := l.m.Enrol(ctx, l.h, sdk.EnrolRequest{User: sdk.User{ID: userID}})
	if err != nil {
		t.Fatalf("Enrol: %v", err)
	}
	if len(e.Displays) != 0 || len(e.Display) != 0 || len(e.ImagePNG) != 0 {
		t.Errorf("enrolment displays %v %v: the PIN is the user's secret, nothing to show", e.Displays, e.Display)
	}
	return l.m.ConfirmEnrolment(ctx, l.h, sdk.ConfirmRequest{User: sdk.User{ID: userID}, EnrolmentID: e.ID,
		Response: map[string]string{"pin": pin, "pin_confirm": again}})
}

func (l *local) verify(t *testing.T, userID, pin string) error {
	t.Helper()
	ctx := context.Background()
	ch, err := l.m.Begin(ctx, l.h, sdk.BeginRequest{User: sdk.User{ID: userID}})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	_, err = l.m.Verify(ctx, l.h, sdk.VerifyRequest{UserID: userID, ChallengeID: ch.ID, Response: map[string]string{"pin": pin}})
	return err
}

func TestEnrolmentChecksThePIN(t *testing.T) {
	for _, c := range []struct {
		name, pin, again, want string
	}{
		{"too short", "49173", "49173", "6 to 8 digits"},
		{"too long", "491735820", "491735820", "6 to 8 digits"},
		{"not digits", "49l735", "49l735", "6 to 8 digits"},
		{"empty", "", "", "6 to 8 digits"},
		{"one digit repeated", "777777", "777777", "too easy"},
		{"run up", "123456", "123456", "too easy"},
		{"run up, wrapping", "78901234", "78901234", "too easy"},
		{"run down", "9876543", "9876543", "too easy"},
		{"not repeated", "491735", "491736", "differ"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLocal(t)
			_, err := l.enrol(t, "alice", c.pin, c.again)
			if !errors.Is(err, sdk.ErrInvalidInput) || !strings.Contains(sdk.UserMessage(err), c.want) {
				t.Fatalf("ConfirmEnrolment = %v (message %q), want ErrInvalidInput saying %q", err, sdk.UserMessage(err), c.want)
			}
		})
	}
	l := newLocal(t)
	cred, err := l.enrol(t, "alice", "491 735", "491-735")
	if err != nil || cred.Label != "PIN" {
		t.Fatalf("a good PIN typed with a space and a dash: %+v, %v", cred, err)
	}
	if _, err := l.m.Enrol(context.Background(), l.h, sdk.EnrolRequest{User: sdk.User{ID: "alice"}}); !errors.Is(err, sdk.ErrAlreadyEnrolled) {
		t.Errorf("a second Enrol: %v, want ErrAlreadyEnrolled", err)
	}
}

func TestEnrolmentExpires(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	e, err := l.m.Enrol(ctx, l.h, sdk.EnrolRequest{User: sdk.User{ID: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	l.clock.Advance(EnrolmentTTL)
	_, err = l.m.ConfirmEnrolment(ctx, l.h, sdk.ConfirmRequest{User: sdk.User{ID: "alice"}, EnrolmentID: e.ID,
		Response: map[string]string{"pin": "491735", "pin_confirm": "491735"}})
	if !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("confirm after expiry: %v, want ErrInvalidResponse", err)
	}
}

// TestStoredOnlyAsSaltedHash reads what the method stored, decrypted as
// the method itself sees it: no PIN, a different salt and hash for two
// users with the same PIN, and the parameters that made the hash.
func TestStoredOnlyAsSaltedHash(t *testing.T) {
	l := newLocal(t)
	const pin = "491735"
	ctx := context.Background()
	var accounts []account
	for _, user := range []string{"alice", "bob"} {
		if _, err := l.enrol(t, user, pin, pin); err != nil {
			t.Fatal(err)
		}
		raw, _, err := l.h.Storage().Get(ctx, accountKey(user))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(pin)) {
			t.Fatalf("the PIN is readable in %s", raw)
		}
		var acc account
		if err := json.Unmarshal(raw, &acc); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, acc)
	}
	a, b := accounts[0], accounts[1]
	if len(a.Salt) != saltLen || len(a.Hash) != hashLen || bytes.Equal(a.Salt, b.Salt) || bytes.Equal(a.Hash, b.Hash) {
		t.Errorf("salts %x %x, hashes %x %x: want distinct %d-byte salts and %d-byte hashes", a.Salt, b.Salt, a.Hash, b.Hash, saltLen, hashLen)
	}
	if a.Params != (Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}) {
		t.Errorf("stored parameters %+v", a.Params)
	}
	// And the host encrypts what the method stores: the backend holds
	// neither the PIN nor the hash.
	for _, nk := range l.backend.Keys() {
		ns, key, _ := strings.Cut(nk, "\x00")
		raw, _ := l.backend.Raw(ns, key)
		if bytes.Contains(raw, []byte(pin)) || bytes.Contains(raw, a.Hash) {
			t.Errorf("backend value %q holds the PIN or its hash", nk)
		}
	}
}

// TestStrongerParametersLater: a PIN enrolled under the old argon2id
// parameters still verifies after the operator raises them.
func TestStrongerParametersLater(t *testing.T) {
	l := newLocal(t)
	if _, err := l.enrol(t, "alice", "491735", "491735"); err != nil {
		t.Fatal(err)
	}
	if err := l.m.Configure(map[string]string{"memory_kib": "128", "iterations": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := l.verify(t, "alice", "491735"); err != nil {
		t.Fatalf("the PIN after raising the parameters: %v", err)
	}
	if _, err := l.enrol(t, "bob", "491735", "491735"); err != nil {
		t.Fatal(err)
	}
	var acc account
	if _, err := sdk.GetJSON(context.Background(), l.h.Storage(), accountKey("bob"), &acc); err != nil {
		t.Fatal(err)
	}
	if acc.Params != (Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1}) {
		t.Errorf("a new PIN's parameters %+v", acc.Params)
	}
}

func TestVerify(t *testing.T) {
	l := newLocal(t)
	if _, err := l.enrol(t, "alice", "491735", "491735"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.enrol(t, "bob", "582046", "582046"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, user, pin string
		ok              bool
	}{
		{"right", "alice", "491735", true},
		{"right again: a PIN is not spent", "alice", "491735", true},
		{"typed with a space", "bob", "582 046", true},
		{"wrong", "alice", "491736", false},
		{"another user's", "alice", "582046", false},
		{"a prefix", "alice", "49173", false},
	} {
		err := l.verify(t, c.user, c.pin)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Errorf("%s: %v, want ErrInvalidResponse", c.name, err)
		}
	}
}

func TestVerifyLimit(t *testing.T) {
	l := newLocal(t)
	if err := l.m.Configure(map[string]string{"verify_limit": "3", "verify_window": "1m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.enrol(t, "alice", "491735", "491735"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := l.verify(t, "alice", "000001"); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("a wrong PIN: %v", err)
		}
	}
	err := l.verify(t, "alice", "491735")
	retry, ok := sdk.RetryAfter(err)
	if !errors.Is(err, sdk.ErrRateLimited) || !ok || retry.After(l.clock.Now().Add(time.Minute)) {
		t.Fatalf("the fourth attempt in a minute: %v, want ErrRateLimited within a minute", err)
	}
	l.clock.Set(retry.Add(time.Second))
	if err := l.verify(t, "alice", "491735"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestConfigure(t *testing.T) {
	m := New()
	if err := m.Configure(map[string]string{"priority": "70", "verify_limit": "3", "verify_window": "1m",
		"memory_kib": "65536", "iterations": "3", "parallelism": "2", "unrelated": "x"}); err != nil {
		t.Fatal(err)
	}
	d, _ := m.Describe(context.Background())
	if d.Name != Name || d.Priority != 70 || len(d.Limits) != 1 || d.Limits[0] != (sdk.Limit{Operation: sdk.OpVerify, Max: 3, Window: time.Minute, Key: "verify/{user}"}) ||
		len(d.Levels) != 1 || d.Levels[0] != "aal2" || len(d.AMR) != 1 || d.AMR[0] != "pin" || !d.NeedsEnrolment {
		t.Errorf("description %+v", d)
	}
	if m.params != (Params{MemoryKiB: 65536, Iterations: 3, Parallelism: 2}) {
		t.Errorf("params %+v", m.params)
	}
	for key, bad := range map[string]map[string]string{
		"verify_limit":  {"verify_limit": "0"},
		"verify_window": {"verify_window": "soon"},
		"priority":      {"priority": "-1"},
		"iterations":    {"iterations": "0"},
		"memory_kib":    {"memory_kib": "16", "parallelism": "4"},
	} {
		err := New().Configure(bad)
		if !errors.Is(err, sdk.ErrInvalidInput) || !strings.Contains(err.Error(), key) {
			t.Errorf("Configure(%v) = %v, want ErrInvalidInput naming %s", bad, err, key)
		}
	}
}

func TestGuessable(t *testing.T) {
	for pin, want := range map[string]bool{
		"000000": true, "123456": true, "8901234": true, "654321": true, "21098765": true,
		"491735": false, "112233": false, "123457": false, "135790": false,
	} {
		if got := guessable(pin); got != want {
			t.Errorf("guessable(%s) = %v, want %v", pin, got, want)
		}
	}
}

// TestMisspelledSettingStopsTheStart: an external plugin declares the
// settings it takes, and the host refuses to start it with a key it does
// not take, in one line naming methods.NAME.KEY (issue 18, item 6).
func TestMisspelledSettingStopsTheStart(t *testing.T) {
	spec := host.Spec{Name: Name, Path: pluginPath, Config: map[string]string{"memory_kb": "64", "iterations": "1"},
		Backend: hosttest.NewMemory(), Key: make([]byte, host.KeySize)}
	p, err := host.Launch(context.Background(), spec)
	if err == nil {
		p.Close()
		t.Fatal("the plugin started with memory_kb, which it does not take")
	}
	if want := "config: methods." + Name + ".memory_kb is not a setting of this method"; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("launch: %v\nwant a line starting %q", err, want)
	}
}
