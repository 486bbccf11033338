package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Harness is what a method's test supplies.
type Harness interface {
	// Spec says how to start the plugin: Name, Path, Args, Env, Config.
	// RunMethodTests sets Backend, Key and Now.
	Spec() host.Spec
	// EnrolmentResponse returns the response that confirms e for user at
	// env.Clock's time; with valid false, a well-formed response that does
	// not.
	EnrolmentResponse(t testing.TB, env *Env, user sdk.User, e sdk.Enrolment, valid bool) map[string]string
	// ChallengeResponse returns the response that answers ch for user at
	// env.Clock's time; with valid false, a well-formed response that does
	// not. For a valid one it may advance env.Clock a little (a TOTP harness
	// moves to a time step the user has not used yet), never past
	// ch.ExpiresAt unless the clock already is.
	ChallengeResponse(t testing.TB, env *Env, user sdk.User, ch sdk.Challenge, valid bool) map[string]string
}

// Issuer is implemented by a Harness whose method's credentials are issued
// by an administrator instead of enrolled by the user (a temporary code,
// whose Enrol refuses): wherever the kit needs a user with a credential, it
// calls Issue instead of Enrol and ConfirmEnrolment.
type Issuer interface {
	// Issue gives user a live credential through the method's admin
	// actions (env.Plugin.Admin) and returns the secrets the administrator
	// was shown, which must not be readable in the backend.
	Issue(t testing.TB, env *Env, user sdk.User) (shown []string)
}

// EnrolInput is implemented by a Harness whose method declares
// Description.EnrolFields (a phone number): the kit enrols each user with
// the params it returns, as the enrolment page would send them.
type EnrolInput interface {
	EnrolParams(t testing.TB, env *Env, user sdk.User) map[string]string
}

// Declarer is implemented by a Harness whose method departs from what the
// kit assumes by default; see Properties.
type Declarer interface {
	Properties() Properties
}

// Properties are the declared departures from the kit's defaults. The
// zero value is the default: a response is accepted once.
type Properties struct {
	// MultiUse: a valid response stays valid until the credential expires
	// (a temporary code is usable many times). The kit then skips the
	// accepted-once checks (ReplayRefused, ConcurrentVerifyOneWins) and
	// checks the opposite: the same response is accepted again, for the
	// same and for a new challenge, and by every one of concurrent
	// verifications. Everything else is checked as for any method.
	MultiUse bool
}

func propertiesOf(h Harness) Properties {
	if d, ok := h.(Declarer); ok {
		return d.Properties()
	}
	return Properties{}
}

// Env is the running plugin and the host around it.
type Env struct {
	Plugin      *host.Plugin
	Clock       *hosttest.Clock
	Backend     *hosttest.Memory
	Description sdk.Description
}

// Start is where the clock of RunMethodTests starts.
var Start = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

// RunMethodTests runs the suite against the plugin h starts.
func RunMethodTests(t *testing.T, h Harness) {
	env := Launch(t, h)
	d := env.Description
	k := &kit{t: t, h: h, env: env}
	props := propertiesOf(h)
	// check runs a check only where it applies to the method, so that a run
	// lists what was checked and skips nothing.
	check := func(name string, applies bool, fn func(*testing.T)) {
		if applies {
			t.Run(name, fn)
		}
	}

	t.Run("Describe", func(t *testing.T) {
		if d.Name == "" || len(d.Levels) == 0 || len(d.AMR) == 0 {
			t.Fatalf("incomplete description: %+v", d)
		}
		for _, l := range d.Limits {
			if l.Operation == "" || l.Max <= 0 || l.Window <= 0 {
				t.Errorf("malformed limit %+v", l)
			}
		}
		again, err := env.Plugin.Describe(context.Background())
		if err != nil || again.Name != d.Name || !slices.Equal(again.AMR, d.AMR) {
			t.Errorf("Describe again = %+v, %v; want %+v", again, err, d)
		}
		_, problems := sdk.CheckAdminActions(d)
		for _, p := range problems {
			t.Errorf("%v: the host will not offer it", p)
		}
		if err := checkFields(d.EnrolFields); err != nil {
			t.Errorf("enrol fields: %v", err)
		}
	})

	check("NotEnrolled", d.NeedsEnrolment, func(t *testing.T) {
		u := k.user("not-enrolled")
		_, err := env.Plugin.Begin(context.Background(), sdk.BeginRequest{User: u})
		if !errors.Is(err, sdk.ErrNotEnrolled) {
			t.Fatalf("Begin for a user without enrolment: %v, want ErrNotEnrolled", err)
		}
		creds, err := env.Plugin.ListCredentials(context.Background(), u.ID)
		if err != nil || len(creds) != 0 {
			t.Fatalf("ListCredentials = %v, %v; want none", creds, err)
		}
	})

	t.Run("EnrolAndVerify", func(t *testing.T) {
		u := k.enrolled(t, "enrol")
		creds, err := env.Plugin.ListCredentials(context.Background(), u.ID)
		if d.NeedsEnrolment && (err != nil || len(creds) == 0) {
			t.Fatalf("ListCredentials after enrolment = %v, %v", creds, err)
		}
		ch := k.begin(t, u)
		if ch.ID == "" || ch.Prompt == "" || len(ch.Fields) == 0 {
			t.Errorf("incomplete challenge %+v", ch)
		}
		if !ch.ExpiresAt.After(env.Clock.Now()) {
			t.Errorf("challenge expires at %v, not after now %v", ch.ExpiresAt, env.Clock.Now())
		}
		res, err := env.Plugin.Verify(context.Background(), k.verifyReq(u, ch, h.ChallengeResponse(t, env, u, ch, true)))
		if err != nil {
			t.Fatalf("Verify a valid response: %v", err)
		}
		if len(res.AMR) == 0 {
			t.Errorf("Verify returned no amr")
		}
		for _, a := range res.AMR {
			if !slices.Contains(d.AMR, a) {
				t.Errorf("Verify amr %q not among the declared %v", a, d.AMR)
			}
		}
		for _, l := range res.Levels {
			if !slices.Contains(d.Levels, l) {
				t.Errorf("Verify level %q not among the declared %v", l, d.Levels)
			}
		}
		if res.UserID != "" && res.UserID != u.ID {
			t.Errorf("Verify for %s named user %q", u.ID, res.UserID)
		}
	})

	check("ReplayRefused", !props.MultiUse, func(t *testing.T) {
		u := k.enrolled(t, "replay")
		ch := k.begin(t, u)
		resp := h.ChallengeResponse(t, env, u, ch, true)
		if _, err := env.Plugin.Verify(context.Background(), k.verifyReq(u, ch, resp)); err != nil {
			t.Fatalf("first Verify: %v", err)
		}
		_, err := env.Plugin.Verify(context.Background(), k.verifyReq(u, ch, resp))
		wantInvalid(t, "the same response to the same challenge again", err)
		ch2 := k.begin(t, u)
		_, err = env.Plugin.Verify(context.Background(), k.verifyReq(u, ch2, resp))
		wantInvalid(t, "the used response to a new challenge", err)
	})

	check("ReplayAccepted", props.MultiUse, func(t *testing.T) {
		u := k.enrolled(t, "multi-use")
		ch := k.begin(t, u)
		resp := h.ChallengeResponse(t, env, u, ch, true)
		for i := range 2 {
			if _, err := env.Plugin.Verify(context.Background(), k.verifyReq(u, ch, resp)); err != nil {
				t.Fatalf("Verify %d of a multi-use response to one challenge: %v", i+1, err)
			}
		}
		ch2 := k.begin(t, u)
		if _, err := env.Plugin.Verify(context.Background(), k.verifyReq(u, ch2, resp)); err != nil {
			t.Fatalf("a multi-use response to a new challenge: %v", err)
		}
	})

	// raceVerify answers one challenge of a new user with the right
	// response from as many goroutines as the verify limit allows (at most 8).
	raceVerify := func(t *testing.T, user string) []error {
		u := k.enrolled(t, user)
		ch := k.begin(t, u)
		resp := h.ChallengeResponse(t, env, u, ch, true)
		n := 8
		if l, ok := limitOf(d, sdk.OpVerify); ok && l.Max < n {
			n = l.Max
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { _, errs[i] = env.Plugin.Verify(context.Background(), k.verifyReq(u, ch, resp)) })
		}
		wg.Wait()
		return errs
	}

	check("ConcurrentVerifyAllSucceed", props.MultiUse, func(t *testing.T) {
		errs := raceVerify(t, "multi-race")
		for i, err := range errs {
			if err != nil {
				t.Errorf("concurrent Verify %d of a multi-use response: %v", i+1, err)
			}
		}
	})

	check("ConcurrentVerifyOneWins", !props.MultiUse, func(t *testing.T) {
		errs := raceVerify(t, "race")
		if won := tally(t, "a Verify of one response", errs, nil, sdk.ErrInvalidResponse); won != 1 {
			t.Fatalf("%d of %d concurrent Verify calls of one response succeeded, want exactly 1", won, len(errs))
		}
	})

	t.Run("ExpiredChallengeRefused", func(t *testing.T) {
		u := k.enrolled(t, "expiry")
		ch := k.begin(t, u)
		if ch.ExpiresAt.IsZero() {
			t.Fatal("challenge has no expiry")
		}
		env.Clock.Set(ch.ExpiresAt.Add(time.Second))
		_, err := env.Plugin.Verify(context.Background(), k.verifyReq(u, ch, h.ChallengeResponse(t, env, u, ch, true)))
		wantInvalid(t, "a valid response to an expired challenge", err)
	})

	t.Run("FailuresLookAlike", func(t *testing.T) {
		u := k.enrolled(t, "alike")
		other := k.enrolled(t, "alike-other")
		ch := k.begin(t, u)
		valid := h.ChallengeResponse(t, env, u, ch, true)
		cases := []struct {
			name string
			req  sdk.VerifyRequest
		}{
			{"wrong response", k.verifyReq(u, ch, h.ChallengeResponse(t, env, u, ch, false))},
			{"unknown user", sdk.VerifyRequest{UserID: "nobody-" + k.nonce(), ChallengeID: ch.ID, Response: valid}},
			{"another user's challenge", sdk.VerifyRequest{UserID: other.ID, ChallengeID: ch.ID, Response: valid}},
			{"unknown challenge", sdk.VerifyRequest{UserID: u.ID, ChallengeID: "no-such-challenge-" + k.nonce(), Response: valid}},
			{"empty response", k.verifyReq(u, ch, map[string]string{})},
		}
		var first error
		for _, c := range cases {
			_, err := env.Plugin.Verify(context.Background(), c.req)
			wantInvalid(t, c.name, err)
			if first == nil {
				first = err
			} else if err != nil && err.Error() != first.Error() {
				t.Errorf("%s: error %q differs from a wrong response's %q", c.name, err, first)
			}
		}
		if _, err := env.Plugin.Verify(context.Background(), k.verifyReq(u, ch, valid)); err != nil {
			t.Errorf("the valid response after the failures: %v", err)
		}
	})

	check("Limits", len(d.Limits) > 0, func(t *testing.T) {
		for _, l := range d.Limits {
			// Limits on other operations have no generic check here; the
			// method's own tests cover them.
			switch l.Operation {
			case sdk.OpVerify:
				t.Run(l.Operation, func(t *testing.T) { k.verifyLimit(t, l) })
				if l.Max <= maxConcurrentLimit {
					t.Run(l.Operation+"/concurrent", func(t *testing.T) { k.concurrentVerifyLimit(t, l) })
				}
				if l.FailuresOnly {
					t.Run(l.Operation+"/failures-only", func(t *testing.T) { k.failuresOnlyLimit(t, l) })
				}
			case sdk.OpConfirm:
				t.Run(l.Operation, func(t *testing.T) { k.confirmLimit(t, l) })
			case sdk.OpBegin:
				t.Run(l.Operation, func(t *testing.T) { k.beginLimit(t, l) })
				if l.Max <= maxConcurrentLimit {
					t.Run(l.Operation+"/concurrent", func(t *testing.T) { k.concurrentBeginLimit(t, l) })
				}
			}
		}
	})

	check("RemoveCredential", d.NeedsEnrolment, func(t *testing.T) {
		u := k.enrolled(t, "remove")
		ctx := context.Background()
		creds, err := env.Plugin.ListCredentials(ctx, u.ID)
		if err != nil || len(creds) == 0 {
			t.Fatalf("ListCredentials = %v, %v", creds, err)
		}
		if err := env.Plugin.Remove(ctx, u.ID, "no-such-credential"); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Remove an unknown credential: %v, want ErrNotFound", err)
		}
		for _, c := range creds {
			if err := env.Plugin.Remove(ctx, u.ID, c.ID); err != nil {
				t.Fatalf("Remove(%s): %v", c.ID, err)
			}
		}
		if creds, err := env.Plugin.ListCredentials(ctx, u.ID); err != nil || len(creds) != 0 {
			t.Errorf("ListCredentials after Remove = %v, %v", creds, err)
		}
		if _, err := env.Plugin.Begin(ctx, sdk.BeginRequest{User: u}); !errors.Is(err, sdk.ErrNotEnrolled) {
			t.Errorf("Begin after Remove: %v, want ErrNotEnrolled", err)
		}
		if err := env.Plugin.Remove(ctx, u.ID, creds[0].ID); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Remove twice: %v, want ErrNotFound", err)
		}
	})

	check("Rename", d.Renamable, func(t *testing.T) {
		u := k.enrolled(t, "rename")
		ctx := context.Background()
		creds, err := env.Plugin.ListCredentials(ctx, u.ID)
		if err != nil || len(creds) == 0 {
			t.Fatalf("ListCredentials = %v, %v", creds, err)
		}
		if err := env.Plugin.Rename(ctx, u.ID, creds[0].ID, "Renamed by the kit"); err != nil {
			t.Fatalf("Rename: %v", err)
		}
		if again, err := env.Plugin.ListCredentials(ctx, u.ID); err != nil || again[0].Label != "Renamed by the kit" {
			t.Errorf("after Rename: %+v, %v", again, err)
		}
		if err := env.Plugin.Rename(ctx, u.ID, "no-such-credential", "x"); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Rename of an unknown credential: %v; want ErrNotFound", err)
		}
		other := k.user("rename-other")
		if err := env.Plugin.Rename(ctx, other.ID, creds[0].ID, "x"); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Rename of another user's credential: %v; want ErrNotFound", err)
		}
	})

	t.Run("UnknownAdminAction", func(t *testing.T) {
		_, err := env.Plugin.Admin(context.Background(), sdk.AdminRequest{Action: "no-such-action", User: k.user("admin")})
		if !errors.Is(err, sdk.ErrInvalidInput) || sdk.UserMessage(err) == "" {
			t.Fatalf("Admin with an unknown action: %v, want ErrInvalidInput with a message", err)
		}
	})

	t.Run("NothingDisplayedIsStored", func(t *testing.T) {
		for _, secret := range k.displayed() {
			for _, nk := range env.Backend.Keys() {
				ns, key, _ := strings.Cut(nk, "\x00")
				raw, _ := env.Backend.Raw(ns, key)
				if strings.Contains(key, secret) || bytes.Contains(raw, []byte(secret)) {
					t.Errorf("%q, shown at enrolment, is readable in the backend under %s/%s", secret, ns, key)
				}
			}
		}
		for _, nk := range env.Backend.Keys() {
			if ns, _, _ := strings.Cut(nk, "\x00"); ns != host.Namespace(env.Plugin.Name()) {
				t.Errorf("data outside the method's namespace: %q", nk)
			}
		}
	})
}

// Launch starts the plugin of h on a fresh in-memory backend and clock
// (at Start) and closes it when t ends.
func Launch(t testing.TB, h Harness) *Env {
	t.Helper()
	clock := hosttest.NewClock(Start)
	backend := hosttest.NewMemory()
	spec := h.Spec()
	spec.Backend = backend
	spec.Key = make([]byte, host.KeySize)
	if _, err := rand.Read(spec.Key); err != nil {
		t.Fatal(err)
	}
	spec.Now = clock.Now
	p, err := host.Launch(context.Background(), spec)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &Env{Plugin: p, Clock: clock, Backend: backend, Description: p.Description()}
}

type kit struct {
	t   *testing.T
	h   Harness
	env *Env

	mu    sync.Mutex
	n     int
	shown []string
}

func (k *kit) nonce() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	return fmt.Sprint(k.n)
}

func (k *kit) user(name string) sdk.User {
	id := "conf-" + name + "-" + k.nonce()
	return sdk.User{ID: id, Username: name, Email: name + "@example.test", Phone: "+15550100"}
}

func (k *kit) displayed() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.shown)
}

// enrolled returns a new user with a confirmed credential (when the
// method needs one), enrolled or, from an Issuer, issued.
func (k *kit) enrolled(t *testing.T, name string) sdk.User {
	t.Helper()
	u := k.user(name)
	if !k.env.Description.NeedsEnrolment {
		return u
	}
	if is, ok := k.h.(Issuer); ok {
		shown := is.Issue(t, k.env, u)
		k.mu.Lock()
		k.shown = append(k.shown, shown...)
		k.mu.Unlock()
		return u
	}
	ctx := context.Background()
	e, err := k.enrol(t, u)
	if err != nil {
		t.Fatalf("Enrol: %v", err)
	}
	c, err := k.env.Plugin.ConfirmEnrolment(ctx, sdk.ConfirmRequest{
		User: u, EnrolmentID: e.ID, Response: k.h.EnrolmentResponse(t, k.env, u, e, true),
	})
	if err != nil {
		t.Fatalf("ConfirmEnrolment: %v", err)
	}
	if c.ID == "" {
		t.Fatalf("ConfirmEnrolment returned a credential without ID: %+v", c)
	}
	return u
}

// enrol starts an enrolment for u with the params the harness gives
// (EnrolInput), checks that a page can show it, and remembers what it
// displays.
func (k *kit) enrol(t *testing.T, u sdk.User) (sdk.Enrolment, error) {
	t.Helper()
	var params map[string]string
	if in, ok := k.h.(EnrolInput); ok {
		params = in.EnrolParams(t, k.env, u)
	}
	e, err := k.env.Plugin.Enrol(context.Background(), sdk.EnrolRequest{User: u, Params: params})
	if err != nil {
		return e, err
	}
	if err := checkFields(e.Fields); err != nil {
		t.Errorf("enrolment fields: %v", err)
	}
	if err := checkDisplays(e.Displays); err != nil {
		t.Errorf("enrolment displays: %v", err)
	}
	k.remember(e)
	return e, nil
}

func (k *kit) remember(e sdk.Enrolment) {
	k.mu.Lock()
	defer k.mu.Unlock()
	shown := slices.Collect(maps.Values(e.Display))
	for _, d := range e.Displays {
		shown = append(append(shown, d.Value), d.Values...)
	}
	for _, v := range shown {
		if len(v) >= 8 {
			k.shown = append(k.shown, v)
		}
	}
}

// checkFields says what makes fields unusable on a page: a field without
// a name, or two with one name.
func checkFields(fs []sdk.Field) error {
	seen := map[string]bool{}
	for _, f := range fs {
		if f.Name == "" || seen[f.Name] {
			return fmt.Errorf("field %+v: give every field a unique name", f)
		}
		seen[f.Name] = true
	}
	return nil
}

// checkDisplays says which display a page could not show.
func checkDisplays(ds []sdk.Display) error {
	for _, d := range ds {
		var ok bool
		switch d.Kind {
		case sdk.DisplayText, sdk.DisplaySecret:
			ok = d.Value != ""
		case sdk.DisplayImage:
			_, err := png.DecodeConfig(bytes.NewReader(d.PNG))
			ok = err == nil && d.Label != ""
		case sdk.DisplayLink:
			ok = d.Label != "" && (strings.HasPrefix(d.Value, "https://") || strings.HasPrefix(d.Value, "otpauth://"))
		case sdk.DisplayCodes:
			ok = len(d.Values) > 0
		case sdk.DisplayWebAuthnCreation:
			var options struct {
				PublicKey map[string]any `json:"publicKey"`
			}
			ok = json.Unmarshal([]byte(d.Value), &options) == nil && options.PublicKey["challenge"] != nil
		}
		if !ok {
			return fmt.Errorf("display %q (%q) cannot be shown: see sdk.Display for what each kind needs", d.Kind, d.Label)
		}
	}
	return nil
}

func (k *kit) begin(t *testing.T, u sdk.User) sdk.Challenge {
	t.Helper()
	ch, err := k.env.Plugin.Begin(context.Background(), sdk.BeginRequest{User: u})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return ch
}

func (k *kit) verifyReq(u sdk.User, ch sdk.Challenge, resp map[string]string) sdk.VerifyRequest {
	return sdk.VerifyRequest{UserID: u.ID, ChallengeID: ch.ID, Response: resp}
}

func (k *kit) verifyLimit(t *testing.T, l sdk.Limit) {
	u := k.enrolled(t, "limit-verify")
	ch := k.begin(t, u)
	ctx := context.Background()
	for i := range l.Max {
		_, err := k.env.Plugin.Verify(ctx, k.verifyReq(u, ch, k.h.ChallengeResponse(t, k.env, u, ch, false)))
		if !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("wrong response %d of %d: %v, want ErrInvalidResponse", i+1, l.Max, err)
		}
	}
	_, err := k.env.Plugin.Verify(ctx, k.verifyReq(u, ch, k.h.ChallengeResponse(t, k.env, u, ch, true)))
	k.wantLimited(t, "a valid response past the limit", err, l)
	retry, _ := sdk.RetryAfter(err)
	k.env.Clock.Set(retry.Add(time.Second))
	ch = k.begin(t, u)
	if _, err := k.env.Plugin.Verify(ctx, k.verifyReq(u, ch, k.h.ChallengeResponse(t, k.env, u, ch, true))); err != nil {
		t.Fatalf("a valid response after the limit lifted: %v", err)
	}
}

// maxConcurrentLimit bounds the verify limits whose concurrent check runs
// twice as many verifications at once.
const maxConcurrentLimit = 32

// concurrentVerifyLimit sends twice the limit's wrong responses at once:
// at most Max may be judged, the others must be refused by the limit.
func (k *kit) concurrentVerifyLimit(t *testing.T, l sdk.Limit) {
	u := k.enrolled(t, "limit-concurrent")
	ch := k.begin(t, u)
	n := 2 * l.Max
	reqs := make([]sdk.VerifyRequest, n)
	for i := range reqs {
		reqs[i] = k.verifyReq(u, ch, k.h.ChallengeResponse(t, k.env, u, ch, false))
	}
	errs := atOnce(n, func(i int) error { _, err := k.env.Plugin.Verify(context.Background(), reqs[i]); return err })
	if wrong := tally(t, "a concurrent wrong response", errs, sdk.ErrInvalidResponse, sdk.ErrRateLimited); wrong == 0 || wrong > l.Max {
		t.Fatalf("%d of %d concurrent wrong responses were judged wrong, want 1 to %d (the limit), the others rate limited", wrong, n, l.Max)
	}
}

// failuresOnlyLimit checks a verify limit that counts failed verifications
// only: with one failure left, successes do not use it up, and the failure
// after it does.
func (k *kit) failuresOnlyLimit(t *testing.T, l sdk.Limit) {
	u := k.enrolled(t, "limit-failures")
	ctx := context.Background()
	start := k.env.Clock.Now()
	ch := k.begin(t, u)
	for i := range l.Max - 1 {
		_, err := k.env.Plugin.Verify(ctx, k.verifyReq(u, ch, k.h.ChallengeResponse(t, k.env, u, ch, false)))
		if !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("wrong response %d of %d: %v, want ErrInvalidResponse", i+1, l.Max-1, err)
		}
	}
	for i := range 2 {
		ch = k.begin(t, u)
		if _, err := k.env.Plugin.Verify(ctx, k.verifyReq(u, ch, k.h.ChallengeResponse(t, k.env, u, ch, true))); err != nil {
			t.Fatalf("valid response %d after %d failures (limit %d, failures only): %v", i+1, l.Max-1, l.Max, err)
		}
	}
	_, err := k.env.Plugin.Verify(ctx, k.verifyReq(u, ch, k.h.ChallengeResponse(t, k.env, u, ch, false)))
	if !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Fatalf("failure %d of %d, after the successes: %v, want ErrInvalidResponse", l.Max, l.Max, err)
	}
	ch = k.begin(t, u)
	_, err = k.env.Plugin.Verify(ctx, k.verifyReq(u, ch, k.h.ChallengeResponse(t, k.env, u, ch, true)))
	if moved := k.env.Clock.Now().Sub(start); moved >= l.Window {
		t.Fatalf("the harness moved the clock %v, not less than the limit's window %v: nothing was checked", moved, l.Window)
	}
	k.wantLimited(t, "a valid response after the limit's failures", err, l)
}

// beginLimit: at most Max challenges begin within the window (an
// enrolment may have used some: a message it sent counts alike), the
// next is refused until room frees up, and then one begins again.
func (k *kit) beginLimit(t *testing.T, l sdk.Limit) {
	u := k.enrolled(t, "limit-begin")
	ctx := context.Background()
	var err error
	begun := 0
	for ; begun <= l.Max; begun++ {
		if _, err = k.env.Plugin.Begin(ctx, sdk.BeginRequest{User: u}); err != nil {
			break
		}
	}
	if begun == 0 || begun > l.Max {
		t.Fatalf("%d challenges began before a refusal (%v), want 1 to %d", begun, err, l.Max)
	}
	k.wantLimited(t, "a challenge past the limit", err, l)
	retry, _ := sdk.RetryAfter(err)
	k.env.Clock.Set(retry.Add(time.Second))
	k.begin(t, u)
}

// concurrentBeginLimit begins twice the limit's challenges at once: at
// most Max may begin, the others must be refused by the limit.
func (k *kit) concurrentBeginLimit(t *testing.T, l sdk.Limit) {
	u := k.enrolled(t, "limit-begin-concurrent")
	n := 2 * l.Max
	errs := atOnce(n, func(int) error {
		_, err := k.env.Plugin.Begin(context.Background(), sdk.BeginRequest{User: u})
		return err
	})
	if begun := tally(t, "a concurrent challenge", errs, nil, sdk.ErrRateLimited); begun == 0 || begun > l.Max {
		t.Fatalf("%d of %d concurrent challenges began, want 1 to %d", begun, n, l.Max)
	}
}

func (k *kit) confirmLimit(t *testing.T, l sdk.Limit) {
	u := k.user("limit-confirm")
	ctx := context.Background()
	e, err := k.enrol(t, u)
	if err != nil {
		t.Fatalf("Enrol: %v", err)
	}
	confirm := func(valid bool) error {
		_, err := k.env.Plugin.ConfirmEnrolment(ctx, sdk.ConfirmRequest{
			User: u, EnrolmentID: e.ID, Response: k.h.EnrolmentResponse(t, k.env, u, e, valid),
		})
		return err
	}
	for i := range l.Max {
		if err := confirm(false); !errors.Is(err, sdk.ErrInvalidResponse) {
			t.Fatalf("wrong confirmation %d of %d: %v, want ErrInvalidResponse", i+1, l.Max, err)
		}
	}
	err = confirm(true)
	k.wantLimited(t, "a valid confirmation past the limit", err, l)
	retry, _ := sdk.RetryAfter(err)
	k.env.Clock.Set(retry.Add(time.Second))
	e, err = k.enrol(t, u)
	if err != nil {
		t.Fatalf("Enrol after the limit lifted: %v", err)
	}
	if err := confirm(true); err != nil {
		t.Fatalf("a valid confirmation after the limit lifted: %v", err)
	}
}

func (k *kit) wantLimited(t *testing.T, what string, err error, l sdk.Limit) {
	t.Helper()
	if !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatalf("%s: %v, want ErrRateLimited", what, err)
	}
	retry, ok := sdk.RetryAfter(err)
	now := k.env.Clock.Now()
	if !ok || !retry.After(now) || retry.After(now.Add(l.Window)) {
		t.Fatalf("%s: retry after %v (set %v), want within (%v, %v]", what, retry, ok, now, now.Add(l.Window))
	}
}

func limitOf(d sdk.Description, op string) (sdk.Limit, bool) {
	for _, l := range d.Limits {
		if l.Operation == op {
			return l, true
		}
	}
	return sdk.Limit{}, false
}

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, sdk.ErrInvalidResponse) {
		t.Errorf("%s: %v, want ErrInvalidResponse", what, err)
	}
}

// atOnce makes the n calls call(i) at once and returns their errors.
func atOnce(n int, call func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = call(i) })
	}
	wg.Wait()
	return errs
}

// tally counts the errs that are want (nil: a success), and reports as
// what each one that is neither want nor other.
func tally(t *testing.T, what string, errs []error, want, other error) int {
	t.Helper()
	is := func(err, target error) bool { return err == target || target != nil && errors.Is(err, target) }
	n := 0
	for i, err := range errs {
		switch {
		case is(err, want):
			n++
		case !is(err, other):
			t.Errorf("%s (%d of %d): %v, want %v or %v", what, i+1, len(errs), err, want, other)
		}
	}
	return n
}
