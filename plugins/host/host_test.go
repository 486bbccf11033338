package host_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

func TestMain(m *testing.M) {
	if servePluginIfAsked() {
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	backend *hosttest.Memory
	clock   *hosttest.Clock
	key     []byte
}

func newEnv() *env {
	key := make([]byte, host.KeySize)
	_, _ = rand.Read(key)
	return &env{backend: hosttest.NewMemory(), clock: hosttest.NewClock(t0), key: key}
}

// spec runs the test binary as the named test plugin.
func (e *env) spec(t testing.TB, name, kind string) host.Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return host.Spec{
		Name: name, Path: exe, Args: []string{"plugin", name},
		Env:     []string{pluginEnv + "=" + kind, "GORACE=atexit_sleep_ms=0"},
		Backend: e.backend, Key: e.key, Now: e.clock.Now,
	}
}

func launch(t testing.TB, spec host.Spec) *host.Plugin {
	t.Helper()
	p, err := host.Launch(context.Background(), spec)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// local reads the plugin's storage from the host side.
func (e *env) local(t testing.TB, name string) sdk.Host {
	t.Helper()
	h, err := host.NewLocalHost(name, e.backend, e.key, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func admin(t testing.TB, p *host.Plugin, action string, params ...string) (map[string]string, error) {
	t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(params); i += 2 {
		m[params[i]] = params[i+1]
	}
	return p.Admin(context.Background(), sdk.AdminRequest{Action: action, User: sdk.User{ID: "u1"}, Params: m})
}

func TestLaunchDescribeAndCalls(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	d := p.Description()
	if d.Name != "probe" || d.Priority != 7 || !d.Bypass || !slices.Equal(d.Levels, []string{"aal2"}) ||
		len(d.Limits) != 1 || d.Limits[0].Window != time.Minute || !p.Healthy() {
		t.Fatalf("description %+v, healthy %v", d, p.Healthy())
	}
	ctx := context.Background()
	ch, err := p.Begin(ctx, sdk.BeginRequest{User: sdk.User{ID: "u1", Username: "alice"}})
	if err != nil || ch.ID != "c-u1" || ch.Public["hint"] != "bird" || !ch.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Begin = %+v, %v", ch, err)
	}
	en, err := p.Enrol(ctx, sdk.EnrolRequest{User: sdk.User{ID: "u1"}})
	if err != nil || en.ID != "e1" || en.Display["k"] != "v" || len(en.ImagePNG) != 3 || len(en.Displays) != 0 {
		t.Fatalf("Enrol = %+v, %v", en, err)
	}
	en, err = p.Enrol(ctx, sdk.EnrolRequest{User: sdk.User{ID: "u1"}, Params: map[string]string{"phone": "+15550100"}})
	want := []sdk.Display{
		{Kind: sdk.DisplayText, Value: "Sent to +15550100"},
		{Kind: sdk.DisplayCodes, Label: "Keep these:", Values: []string{"A1", "B2"}},
		{Kind: sdk.DisplayImage, Label: "A picture", PNG: []byte{4, 5}},
	}
	if err != nil || en.ID != "e2" || !reflect.DeepEqual(en.Displays, want) {
		t.Fatalf("Enrol with params = %+v, %v", en, err)
	}
	c, err := p.ConfirmEnrolment(ctx, sdk.ConfirmRequest{User: sdk.User{ID: "u1"}, EnrolmentID: "e1", Label: "mine"})
	if err != nil || c.Label != "mine" || !c.CreatedAt.Equal(t0) {
		t.Fatalf("ConfirmEnrolment = %+v, %v", c, err)
	}
	if err := p.Remove(ctx, "u1", "nope"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Remove unknown = %v", err)
	}
	// The plugin reads the host's clock, not its own.
	e.clock.Advance(time.Hour)
	r, err := p.Admin(ctx, sdk.AdminRequest{Action: "now", User: sdk.User{ID: "u1"}, Actor: "helpdesk"})
	if err != nil || r["now"] != t0.Add(time.Hour).Format(time.RFC3339Nano) || r["actor"] != "helpdesk" {
		t.Fatalf("plugin's Now = %v, %v", r, err)
	}
}

// TestDescriptionCrossesWhole checks that every declaration the host
// offers pages and the admin API from arrives as the plugin made it.
func TestDescriptionCrossesWhole(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	want, err := probe{}.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want.Name = "probe"
	if got := p.Description(); !reflect.DeepEqual(got, want) {
		t.Fatalf("description\n got %+v\nwant %+v", got, want)
	}
	if _, problems := sdk.CheckAdminActions(want); len(problems) > 0 {
		t.Fatalf("the probe's admin action is ill-formed: %v", problems)
	}
}

func TestProcessShowsMethodName(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID()))
	if err != nil {
		t.Fatalf("read the plugin's command line from /proc: %v", err)
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) != 3 || args[1] != "plugin" || args[2] != "probe" {
		t.Fatalf("plugin command line %q, want [... plugin probe]", args)
	}
}

func TestHostEnvironmentNotInherited(t *testing.T) {
	t.Setenv("STEPUP_TEST_SECRET", "hunter2")
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	r, err := admin(t, p, "env")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r["env"], "hunter2") {
		t.Fatalf("the plugin sees the host's environment:\n%s", r["env"])
	}
}

func TestErrorsCrossTheBoundary(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	verify := func(mode string) error {
		_, err := p.Verify(context.Background(), sdk.VerifyRequest{UserID: "u1", ChallengeID: "c", Response: map[string]string{"mode": mode}})
		return err
	}
	for kind, sentinel := range map[string]error{
		"invalid_response": sdk.ErrInvalidResponse, "not_enrolled": sdk.ErrNotEnrolled,
		"already_enrolled": sdk.ErrAlreadyEnrolled, "not_found": sdk.ErrNotFound,
		"conflict": sdk.ErrConflict, "unavailable": sdk.ErrUnavailable,
	} {
		err := verify("err:" + kind)
		if !errors.Is(err, sentinel) {
			t.Errorf("%s: %v does not match its sentinel", kind, err)
		}
		if !strings.Contains(err.Error(), "probe detail") || !strings.Contains(err.Error(), "method probe") {
			t.Errorf("%s: message %q lost its detail or the method's name", kind, err)
		}
		for _, other := range sentinels {
			if other != sentinel && errors.Is(err, other) {
				t.Errorf("%s: %v also matches %v", kind, err, other)
			}
		}
	}
	err := verify("rate_limited")
	if at, ok := sdk.RetryAfter(err); !errors.Is(err, sdk.ErrRateLimited) || !ok || !at.Equal(t0.Add(90*time.Second)) {
		t.Errorf("rate limited: %v, retry after %v %v", err, at, ok)
	}
	err = verify("invalid_input")
	if !errors.Is(err, sdk.ErrInvalidInput) || sdk.UserMessage(err) != `enter the word "bird"` {
		t.Errorf("invalid input: %v, message %q", err, sdk.UserMessage(err))
	}
	err = verify("conflict_message")
	if !errors.Is(err, sdk.ErrConflict) || errors.Is(err, sdk.ErrInvalidInput) || sdk.UserMessage(err) != "a bird is already active" {
		t.Errorf("conflict with a message: %v, message %q", err, sdk.UserMessage(err))
	}
	err = verify("err:other")
	for _, s := range sentinels {
		if errors.Is(err, s) {
			t.Errorf("an unclassified error matches %v", s)
		}
	}
	// A panic in the method fails that call only.
	if _, err := admin(t, p, "panic"); err == nil || !p.Healthy() || p.Restarts() != 0 {
		t.Errorf("after a panic: err %v, healthy %v, restarts %d", err, p.Healthy(), p.Restarts())
	}
	if _, err := admin(t, p, "now"); err != nil {
		t.Errorf("a call after the panic: %v", err)
	}
}

func TestStorageThroughBroker(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	put := func(key, value, expect, ttl string) (map[string]string, error) {
		return admin(t, p, "put", "key", key, "value", value, "expect", expect, "ttl", ttl)
	}
	if r, err := put("a/1", "one", "0", "0s"); err != nil || r["version"] != "1" {
		t.Fatalf("put new = %v, %v", r, err)
	}
	if _, err := put("a/1", "again", "0", "0s"); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("put existing with 0 = %v, want ErrConflict (plugin side, then back)", err)
	}
	if _, err := put("a/1", "two", "5", "0s"); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("put with a stale version = %v", err)
	}
	if r, err := put("a/1", "two", "1", "0s"); err != nil || r["version"] != "2" {
		t.Fatalf("put at version 1 = %v, %v", r, err)
	}
	if r, err := admin(t, p, "get", "key", "a/1"); err != nil || r["value"] != "two" || r["version"] != "2" {
		t.Fatalf("get = %v, %v", r, err)
	}
	if _, err := put("a/2", "short-lived", "0", "1m"); err != nil {
		t.Fatal(err)
	}
	if _, err := put("b/1", "x", "-1", "0s"); err != nil {
		t.Fatal(err)
	}
	if r, err := admin(t, p, "list", "prefix", "a/"); err != nil || r["keys"] != "a/1,a/2" {
		t.Fatalf("list = %v, %v", r, err)
	}
	e.clock.Advance(2 * time.Minute) // the host's clock expires a/2
	if _, err := admin(t, p, "get", "key", "a/2"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("get expired = %v, want ErrNotFound", err)
	}
	if err := func() error { _, err := admin(t, p, "delete", "key", "a/1", "expect", "1"); return err }(); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("delete at a stale version = %v", err)
	}
	if _, err := admin(t, p, "delete", "key", "a/1", "expect", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin(t, p, "get", "key", "\x00bad"); !errors.Is(err, sdk.ErrInvalidInput) {
		t.Fatalf("get a bad key = %v", err)
	}
	// The host sees the same data, sealed, in the method's namespace only.
	v, _, err := e.local(t, "probe").Storage().Get(context.Background(), "b/1")
	if err != nil || string(v) != "x" {
		t.Fatalf("host-side read = %q, %v", v, err)
	}
	for _, k := range e.backend.Keys() {
		if !strings.HasPrefix(k, host.Namespace("probe")+"\x00") {
			t.Errorf("key outside the namespace: %q", k)
		}
	}
	if raw, _ := e.backend.Raw(host.Namespace("probe"), "b/1"); len(raw) < 29 || strings.Contains(string(raw), "x") && len(raw) == 1 {
		t.Errorf("value not sealed: %q", raw)
	}
}

// TestConcurrentCASThroughBroker: N goroutines in the plugin Put one key
// with expectVersion 0 through the broker; exactly one wins.
func TestConcurrentCASThroughBroker(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	for round := range 3 {
		r, err := admin(t, p, "cas-race", "key", fmt.Sprint("race-", round), "n", "32")
		if err != nil {
			t.Fatal(err)
		}
		if r["won"] != "1" || r["conflict"] != "31" || r["other"] != "0" {
			t.Fatalf("round %d: %v, want exactly one winner and 31 conflicts", round, r)
		}
	}
	// And the host calls the plugin from many goroutines at once.
	if _, err := e.local(t, "probe").Storage().Put(context.Background(), "secret", []byte("word"), sdk.AnyVersion, 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				code := "word"
				if i%2 == 1 {
					code = "wrong"
				}
				_, err := p.Verify(context.Background(), sdk.VerifyRequest{UserID: "u", ChallengeID: "c", Response: map[string]string{"mode": "ok", "code": code}})
				if (code == "word") != (err == nil) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d concurrent verifications went wrong", failed.Load())
	}
}

func TestRateLimitThroughBroker(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	for i := 1; i <= 3; i++ {
		r, err := admin(t, p, "count", "key", "k", "window", "1h", "limit", "3")
		if err != nil || r["allowed"] != "true" || r["count"] != strconv.Itoa(i) {
			t.Fatalf("count %d = %v, %v", i, r, err)
		}
		e.clock.Advance(time.Minute)
	}
	r, err := admin(t, p, "count", "key", "k", "window", "1h", "limit", "3")
	if err != nil || r["allowed"] != "false" || r["retry_after"] != t0.Add(time.Hour).Format(time.RFC3339Nano) {
		t.Fatalf("fourth count = %v, %v", r, err)
	}
	// Another method's counter of the same name is its own.
	other := launch(t, e.spec(t, "other", "probe"))
	if r, err := admin(t, other, "count", "key", "k", "window", "1h", "limit", "3"); err != nil || r["count"] != "1" {
		t.Fatalf("other method's count = %v, %v", r, err)
	}
}

// A method that declares the key of its verify limit gets each
// verification counted by the host before the call: its own CheckLimit
// then answers without a call back, and an attempt counts once.
func TestVerifyLimitCountedAhead(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "counted", "counted"))
	if l := p.Description().Limits; len(l) != 1 || l[0].Key != "verify/{user}" {
		t.Fatalf("Limits = %+v", l)
	}
	ctx := context.Background()
	verify := func(user string) error {
		t.Helper()
		calls := e.backend.Calls()
		_, err := p.Verify(ctx, sdk.VerifyRequest{UserID: user, ChallengeID: "c", Response: map[string]string{}})
		// The user's record (sent with the call) and the count ahead: no
		// count from the plugin on top.
		if n := e.backend.Calls() - calls; n != 2 {
			t.Errorf("verification for %s made %d backend calls, want 2", user, n)
		}
		return err
	}
	for i := range countedMax {
		if err := verify("u1"); err != nil {
			t.Fatalf("verification %d: %v", i+1, err)
		}
		e.clock.Advance(time.Second)
	}
	err := verify("u1")
	if at, ok := sdk.RetryAfter(err); !errors.Is(err, sdk.ErrRateLimited) || !ok || !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("verification %d: %v (retry after %v), want ErrRateLimited until %v", countedMax+1, err, at, t0.Add(time.Minute))
	}
	if err := verify("u2"); err != nil {
		t.Fatalf("another user: %v", err)
	}
	e.clock.Set(t0.Add(time.Minute))
	if err := verify("u1"); err != nil {
		t.Fatalf("once the first attempt left the window: %v", err)
	}
	// An invalid user ID is not counted ahead: the method counts as usual,
	// calling back.
	calls := e.backend.Calls()
	if _, err := p.Verify(ctx, sdk.VerifyRequest{UserID: "", ChallengeID: "c"}); err != nil {
		t.Fatal(err)
	}
	if n := e.backend.Calls() - calls; n != 1 {
		t.Errorf("verification for an empty user ID made %d backend calls, want 1 (the method's own count)", n)
	}
}

// A Begin that sends a code: the host counts the message ahead of the
// call, so the method's count needs no call back, and the code it keeps
// is left to a caller that asked (DeferCommit), sealed, to be written
// with the caller's own write; another caller gets it written at once.
func TestBeginCountedAheadAndDeferred(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "sender", "sender"))
	ctx := context.Background()
	begin := func(user, level string, deferred bool) (host.Write, bool, int, error) {
		t.Helper()
		calls, bctx := e.backend.Calls(), ctx
		var d *host.Deferred
		if deferred {
			bctx, d = host.DeferCommit(ctx)
		}
		_, err := p.Begin(bctx, sdk.BeginRequest{User: sdk.User{ID: user}, Level: level})
		w, ok := d.Write()
		return w, ok, e.backend.Calls() - calls, err
	}
	code := func(user string) string {
		t.Helper()
		raw, _, err := e.local(t, "sender").Storage().Get(ctx, "code/"+user)
		if errors.Is(err, sdk.ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}

	// Deferred: the record sent with the call and the count ahead, nothing
	// written; the write comes back sealed, and makes the record.
	w, ok, calls, err := begin("u1", "", true)
	if err != nil || !ok || calls != 2 {
		t.Fatalf("deferred Begin: write %v, %d backend calls, %v; want a write and 2 calls (record, count)", ok, calls, err)
	}
	if code("u1") != "" {
		t.Fatal("a deferred Begin wrote its code")
	}
	if w.Namespace != host.Namespace("sender") || w.Key != "code/u1" || w.ExpectVersion != sdk.AnyVersion || w.Delete ||
		!w.Now.Equal(t0) || !w.ExpiresAt.Equal(t0.Add(time.Minute)) || strings.Contains(string(w.Value), "123456") {
		t.Fatalf("deferred write %+v", w)
	}
	if _, err := e.backend.KVPut(ctx, w.Namespace, w.Key, w.Value, w.ExpectVersion, w.ExpiresAt, w.Now); err != nil {
		t.Fatal(err)
	}
	if got := code("u1"); got != `{"code":"123456"}` {
		t.Fatalf("code after the caller's write: %q", got)
	}

	// Not deferred: written at once.
	if _, ok, calls, err := begin("u2", "", false); err != nil || ok || calls != 3 {
		t.Fatalf("Begin: write left %v, %d backend calls, %v; want none left and 3 calls (record, count, put)", ok, calls, err)
	}
	if code("u2") == "" {
		t.Fatal("Begin without a deferring caller did not write its code")
	}

	// The count ahead is the method's limit: a failed send gives its
	// count back, and the send after the last is refused in its words.
	if _, _, _, err := begin("u3", "down", true); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("Begin with the gateway down: %v", err)
	}
	for i := range senderMax {
		if _, _, _, err := begin("u3", "", true); err != nil {
			t.Fatalf("message %d after a failed one: %v", i+1, err)
		}
	}
	_, _, _, err = begin("u3", "", true)
	if !errors.Is(err, sdk.ErrRateLimited) || sdk.UserMessage(err) != "Too many messages." {
		t.Fatalf("message %d: %v (%q), want the method's refusal", senderMax+1, err, sdk.UserMessage(err))
	}
}

// A verify limit that counts failures only: successes never use it up,
// failures do, a refused attempt never reaches the method and waits for
// the oldest failure (not the oldest attempt), and of concurrent wrong
// responses exactly the limit reach the method.
func TestVerifyLimitCountsFailuresOnly(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "failures", "failures"))
	if l := p.Description().Limits; len(l) != 1 || !l[0].FailuresOnly {
		t.Fatalf("Limits = %+v", l)
	}
	ctx := context.Background()
	st := e.local(t, "failures").Storage()
	verify := func(user, code string) error {
		_, err := p.Verify(ctx, sdk.VerifyRequest{UserID: user, ChallengeID: "c", Response: map[string]string{"code": code}})
		return err
	}
	reached := func(user string) int {
		t.Helper()
		raw, _, err := st.Get(ctx, "reached/"+user)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(string(raw))
		return n
	}

	for i := range 3 * countedMax {
		if err := verify("u1", "right"); err != nil {
			t.Fatalf("success %d of %d within the window (limit %d): %v", i+1, 3*countedMax, countedMax, err)
		}
	}
	e.clock.Advance(10 * time.Second)
	firstFailure := e.clock.Now()
	for i := range countedMax {
		if err := verify("u1", "wrong"); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("failure %d: %v, want ErrInvalidResponse", i+1, err)
		}
		e.clock.Advance(time.Second)
	}
	err := verify("u1", "right")
	if at, ok := sdk.RetryAfter(err); !errors.Is(err, sdk.ErrRateLimited) || !ok || !at.Equal(firstFailure.Add(time.Minute)) {
		t.Fatalf("the right code after %d failures: %v (retry after %v), want ErrRateLimited until %v, when the first failure leaves the window",
			countedMax, err, at, firstFailure.Add(time.Minute))
	}
	if n := reached("u1"); n != 4*countedMax {
		t.Fatalf("%d verifications reached the method, want %d: the refused one must not", n, 4*countedMax)
	}
	e.clock.Set(firstFailure.Add(time.Minute))
	if err := verify("u1", "right"); err != nil {
		t.Fatalf("once the first failure left the window: %v", err)
	}

	const parallel = 20
	errs := make([]error, parallel)
	var wg sync.WaitGroup
	for i := range parallel {
		wg.Go(func() { errs[i] = verify("u2", "wrong") })
	}
	wg.Wait()
	wrong, limited := 0, 0
	for _, err := range errs {
		switch {
		case errors.Is(err, sdk.ErrInvalidResponse):
			wrong++
		case errors.Is(err, sdk.ErrRateLimited):
			limited++
		default:
			t.Errorf("a concurrent wrong response: %v", err)
		}
	}
	if wrong != countedMax || limited != parallel-countedMax || reached("u2") != countedMax {
		t.Fatalf("%d concurrent wrong responses: %d refused as wrong, %d rate limited, %d reached the method; want %d, %d, %d",
			parallel, wrong, limited, reached("u2"), countedMax, parallel-countedMax, countedMax)
	}
}

func TestCallTimeout(t *testing.T) {
	e := newEnv()
	spec := e.spec(t, "probe", "probe")
	spec.CallTimeout = 300 * time.Millisecond
	p := launch(t, spec)
	start := time.Now()
	_, err := p.Verify(context.Background(), sdk.VerifyRequest{UserID: "u1", Response: map[string]string{"mode": "hang"}})
	if !errors.Is(err, sdk.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging call: %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout of 300ms took %v", d)
	}
	if !p.Healthy() || p.Restarts() != 0 {
		t.Fatalf("a slow call is not a crash: healthy %v, restarts %d", p.Healthy(), p.Restarts())
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func verifyCount(t *testing.T, e *env) int {
	t.Helper()
	raw, _, err := e.local(t, "probe").Storage().Get(context.Background(), "verify-count")
	if errors.Is(err, sdk.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(string(raw))
	return n
}

// TestCrashRestart: SIGKILL the plugin in the middle of a Verify. The
// Verify fails with ErrUnavailable and is not sent again; the method is
// unhealthy, refuses calls that are not safe to repeat, restarts after its
// backoff and works again; repeatable calls wait for the restart.
func TestCrashRestart(t *testing.T) {
	tmp := t.TempDir() // where the plugins' sockets go
	t.Setenv("TMPDIR", tmp)
	// What a host killed with its plugins left; and a directory of a host
	// that still runs (init), kept.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(tmp, fmt.Sprintf("stepup-plugin-%d-123", dead.Process.Pid))
	live := filepath.Join(tmp, "stepup-plugin-1-456")
	for _, d := range []string{orphan, live} {
		if err := os.MkdirAll(filepath.Join(d, "plugin789"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv()
	spec := e.spec(t, "probe", "probe")
	spec.MinBackoff = 300 * time.Millisecond
	var hook atomic.Int32
	spec.OnRestart = func(name string) {
		if name == "probe" {
			hook.Add(1)
		}
	}
	p := launch(t, spec)
	ctx := context.Background()
	firstPID := p.PID()
	if _, err := os.Stat(orphan); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a dead host's socket directory after a start: %v, want it removed", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("a running host's socket directory after a start: %v, want it kept", err)
	}
	if err := os.RemoveAll(live); err != nil { // out of the counts below
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := p.Verify(ctx, sdk.VerifyRequest{UserID: "u1", Response: map[string]string{"mode": "hang"}})
		done <- err
	}()
	waitFor(t, "the Verify to reach the plugin", 5*time.Second, func() bool { return verifyCount(t, e) == 1 })
	killedAt := time.Now()
	if err := syscall.Kill(firstPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, sdk.ErrUnavailable) {
			t.Fatalf("Verify during the crash: %v, want ErrUnavailable", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("Verify did not return after the crash")
	}
	if p.Healthy() {
		t.Fatal("healthy right after the crash")
	}
	if _, err := p.Begin(ctx, sdk.BeginRequest{User: sdk.User{ID: "u1"}}); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("Begin while restarting: %v, want ErrUnavailable at once", err)
	}
	waitFor(t, "the restart", 10*time.Second, p.Healthy)
	if took := time.Since(killedAt); took < spec.MinBackoff {
		t.Errorf("restarted after %v, before the backoff of %v", took, spec.MinBackoff)
	}
	if p.Restarts() != 1 || hook.Load() != 1 || p.PID() == firstPID || p.PID() == 0 {
		t.Fatalf("restarts %d, hook %d, pid %d (was %d)", p.Restarts(), hook.Load(), p.PID(), firstPID)
	}
	if n := verifyCount(t, e); n != 1 {
		t.Fatalf("the plugin saw %d verifications, want 1: the host replayed Verify", n)
	}
	if _, err := e.local(t, "probe").Storage().Put(ctx, "secret", []byte("word"), sdk.AnyVersion, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(ctx, sdk.VerifyRequest{UserID: "u1", Response: map[string]string{"mode": "ok", "code": "word"}}); err != nil {
		t.Fatalf("Verify after the restart: %v", err)
	}

	// A second crash soon after: the backoff doubles, and a repeatable call
	// waits for the restart instead of failing.
	killedAt = time.Now()
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	creds, err := p.ListCredentials(ctx, "u1")
	if err != nil || len(creds) != 1 {
		t.Fatalf("ListCredentials across a crash = %v, %v; want it retried after the restart", creds, err)
	}
	if took := time.Since(killedAt); took < 2*spec.MinBackoff {
		t.Errorf("second restart after %v, want the doubled backoff %v", took, 2*spec.MinBackoff)
	}
	if p.Restarts() != 2 || hook.Load() != 2 {
		t.Fatalf("restarts %d, hook %d; want 2", p.Restarts(), hook.Load())
	}

	// A plugin that exits by itself in the middle of a call is a crash too.
	_, err = p.Verify(ctx, sdk.VerifyRequest{UserID: "u1", Response: map[string]string{"mode": "exit"}})
	if !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("Verify of an exiting plugin: %v", err)
	}
	waitFor(t, "the third restart", 10*time.Second, func() bool { return p.Healthy() && p.Restarts() == 3 })
	if _, err := p.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	// Three processes ended, two of them by SIGKILL: only the running
	// one's socket is left, and none once it is closed.
	waitFor(t, "the ended plugins' sockets to go", 5*time.Second, func() bool { return len(socketDirs(t, tmp)) == 1 })
	if err := p.Close(); err != nil || p.Healthy() {
		t.Fatalf("Close: %v, healthy %v", err, p.Healthy())
	}
	if _, err := p.Describe(ctx); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("Describe after Close: %v", err)
	}
	waitFor(t, "the last plugin's socket to go", 5*time.Second, func() bool { return len(socketDirs(t, tmp)) == 0 })
	left, _ := os.ReadDir(tmp)
	for _, f := range left {
		t.Errorf("left in the temporary directory: %s", f.Name())
	}
}

// socketDirs are the plugin socket directories in dir.
func socketDirs(t *testing.T, dir string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(dir, "stepup-plugin-*"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func TestChecksum(t *testing.T) {
	e := newEnv()
	spec := e.spec(t, "probe", "probe")
	spec.SHA256 = hosttest.FileSHA256(t, spec.Path)
	launch(t, spec) // the right checksum starts

	spec.SHA256 = strings.Repeat("ab", 32)
	_, err := host.Launch(context.Background(), spec)
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "method probe") || !strings.Contains(err.Error(), spec.Path) ||
		!strings.Contains(err.Error(), "checksum mismatch") || !errors.Is(err, host.ErrChecksumMismatch) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("wrong checksum: %v", err)
	}
	spec.SHA256 = "not-hex"
	if _, err := host.Launch(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Fatalf("malformed checksum: %v", err)
	}
}

// TestSwappedFileRefusedAtRestart: a pinned plugin whose file is replaced
// while it runs is not restarted from that file after a crash: each
// attempt is refused with the checksum, told once to OnRefused, and the
// method stays down; once the file is the pinned one again, it restarts.
func TestSwappedFileRefusedAtRestart(t *testing.T) {
	e := newEnv()
	spec := e.spec(t, "probe", "probe")
	dir := t.TempDir()
	pinned := filepath.Join(dir, "pinned")
	copyExecutable(t, spec.Path, pinned)
	spec.Path, spec.SHA256 = filepath.Join(dir, "probe"), hosttest.FileSHA256(t, pinned)
	copyExecutable(t, pinned, spec.Path)
	spec.MinBackoff, spec.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond
	logs := &logBuffer{}
	spec.Logger = slog.New(slog.NewTextHandler(logs, nil))
	var refusals atomic.Int32
	var refusal atomic.Value
	spec.OnRefused = func(name string, err error) {
		refusals.Add(1)
		refusal.Store(name + ": " + err.Error())
	}
	p := launch(t, spec)

	marker := filepath.Join(dir, "ran")
	swapped := filepath.Join(dir, "swapped")
	script := "#!/bin/sh\necho ran > " + marker + "\nexec " + pinned + " \"$@\"\n"
	if err := os.WriteFile(swapped, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(swapped, spec.Path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a refused restart", 10*time.Second, func() bool { return refusals.Load() > 0 })
	waitFor(t, "more attempts", 10*time.Second, func() bool { return strings.Count(logs.String(), "restart failed") >= 3 })
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the swapped file ran")
	}
	msg, _ := refusal.Load().(string)
	if !strings.Contains(msg, "probe: method probe: plugin file "+spec.Path+": checksum mismatch: file has sha256 ") ||
		!strings.Contains(msg, ", expected "+spec.SHA256) || strings.Contains(msg, "\n") {
		t.Fatalf("refusal %q should be one line naming the method, the file and both checksums", msg)
	}
	if p.Healthy() || refusals.Load() != 1 {
		t.Fatalf("healthy %v, %d refusals: want down, told once", p.Healthy(), refusals.Load())
	}
	if _, err := p.Begin(context.Background(), sdk.BeginRequest{User: sdk.User{ID: "u1"}}); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("Begin while refused: %v, want ErrUnavailable", err)
	}

	copyExecutable(t, pinned, swapped)
	if err := os.Rename(swapped, spec.Path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restart from the pinned file", 10*time.Second, p.Healthy)
	if _, err := os.Stat(marker); err == nil || p.Restarts() != 1 {
		t.Fatalf("marker: %v, restarts %d", err, p.Restarts())
	}
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects a plugin's log for a test to read while it runs.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLaunchFailuresNameMethodAndFile(t *testing.T) {
	e := newEnv()
	missing := e.spec(t, "probe", "probe")
	missing.Path = t.TempDir() + "/no-such-plugin"
	v2 := e.spec(t, "future", "v2")
	notPlugin := e.spec(t, "bogus", "probe")
	notPlugin.Path = "/bin/true"
	for _, c := range []struct {
		name string
		spec host.Spec
		want string
	}{
		{"missing file", missing, "no such file"},
		{"protocol version 2 only", v2, "Plugin version: 2"},
		{"not a plugin", notPlugin, "plugin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := host.Launch(context.Background(), c.spec)
			if err == nil {
				t.Fatal("launched")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if !strings.Contains(msg, "method "+c.spec.Name) || !strings.Contains(msg, c.spec.Path) || !strings.Contains(msg, c.want) {
				t.Fatalf("error %q should name method %s, file %s and say %q", msg, c.spec.Name, c.spec.Path, c.want)
			}
			if strings.Count(msg, "\n") > 0 {
				t.Errorf("error is not one line: %q", msg)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v to fail", d)
			}
		})
	}
	bad := e.spec(t, "Bad Name", "probe")
	if _, err := host.Launch(context.Background(), bad); err == nil {
		t.Fatal("launched a method with a bad name")
	}
	short := e.spec(t, "probe", "probe")
	short.Key = short.Key[:16]
	if _, err := host.Launch(context.Background(), short); err == nil || !strings.Contains(err.Error(), "32") {
		t.Fatalf("short key: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	e := newEnv()
	r := host.NewRegistry()
	t.Cleanup(func() { _ = r.Close() })
	ctx := context.Background()
	if err := r.Launch(ctx, e.spec(t, "alpha", "probe"), e.spec(t, "beta", "probe")); err != nil {
		t.Fatal(err)
	}
	if got := r.Names(); !slices.Equal(got, []string{"alpha", "beta"}) {
		t.Fatalf("names %v", got)
	}
	if d := r.Descriptions(); d["alpha"].Name != "alpha" || d["beta"].Priority != 7 {
		t.Fatalf("descriptions %+v", d)
	}
	if h := r.Health(); !h["alpha"] || !h["beta"] {
		t.Fatalf("health %v", h)
	}
	if err := r.Launch(ctx, e.spec(t, "alpha", "probe")); err == nil {
		t.Fatal("launched alpha twice")
	}
	missing := e.spec(t, "gamma", "probe")
	missing.Path = "/nonexistent/plugin"
	if err := r.Launch(ctx, e.spec(t, "delta", "probe"), missing); err == nil || !strings.Contains(err.Error(), "method gamma") {
		t.Fatalf("failing launch: %v", err)
	}
	if _, ok := r.Method("delta"); ok {
		t.Fatal("delta stayed although its batch failed")
	}
	p, ok := r.Method("beta")
	if !ok {
		t.Fatal("no beta")
	}
	// Each method has its own namespace: the same key, two values.
	for _, n := range []string{"alpha", "beta"} {
		q, _ := r.Method(n)
		if _, err := admin(t, q, "put", "key", "k", "value", n, "expect", "0", "ttl", "0s"); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := admin(t, p, "get", "key", "k"); err != nil || v["value"] != "beta" {
		t.Fatalf("beta's k = %v, %v", v, err)
	}
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "beta to be reported down", 5*time.Second, func() bool { return !r.Health()["beta"] || r.Restarts()["beta"] == 1 })
	waitFor(t, "beta to be back", 10*time.Second, func() bool { return r.Health()["beta"] })
	if r.Restarts()["beta"] != 1 || r.Restarts()["alpha"] != 0 {
		t.Fatalf("restarts %v", r.Restarts())
	}
	_ = r.Close()
	if len(r.Names()) != 0 || p.Healthy() {
		t.Fatal("Close left plugins")
	}
}

// TestUserRecordsTravelWithTheCall: the records a plugin declares reach it
// with each call as they are at that moment, absent ones as not found,
// with versions that compare-and-swap accepts, and a call reads its own
// writes.
func TestUserRecordsTravelWithTheCall(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	if got := p.Description().UserRecords; !slices.Equal(got, []string{"rec/{user}"}) {
		t.Fatalf("UserRecords = %q", got)
	}
	ctx := context.Background()
	st := e.local(t, "probe").Storage()
	verify := func(mode string) (string, error) {
		t.Helper()
		r, err := p.Verify(ctx, sdk.VerifyRequest{UserID: "u1", ChallengeID: "c", Response: map[string]string{"mode": mode}})
		return r.CredentialID, err
	}
	if _, err := verify("record"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("absent record: %v, want ErrNotFound", err)
	}
	v1, err := st.Put(ctx, "rec/u1", []byte("first"), sdk.MustNotExist, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := verify("record"); err != nil || got != fmt.Sprintf("first@%d", v1) {
		t.Fatalf("record = %q, %v", got, err)
	}
	v2, err := st.Put(ctx, "rec/u1", []byte("second"), v1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := verify("record"); err != nil || got != fmt.Sprintf("second@%d", v2) {
		t.Fatalf("record after a change = %q, %v (want the value at the call)", got, err)
	}
	got, err := verify("record-write")
	if err != nil || got != fmt.Sprintf("written@%d", v2+1) {
		t.Fatalf("read after own write = %q, %v", got, err)
	}
	if value, version, err := st.Get(ctx, "rec/u1"); err != nil || string(value) != "written" || version != v2+1 {
		t.Fatalf("stored after the call: %q@%d, %v", value, version, err)
	}
}

// oneKeyAtATime is a Backend that is no BatchReader: it hides Memory's
// KVGetMany.
type oneKeyAtATime struct{ host.Backend }

// TestUserRecordsReadAtOnce: a method's records reach it alike whether
// the backend reads them in one call (a BatchReader) or one by one: the
// present with its value and version, the absent as not found, so that
// the method asks for neither. One that does not open is left out; the
// method then asks for it and gets ErrUnavailable, as from Get.
func TestUserRecordsReadAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch bool
	}{{"BatchReader", true}, {"OneKeyAtATime", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv()
			spec, reads := e.spec(t, "pair", "pair"), 1
			if !tc.batch {
				spec.Backend, reads = oneKeyAtATime{e.backend}, 2
			}
			p := launch(t, spec)
			ctx := context.Background()
			v, err := e.local(t, "pair").Storage().Put(ctx, "rec/u1", []byte("here"), sdk.MustNotExist, 0)
			if err != nil {
				t.Fatal(err)
			}
			verify := func() (string, int, error) {
				t.Helper()
				calls := e.backend.Calls()
				r, err := p.Verify(ctx, sdk.VerifyRequest{UserID: "u1", ChallengeID: "c"})
				return r.CredentialID, e.backend.Calls() - calls, err
			}
			got, n, err := verify()
			if err != nil || got != fmt.Sprintf("here@%d,absent", v) {
				t.Fatalf("records = %q, %v; want here@%d,absent", got, err, v)
			}
			if n != reads {
				t.Errorf("the call made %d backend calls, want %d (the records read, no call back)", n, reads)
			}

			if _, err := e.backend.KVPut(ctx, host.Namespace("pair"), "pair/u1", []byte("not sealed"), sdk.MustNotExist, time.Time{}, t0); err != nil {
				t.Fatal(err)
			}
			if _, n, err = verify(); !errors.Is(err, sdk.ErrUnavailable) {
				t.Fatalf("a record that does not open: %v, want ErrUnavailable", err)
			}
			if n != reads+1 {
				t.Errorf("with a record that does not open, the call made %d backend calls, want %d (the method asks for it)", n, reads+1)
			}
		})
	}
}

// A method that leaves its write to the host (sdk.PutOnAccept) gets it
// made as its result is accepted, without a call back, and only then.
// When the record changed meanwhile, nothing is spent and the method is
// asked again with the record as it is then; a method that keeps losing
// fails with ErrInvalidResponse. A second write on acceptance, or one to
// an invalid key, is the plugin's error, not the user's.
func TestPutOnAccept(t *testing.T) {
	e := newEnv()
	p := launch(t, e.spec(t, "probe", "probe"))
	ctx := context.Background()
	st := e.local(t, "probe").Storage()
	if _, err := st.Put(ctx, "rec/u1", []byte("first"), sdk.MustNotExist, 0); err != nil {
		t.Fatal(err)
	}
	verify := func(mode, code string) (sdk.Result, int, error) {
		t.Helper()
		before := verifyCount(t, e)
		r, err := p.Verify(ctx, sdk.VerifyRequest{UserID: "u1", ChallengeID: "c", Response: map[string]string{"mode": mode, "code": code}})
		return r, verifyCount(t, e) - before, err
	}
	record := func() string {
		t.Helper()
		v, _, err := st.Get(ctx, "rec/u1")
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}

	calls := e.backend.Calls()
	r, _, err := verify("on-accept", "second")
	// verify-count read twice, the record sent, the write: no call back.
	if n := e.backend.Calls() - calls; n != 4 {
		t.Errorf("an accepted verification made %d backend calls, want 4", n)
	}
	if err != nil || r.CredentialID != "first" || record() != "second" {
		t.Fatalf("accepted: %+v, %v; record %q, want it written", r, err, record())
	}
	if _, _, err := verify("on-accept-fail", "third"); !errors.Is(err, sdk.ErrInvalidResponse) || record() != "second" {
		t.Fatalf("refused: %v; record %q, want it unwritten", err, record())
	}
	if _, _, err := verify("on-accept-badkey", "third"); err == nil || errors.Is(err, sdk.ErrInvalidInput) ||
		!strings.Contains(err.Error(), "storage key is empty") || record() != "second" {
		t.Fatalf("a write on acceptance to no key: %v; record %q, want a plugin error (not the user's) naming it", err, record())
	}
	if _, _, err := verify("on-accept-twice", "third"); err == nil || !strings.Contains(err.Error(), "twice") || record() != "second" {
		t.Fatalf("two writes on acceptance: %v; record %q, want an error and nothing written", err, record())
	}
	if r, calls, err := verify("on-accept-race", "won"); err != nil || r.CredentialID != "raced" || calls != 2 || record() != "won" {
		t.Fatalf("lost a race once: %+v, %d calls, %v; record %q, want a second call that wins", r, calls, err, record())
	}
	if _, calls, err := verify("on-accept-stale", "never"); !errors.Is(err, sdk.ErrInvalidResponse) || calls != 4 || record() != "raced" {
		t.Fatalf("losing every race: %d calls, %v; record %q", calls, err, record())
	}
}
