package provider_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// Stepping up more often than TOTP's verify limit (10 in 5 minutes) is
// never refused: the limit counts failed verifications only.
func TestTOTPStepUpsDoNotUseUpVerifyLimit(t *testing.T) {
	onEachStore(t, testTOTPStepUpsDoNotUseUpVerifyLimit)
}

// onEachStore runs test on SQLite and on PostgreSQL.
func onEachStore(t *testing.T, test func(*testing.T, ...testenv.Option)) {
	t.Run("sqlite", func(t *testing.T) { test(t) })
	t.Run("postgres", func(t *testing.T) { test(t, testenv.WithPostgres()) })
}

func testTOTPStepUpsDoNotUseUpVerifyLimit(t *testing.T, opts ...testenv.Option) {
	env, b, rp, secret := totpEnv(t, opts...)
	base := env.Clock.Now()
	const stepUps = 11
	for i := range stepUps {
		// Each step-up spends a time step of its own: the next one's code
		// (one step ahead is accepted), then the clock moves a step.
		if i >= 2 {
			env.Clock.Advance(30 * time.Second)
		}
		ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}, "prompt": {"login"}})
		p := b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)
		got := stepUp(t, b, p, testenv.TOTPCode(t, secret, base.Add(time.Duration(i)*30*time.Second)))
		cb, ok := testenv.CallbackOf(t, got)
		if !ok {
			t.Fatalf("step-up %d of %d, %v after the first: %d %s", i+1, stepUps, env.Clock.Now().Sub(base), got.Status, got.Text())
		}
		tok, err := rp.Exchange(cb.Code(t), ar)
		if err != nil || tok.Claims.ACR != "aal2" {
			t.Fatalf("step-up %d: %v %+v", i+1, err, tok)
		}
	}
	if moved := env.Clock.Now().Sub(base); moved >= 5*time.Minute {
		t.Fatalf("the step-ups took %v, not within the limit's window", moved)
	}
	if n := len(listEvents(t, env, "verification.succeeded")); n != stepUps {
		t.Fatalf("%d successes audited, want %d", n, stepUps)
	}
	if n := len(listEvents(t, env, "verification.failed")) + len(listEvents(t, env, "verification.rate_limited")); n != 0 {
		t.Fatalf("%d failures or refusals audited, want none", n)
	}
}

// noLockout raises the lockout above the verify limit, so that the limit
// is what stops wrong codes.
func noLockout(c *config.Config) { c.Lockout.MaxFailures = 100 }

// Wrong codes still use up the limit; the attempt it refuses (here with
// the right code) is audited as rate limited, not as a failure, and the
// page says when to try again.
func TestTOTPWrongCodesRateLimited(t *testing.T) { onEachStore(t, testTOTPWrongCodesRateLimited) }

func testTOTPWrongCodesRateLimited(t *testing.T, opts ...testenv.Option) {
	env, b, rp, secret := totpEnv(t, append(opts, testenv.WithConfig(noLockout))...)
	first := env.Clock.Now()
	p := b.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}}).URL)
	for i := range 10 {
		if got := stepUp(t, b, p, "000000"); got.Status != http.StatusUnauthorized || !strings.Contains(got.Text(), "not correct") {
			t.Fatalf("wrong code %d: %d %s", i+1, got.Status, got.Text())
		}
	}
	got := stepUp(t, b, p, testenv.TOTPCode(t, secret, env.Clock.Now()))
	limited := listEvents(t, env, "verification.rate_limited")
	if len(limited) != 1 || limited[0].Details["method"] != "totp" || limited[0].Outcome != "denied" {
		t.Fatalf("rate-limited attempt audited as %+v", limited)
	}
	// The first failure leaves the window 5 minutes after it.
	until, err := time.Parse(time.RFC3339, limited[0].Details["until"])
	if err != nil || until.Before(first.Add(5*time.Minute).Truncate(time.Second)) || until.After(env.Clock.Now().Add(5*time.Minute)) {
		t.Fatalf("limited until %q (%v), want 5 minutes after the first failure, %v", limited[0].Details["until"], err, first)
	}
	want := "Too many attempts. Try again after " + until.UTC().Format("15:04") + " UTC."
	if got.Status != http.StatusTooManyRequests || !strings.Contains(got.Text(), want) {
		t.Fatalf("the right code after 10 wrong ones: %d %s; want 429 and %q", got.Status, got.Text(), want)
	}
	if n := len(listEvents(t, env, "verification.failed")); n != 10 {
		t.Fatalf("%d failures audited, want the 10 wrong codes", n)
	}

	env.Clock.Advance(5*time.Minute + time.Second)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	cb := testenv.MustCallback(t, stepUp(t, b, b.Get(ar.URL), testenv.TOTPCode(t, secret, env.Clock.Now())))
	if tok, err := rp.Exchange(cb.Code(t), ar); err != nil || tok.Claims.ACR != "aal2" {
		t.Fatalf("once the failures left the window: %v %+v", err, tok)
	}
}

// Of 20 wrong codes posted at once, only the limit's 10 are checked; the
// others are refused by the limit.
func TestTOTPConcurrentWrongCodesBounded(t *testing.T) {
	onEachStore(t, testTOTPConcurrentWrongCodesBounded)
}

func testTOTPConcurrentWrongCodesBounded(t *testing.T, opts ...testenv.Option) {
	env, b, rp, _ := totpEnv(t, append(opts, testenv.WithConfig(noLockout))...)
	p := b.Get(rp.AuthURL(url.Values{"acr_values": {"aal2"}}).URL)
	f := p.Form(t, "/login/verify")
	target, err := p.URL.Parse(f.Action)
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = vs
	}
	v.Set("code", "000000")
	const parallel = 20
	statuses := make([]int, parallel)
	errs := make([]error, parallel)
	var wg sync.WaitGroup
	for i := range parallel {
		wg.Go(func() {
			resp, err := b.Client.PostForm(target.String(), v)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	count := map[int]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
		count[statuses[i]]++
	}
	failed, limited := len(listEvents(t, env, "verification.failed")), len(listEvents(t, env, "verification.rate_limited"))
	if count[http.StatusUnauthorized] != 10 || count[http.StatusTooManyRequests] != 10 || failed != 10 || limited != 10 {
		t.Fatalf("%d wrong codes at once: statuses %v, %d failures and %d refusals audited; want 10 of each", parallel, count, failed, limited)
	}
}
