package authflow

import (
	"errors"
	"slices"
	"testing"
	"time"
)

const aal2Alias = "http://idmanagement.gov/ns/assurance/aal/2"

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	policy = Policy{Levels: []Level{
		{Name: "aal1", Names: []string{"aal1"}},
		{Name: "aal2", Names: []string{"aal2", aal2Alias}},
		{Name: "aal3", Names: []string{"aal3", "phrh"}},
	}}
)

func at(d time.Duration) time.Time       { return t0.Add(d) }
func dur(d time.Duration) *time.Duration { return &d }

func password(t time.Time) Factor {
	return Factor{Method: "password", First: true, AMR: []string{"pwd"}, Time: t}
}
func upstream(t time.Time, amr ...string) Factor {
	return Factor{Method: "upstream", First: true, AMR: amr, Time: t}
}
func totp(t time.Time) Factor {
	return Factor{Method: "totp", Levels: []string{"aal2"}, AMR: []string{"otp"}, Time: t}
}
func tempcode(t time.Time) Factor {
	return Factor{Method: "tempcode", Levels: []string{"aal2"}, AMR: []string{"otp"}, Time: t}
}
func key(t time.Time) Factor {
	return Factor{Method: "webauthn", Levels: []string{"aal2", "aal3"}, AMR: []string{"hwk", "user"}, Time: t}
}

func method(name string, priority int, levels ...string) Method {
	if len(levels) == 0 {
		levels = []string{"aal2"}
	}
	return Method{Name: name, Levels: levels, Priority: priority, Enrolled: true, Enabled: true, Healthy: true}
}

var (
	webauthnM = method("webauthn", 80, "aal2", "aal3")
	totpM     = method("totp", 60)
	smsM      = method("sms", 40)
	emailM    = method("email", 30)
	recoveryM = method("recovery", 10)
	// tempcodeM is a temporary code with no active code: not offered.
	tempcodeM = Method{Name: "tempcode", Levels: []string{"aal2"}, Priority: 100, Enabled: true, Healthy: true}
	all       = []Method{recoveryM, emailM, smsM, totpM, webauthnM, tempcodeM}
)

func with(m Method, change func(*Method)) Method {
	change(&m)
	return m
}

func activeTempcode(m *Method) { m.Bypass = true; m.Priority = 5 }
func unhealthy(m *Method)      { m.Healthy = false }
func disabled(m *Method)       { m.Enabled = false }
func notEnrolled(m *Method)    { m.Enrolled = false }
func lockedUntil(t time.Time) func(*Method) {
	return func(m *Method) { m.LockedUntil = t }
}

// want is the part of a Decision a case checks. Fields of other steps must
// be zero: Result unless StepDone, Err unless StepError, Method and Others
// unless StepMethod.
type want struct {
	step     Step
	method   string
	others   []string
	locked   []LockedMethod
	target   string
	acr      string
	level    string
	amr      []string
	authTime time.Time
	err      error
}

type decideCase struct {
	name    string
	policy  *Policy // nil: policy
	req     Request // Started defaults to t0 unless noStart
	noStart bool
	session []Factor
	methods []Method
	now     time.Time // zero: t0
	want    want
}

func runDecide(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			if tc.policy != nil {
				p = *tc.policy
			}
			r := tc.req
			if r.Started.IsZero() && !tc.noStart {
				r.Started = t0
			}
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			checkDecision(t, Decide(p, r, tc.session, tc.methods, now), tc.want)
		})
	}
}

func checkDecision(t *testing.T, d Decision, w want) {
	t.Helper()
	if d.Step != w.step {
		t.Fatalf("Step = %v (err %v), want %v", d.Step, d.Err, w.step)
	}
	if d.Method != w.method || !slices.Equal(d.Others, w.others) {
		t.Errorf("Method, Others = %q, %q; want %q, %q", d.Method, d.Others, w.method, w.others)
	}
	if !slices.EqualFunc(d.Locked, w.locked, func(a, b LockedMethod) bool { return a.Name == b.Name && a.Until.Equal(b.Until) }) {
		t.Errorf("Locked = %v, want %v", d.Locked, w.locked)
	}
	if w.target != "" && d.Target != w.target {
		t.Errorf("Target = %q, want %q", d.Target, w.target)
	}
	switch {
	case w.err == nil && d.Err != nil:
		t.Errorf("Err = %v, want none", d.Err)
	case w.err != nil && !errors.Is(d.Err, w.err):
		t.Errorf("Err = %v, want %v", d.Err, w.err)
	}
	res := d.Result
	if w.step != StepDone {
		if res.ACR != "" || res.Level != "" || res.AMR != nil || !res.AuthTime.IsZero() {
			t.Errorf("Result = %+v on step %v, want zero", res, d.Step)
		}
		return
	}
	if res.ACR != w.acr || res.Level != w.level {
		t.Errorf("ACR, Level = %q, %q; want %q, %q", res.ACR, res.Level, w.acr, w.level)
	}
	if !slices.Equal(res.AMR, w.amr) {
		t.Errorf("AMR = %q, want %q", res.AMR, w.amr)
	}
	if !res.AuthTime.Equal(w.authTime) {
		t.Errorf("AuthTime = %v, want %v", res.AuthTime, w.authTime)
	}
}

// Rule 1: what each level needs.
func TestDecideLevels(t *testing.T) {
	generic := Policy{Levels: []Level{{Name: "low"}, {Name: "mid"}, {Name: "high"}}}
	runDecide(t, []decideCase{
		{
			name:    "nothing yet: first factor",
			methods: all,
			want:    want{step: StepFirstFactor, target: "aal1"},
		},
		{
			name:    "aal1 is a first factor",
			req:     Request{ACRValues: []string{"aal1"}},
			session: []Factor{password(at(-time.Minute))},
			methods: all,
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "aal2 is first factor plus totp",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{password(at(-2 * time.Minute)), totp(at(-time.Minute))},
			methods: all,
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "aal2 from a temporary code",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{password(at(-2 * time.Minute)), tempcode(at(-time.Minute))},
			want:    want{step: StepDone, acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "aal3 needs more than totp",
			req:     Request{ACRValues: []string{"aal3"}},
			session: []Factor{password(at(-2 * time.Minute)), totp(at(-time.Minute))},
			methods: all,
			want:    want{step: StepMethod, method: "webauthn", target: "aal3"},
		},
		{
			name:    "aal3 is first factor plus security key",
			req:     Request{ACRValues: []string{"aal3"}},
			session: []Factor{password(at(-2 * time.Minute)), key(at(-time.Minute))},
			methods: all,
			want:    want{step: StepDone, acr: "aal3", level: "aal3", amr: []string{"pwd", "hwk", "user", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "a second factor without a first reaches nothing",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{key(at(-time.Minute))},
			methods: all,
			want:    want{step: StepFirstFactor, target: "aal2"},
		},
		{
			name:    "a higher level satisfies a lower one, acr is the name asked",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{password(at(-2 * time.Minute)), key(at(-time.Minute))},
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal3", amr: []string{"pwd", "hwk", "user", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "a factor declaring only the top level satisfies the middle one",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{password(at(-2 * time.Minute)), {Method: "hw", Levels: []string{"aal3"}, AMR: []string{"hwk"}, Time: at(-time.Minute)}},
			want:    want{step: StepDone, acr: "aal2", level: "aal3", amr: []string{"pwd", "hwk", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "factor levels may use an acr alias",
			req:     Request{ACRValues: []string{"aal3"}},
			session: []Factor{password(at(-2 * time.Minute)), {Method: "hw", Levels: []string{"phrh"}, AMR: []string{"hwk"}, Time: at(-time.Minute)}},
			want:    want{step: StepDone, acr: "aal3", level: "aal3", amr: []string{"pwd", "hwk", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "a passkey with user verification is both factors: aal2 without a password, amr mfa",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{{Method: "webauthn", First: true, Both: true, Levels: []string{"aal2"}, AMR: []string{"swk", "user"}, Time: at(-time.Minute)}},
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"swk", "user", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "a device-bound key with user verification alone reaches aal3",
			req:     Request{ACRValues: []string{"aal3"}, Essential: true},
			session: []Factor{{Method: "webauthn", First: true, Both: true, Levels: []string{"aal2", "aal3"}, AMR: []string{"hwk", "user"}, Time: at(-time.Minute)}},
			want:    want{step: StepDone, target: "aal3", acr: "aal3", level: "aal3", amr: []string{"hwk", "user", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "essential aal3 with only a synced passkey (aal2): unmet",
			req:     Request{ACRValues: []string{"aal3"}, Essential: true},
			session: []Factor{{Method: "webauthn", First: true, Both: true, Levels: []string{"aal2"}, AMR: []string{"swk", "user"}, Time: at(-time.Minute)}},
			methods: []Method{method("webauthn", 80, "aal2")},
			want:    want{step: StepError, target: "aal3", err: ErrUnmetAuthenticationRequirements},
		},
		{
			name:    "levels on a first factor are ignored",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{{Method: "password", First: true, Levels: []string{"aal3"}, AMR: []string{"pwd"}, Time: at(-time.Minute)}},
			methods: []Method{totpM},
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "generic policy: a level above the first needs its name on a second factor",
			policy:  &generic,
			req:     Request{ACRValues: []string{"high"}},
			session: []Factor{password(at(-2 * time.Minute)), {Method: "m", Levels: []string{"mid"}, AMR: []string{"otp"}, Time: at(-time.Minute)}},
			methods: []Method{method("m", 1, "mid"), method("h", 1, "high")},
			want:    want{step: StepMethod, method: "h", target: "high"},
		},
		{
			name:    "generic policy: no names means the level name is the acr",
			policy:  &generic,
			req:     Request{ACRValues: []string{"mid"}},
			session: []Factor{password(at(-2 * time.Minute)), {Method: "m", Levels: []string{"mid"}, AMR: []string{"otp"}, Time: at(-time.Minute)}},
			want:    want{step: StepDone, target: "mid", acr: "mid", level: "mid", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
	})
}

// Step-up: an aal1 session asked for aal2 is asked only for the missing
// factor, then finishes with both.
func TestStepUpFromAAL1(t *testing.T) {
	r := Request{ACRValues: []string{"aal2"}, Started: t0}
	session := []Factor{password(at(-time.Hour))}

	d := Decide(policy, r, session, all, t0)
	checkDecision(t, d, want{step: StepMethod, method: "webauthn", others: []string{"totp", "sms", "email", "recovery"}, target: "aal2"})

	session = append(session, totp(at(time.Minute)))
	d = Decide(policy, r, session, all, at(time.Minute))
	checkDecision(t, d, want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(time.Minute)})
}

// prompt=login forces both factors again; the old ones leave no trace in
// amr or auth_time.
func TestPromptLoginRepeatsEveryFactor(t *testing.T) {
	r := Request{ACRValues: []string{"aal2"}, PromptLogin: true, Started: t0}
	session := []Factor{password(at(-5 * time.Minute)), key(at(-4 * time.Minute))}

	checkDecision(t, Decide(policy, r, session, all, t0), want{step: StepFirstFactor, target: "aal2"})

	session = append(session, password(at(time.Minute)))
	checkDecision(t, Decide(policy, r, session, all, at(time.Minute)),
		want{step: StepMethod, method: "webauthn", others: []string{"totp", "sms", "email", "recovery"}, target: "aal2"})

	session = append(session, totp(at(2*time.Minute)))
	checkDecision(t, Decide(policy, r, session, all, at(2*time.Minute)),
		want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(2 * time.Minute)})
}

// Rule 2: which factors count.
func TestDecideValidFactors(t *testing.T) {
	runDecide(t, []decideCase{
		{
			name:    "max_age drops factors that are too old",
			req:     Request{ACRValues: []string{"aal2"}, MaxAge: dur(time.Hour)},
			session: []Factor{password(at(-2 * time.Hour)), totp(at(-2 * time.Hour))},
			methods: all,
			want:    want{step: StepFirstFactor, target: "aal2"},
		},
		{
			name:    "max_age keeps recent factors",
			req:     Request{MaxAge: dur(time.Hour)},
			session: []Factor{password(at(-30 * time.Minute))},
			want:    want{step: StepDone, acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-30 * time.Minute)},
		},
		{
			name:    "max_age boundary: exactly max_age old still counts",
			req:     Request{MaxAge: dur(time.Hour)},
			session: []Factor{password(at(-time.Hour))},
			want:    want{step: StepDone, acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Hour)},
		},
		{
			name:    "max_age drops only the old second factor: only it is asked again",
			req:     Request{ACRValues: []string{"aal2"}, MaxAge: dur(time.Hour)},
			session: []Factor{password(at(-10 * time.Minute)), totp(at(-3 * time.Hour))},
			methods: []Method{totpM},
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "max_age is measured from the request's start: a slow user is not sent round again",
			req:     Request{ACRValues: []string{"aal2"}, MaxAge: dur(time.Hour)},
			session: []Factor{password(at(-50 * time.Minute)), totp(at(25 * time.Minute))},
			now:     at(30 * time.Minute),
			want:    want{step: StepDone, acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(25 * time.Minute)},
		},
		{
			name:    "max_age without a start time is measured from now",
			req:     Request{MaxAge: dur(time.Hour)},
			noStart: true,
			session: []Factor{password(at(-50 * time.Minute))},
			now:     at(20 * time.Minute),
			want:    want{step: StepFirstFactor, target: "aal1"},
		},
		{
			name:    "max_age=0 drops every factor from before the request",
			req:     Request{MaxAge: dur(0)},
			session: []Factor{password(at(-time.Second))},
			want:    want{step: StepFirstFactor, target: "aal1"},
		},
		{
			name:    "max_age=0 keeps the factors of this request",
			req:     Request{ACRValues: []string{"aal2"}, MaxAge: dur(0)},
			session: []Factor{password(at(-time.Hour)), totp(at(-time.Hour)), password(at(time.Minute)), totp(at(2 * time.Minute))},
			now:     at(3 * time.Minute),
			want:    want{step: StepDone, acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(2 * time.Minute)},
		},
		{
			name:    "max_age=0 asks the second factor again too",
			req:     Request{ACRValues: []string{"aal2"}, MaxAge: dur(0)},
			session: []Factor{password(at(-time.Hour)), totp(at(-time.Hour)), password(at(time.Minute))},
			methods: []Method{totpM},
			now:     at(time.Minute),
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "negative max_age behaves like 0",
			req:     Request{MaxAge: dur(-time.Minute)},
			session: []Factor{password(at(-time.Second))},
			want:    want{step: StepFirstFactor, target: "aal1"},
		},
		{
			name:    "prompt=login drops factors from before the request",
			req:     Request{PromptLogin: true},
			session: []Factor{password(at(-time.Second))},
			want:    want{step: StepFirstFactor, target: "aal1"},
		},
		{
			name:    "prompt=login keeps a factor completed at the very start",
			req:     Request{PromptLogin: true},
			session: []Factor{password(t0)},
			want:    want{step: StepDone, acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: t0},
		},
		{
			name:    "prompt=login and a longer max_age: prompt=login wins",
			req:     Request{PromptLogin: true, MaxAge: dur(time.Hour)},
			session: []Factor{password(at(-time.Minute))},
			want:    want{step: StepFirstFactor, target: "aal1"},
		},
		{
			name:    "prompt=login without a start time is a programming error",
			req:     Request{PromptLogin: true},
			noStart: true,
			session: []Factor{password(at(-time.Minute))},
			want:    want{step: StepError, err: ErrRequestStartMissing},
		},
		{
			name:    "max_age=0 without a start time is a programming error",
			req:     Request{MaxAge: dur(0)},
			noStart: true,
			want:    want{step: StepError, err: ErrRequestStartMissing},
		},
		{
			name:    "without max_age or prompt=login old factors count",
			req:     Request{ACRValues: []string{"aal2"}},
			noStart: true,
			session: []Factor{password(at(-30 * 24 * time.Hour)), totp(at(-29 * 24 * time.Hour))},
			want:    want{step: StepDone, acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-29 * 24 * time.Hour)},
		},
	})
}

// Rule 3: choosing the target and the acr.
func TestDecideTarget(t *testing.T) {
	pwd := []Factor{password(at(-time.Minute))}
	pwdTOTP := []Factor{password(at(-2 * time.Minute)), totp(at(-time.Minute))}
	pwdKey := []Factor{password(at(-2 * time.Minute)), key(at(-time.Minute))}
	totpOnly := []Method{totpM}

	runDecide(t, []decideCase{
		{
			name:    "alias: the token carries the exact name asked",
			req:     Request{ACRValues: []string{aal2Alias}},
			session: pwdTOTP,
			want:    want{step: StepDone, target: "aal2", acr: aal2Alias, level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "alias: stepping up aims at the level it names",
			req:     Request{ACRValues: []string{aal2Alias}},
			session: pwd,
			methods: totpOnly,
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "alias of aal3",
			req:     Request{ACRValues: []string{"phrh"}},
			session: pwdKey,
			want:    want{step: StepDone, target: "aal3", acr: "phrh", level: "aal3", amr: []string{"pwd", "hwk", "user", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "acr names are case-sensitive",
			req:     Request{ACRValues: []string{"AAL2"}},
			session: pwd,
			methods: totpOnly,
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "order [aal3 aal2] without a security key steps up to aal2",
			req:     Request{ACRValues: []string{"aal3", "aal2"}},
			session: pwd,
			methods: []Method{totpM, smsM},
			want:    want{step: StepMethod, method: "totp", others: []string{"sms"}, target: "aal2"},
		},
		{
			name:    "order [aal3 aal2] without a security key, totp done: acr aal2",
			req:     Request{ACRValues: []string{"aal3", "aal2"}},
			session: pwdTOTP,
			methods: totpOnly,
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "order [aal3 aal2] with a security key aims at aal3 even from an aal2 session",
			req:     Request{ACRValues: []string{"aal3", "aal2"}},
			session: pwdTOTP,
			methods: all,
			want:    want{step: StepMethod, method: "webauthn", target: "aal3"},
		},
		{
			name:    "order [aal2 aal3] with an aal3 session: acr aal2, level aal3",
			req:     Request{ACRValues: []string{"aal2", "aal3"}},
			session: pwdKey,
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal3", amr: []string{"pwd", "hwk", "user", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "order [aal1 aal2]: the first name already reached wins",
			req:     Request{ACRValues: []string{"aal1", "aal2"}},
			session: pwd,
			methods: all,
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "essential aal3 with only totp: unmet",
			req:     Request{ACRValues: []string{"aal3"}, Essential: true},
			session: pwd,
			methods: totpOnly,
			want:    want{step: StepError, target: "aal3", err: ErrUnmetAuthenticationRequirements},
		},
		{
			name:    "essential aal3 with only totp, totp done: still unmet, never a lower acr",
			req:     Request{ACRValues: []string{"aal3"}, Essential: true},
			session: pwdTOTP,
			methods: totpOnly,
			want:    want{step: StepError, target: "aal3", err: ErrUnmetAuthenticationRequirements},
		},
		{
			name:    "essential [aal3 aal2] with only totp falls to aal2",
			req:     Request{ACRValues: []string{"aal3", "aal2"}, Essential: true},
			session: pwd,
			methods: totpOnly,
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "essential aal3 met",
			req:     Request{ACRValues: []string{"aal3"}, Essential: true},
			session: pwdKey,
			want:    want{step: StepDone, target: "aal3", acr: "aal3", level: "aal3", amr: []string{"pwd", "hwk", "user", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "voluntary aal3 with only totp, password only: done at aal1, not a totp prompt",
			req:     Request{ACRValues: []string{"aal3"}},
			session: pwd,
			methods: totpOnly,
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "voluntary aal3 with only totp, totp done: done at aal2",
			req:     Request{ACRValues: []string{"aal3"}},
			session: pwdTOTP,
			methods: totpOnly,
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "voluntary alias that cannot be met: canonical name of the level reached",
			req:     Request{ACRValues: []string{"phrh"}},
			session: pwdTOTP,
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name: "essential aal2, user not known yet: first factor, not unmet",
			req:  Request{ACRValues: []string{"aal2"}, Essential: true},
			want: want{step: StepFirstFactor, target: "aal2"},
		},
		{
			name:    "essential aal2, methods known but the first factor expired: first factor, not unmet",
			req:     Request{ACRValues: []string{"aal2"}, Essential: true, MaxAge: dur(time.Hour)},
			session: []Factor{password(at(-2 * time.Hour))},
			methods: nil,
			want:    want{step: StepFirstFactor, target: "aal2"},
		},
		{
			name:    "essential aal2, first factor done, no method at all: unmet",
			req:     Request{ACRValues: []string{"aal2"}, Essential: true},
			session: pwd,
			want:    want{step: StepError, target: "aal2", err: ErrUnmetAuthenticationRequirements},
		},
		{
			name:    "voluntary aal2, first factor done, no method at all: done at aal1",
			req:     Request{ACRValues: []string{"aal2"}},
			session: pwd,
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "unknown names are ignored",
			req:     Request{ACRValues: []string{"urn:example:gold", "aal2"}, Essential: true},
			session: pwd,
			methods: totpOnly,
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "only unknown names, voluntary: as if none were asked",
			req:     Request{ACRValues: []string{"urn:example:gold"}},
			session: pwdTOTP,
			want:    want{step: StepDone, target: "aal1", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "only unknown names, essential: unmet at once, before any login",
			req:     Request{ACRValues: []string{"urn:example:gold"}, Essential: true},
			methods: all,
			want:    want{step: StepError, err: ErrUnmetAuthenticationRequirements},
		},
		{
			name:    "essential without values asks for nothing",
			req:     Request{Essential: true},
			session: pwd,
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "no acr asked: acr is the canonical name of the highest level reached",
			session: pwdTOTP,
			methods: all,
			want:    want{step: StepDone, target: "aal1", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "no acr asked, aal3 session",
			session: pwdKey,
			want:    want{step: StepDone, target: "aal1", acr: "aal3", level: "aal3", amr: []string{"pwd", "hwk", "user", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name: "before the first factor the target is the first known name asked",
			req:  Request{ACRValues: []string{"urn:example:gold", "aal3", "aal2"}},
			want: want{step: StepFirstFactor, target: "aal3"},
		},
	})
}

// Rule 4: the steps, and prompt=none.
func TestDecidePromptNone(t *testing.T) {
	runDecide(t, []decideCase{
		{
			name: "no session: login_required",
			req:  Request{PromptNone: true},
			want: want{step: StepError, target: "aal1", err: ErrLoginRequired},
		},
		{
			name:    "adequate session: done",
			req:     Request{ACRValues: []string{"aal2"}, PromptNone: true},
			session: []Factor{password(at(-2 * time.Minute)), totp(at(-time.Minute))},
			methods: all,
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"pwd", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "first factor only, no acr: done",
			req:     Request{PromptNone: true},
			session: []Factor{password(at(-time.Minute))},
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "step-up needed: login_required",
			req:     Request{ACRValues: []string{"aal2"}, PromptNone: true},
			session: []Factor{password(at(-time.Minute))},
			methods: all,
			want:    want{step: StepError, target: "aal2", err: ErrLoginRequired},
		},
		{
			name:    "voluntary acr no method can reach: done at the level reached, nothing to ask",
			req:     Request{ACRValues: []string{"aal3"}, PromptNone: true},
			session: []Factor{password(at(-time.Minute))},
			methods: []Method{totpM},
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "essential acr no method can reach: unmet",
			req:     Request{ACRValues: []string{"aal3"}, Essential: true, PromptNone: true},
			session: []Factor{password(at(-time.Minute))},
			methods: []Method{totpM},
			want:    want{step: StepError, target: "aal3", err: ErrUnmetAuthenticationRequirements},
		},
		{
			name:    "session too old for max_age: login_required",
			req:     Request{PromptNone: true, MaxAge: dur(time.Minute)},
			session: []Factor{password(at(-time.Hour))},
			want:    want{step: StepError, target: "aal1", err: ErrLoginRequired},
		},
		{
			name:    "with prompt=login too: login_required",
			req:     Request{PromptNone: true, PromptLogin: true},
			session: []Factor{password(at(-time.Minute))},
			want:    want{step: StepError, err: ErrLoginRequired},
		},
	})
}

// A prompt=none request refused for want of a higher level says which
// level, by the name asked; one refused for want of a first factor does not
// pretend to.
func TestDecidePromptNoneSaysWhichLevel(t *testing.T) {
	pwd := []Factor{password(at(-time.Minute))}
	for _, tc := range []struct {
		name    string
		req     Request
		session []Factor
		acr     string // "": not a HigherLevelRequiredError
	}{
		{"aal2 by its alias", Request{ACRValues: []string{"aal3", aal2Alias}, PromptNone: true}, pwd, aal2Alias},
		{"aal3", Request{ACRValues: []string{"aal3"}, PromptNone: true}, pwd, "aal3"},
		{"no session", Request{ACRValues: []string{"aal2"}, PromptNone: true}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			methods := []Method{totpM}
			if tc.acr == "aal3" {
				methods = []Method{webauthnM}
			}
			d := Decide(policy, tc.req, tc.session, methods, t0)
			var higher *HigherLevelRequiredError
			if !errors.Is(d.Err, ErrLoginRequired) {
				t.Fatalf("Err = %v, want ErrLoginRequired", d.Err)
			}
			if got := errors.As(d.Err, &higher); got != (tc.acr != "") || (got && higher.ACR != tc.acr) {
				t.Fatalf("Err = %#v, want a HigherLevelRequiredError for %q", d.Err, tc.acr)
			}
		})
	}
}

// Rule 5: which methods are offered, in which order.
func TestDecideMethods(t *testing.T) {
	pwd := []Factor{password(at(-time.Minute))}
	aal2 := Request{ACRValues: []string{"aal2"}}
	aal3 := Request{ACRValues: []string{"aal3"}}
	until := at(15 * time.Minute)

	runDecide(t, []decideCase{
		{
			name:    "highest priority first, the others in order, recovery last",
			req:     aal2,
			session: pwd,
			methods: all,
			want:    want{step: StepMethod, method: "webauthn", others: []string{"totp", "sms", "email", "recovery"}, target: "aal2"},
		},
		{
			name:    "an active temporary code comes before every priority",
			req:     aal2,
			session: pwd,
			methods: []Method{recoveryM, totpM, webauthnM, with(tempcodeM, activeTempcode)},
			want:    want{step: StepMethod, method: "tempcode", others: []string{"webauthn", "totp", "recovery"}, target: "aal2"},
		},
		{
			name:    "an expired temporary code: back on the former method",
			req:     aal2,
			session: pwd,
			methods: []Method{totpM, tempcodeM},
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "a temporary code does not reach aal3",
			req:     aal3,
			session: pwd,
			methods: []Method{webauthnM, with(tempcodeM, activeTempcode)},
			want:    want{step: StepMethod, method: "webauthn", target: "aal3"},
		},
		{
			name:    "a disabled temporary code is not offered even when active",
			req:     aal2,
			session: pwd,
			methods: []Method{totpM, with(with(tempcodeM, activeTempcode), disabled)},
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "an unhealthy plugin is skipped",
			req:     aal2,
			session: pwd,
			methods: []Method{with(webauthnM, unhealthy), totpM, smsM},
			want:    want{step: StepMethod, method: "totp", others: []string{"sms"}, target: "aal2"},
		},
		{
			name:    "disabled and not enrolled methods are skipped",
			req:     aal2,
			session: pwd,
			methods: []Method{with(webauthnM, disabled), with(totpM, notEnrolled), smsM},
			want:    want{step: StepMethod, method: "sms", target: "aal2"},
		},
		{
			name:    "a locked method is listed in Locked, the next one offered",
			req:     aal2,
			session: pwd,
			methods: []Method{with(totpM, lockedUntil(until)), smsM},
			want:    want{step: StepMethod, method: "sms", locked: []LockedMethod{{"totp", until}}, target: "aal2"},
		},
		{
			name:    "a lockout that has lifted is no lockout",
			req:     aal2,
			session: pwd,
			methods: []Method{with(totpM, lockedUntil(at(-time.Second))), smsM},
			want:    want{step: StepMethod, method: "totp", others: []string{"sms"}, target: "aal2"},
		},
		{
			name:    "a lockout lifts at its instant",
			req:     aal2,
			session: pwd,
			methods: []Method{with(totpM, lockedUntil(t0))},
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
		{
			name:    "a locked method that is also down is not listed",
			req:     aal2,
			session: pwd,
			methods: []Method{with(with(totpM, lockedUntil(until)), unhealthy), smsM},
			want:    want{step: StepMethod, method: "sms", target: "aal2"},
		},
		{
			name:    "essential, every method locked: unmet, saying which and until when",
			req:     Request{ACRValues: []string{"aal2"}, Essential: true},
			session: pwd,
			methods: []Method{with(smsM, lockedUntil(at(time.Hour))), with(totpM, lockedUntil(until))},
			want:    want{step: StepError, locked: []LockedMethod{{"totp", until}, {"sms", at(time.Hour)}}, target: "aal2", err: ErrUnmetAuthenticationRequirements},
		},
		{
			name:    "voluntary, every method locked: done at aal1, Locked still says why",
			req:     aal2,
			session: pwd,
			methods: []Method{with(totpM, lockedUntil(until))},
			want:    want{step: StepDone, locked: []LockedMethod{{"totp", until}}, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "essential, every plugin down: unmet",
			req:     Request{ACRValues: []string{"aal2"}, Essential: true},
			session: pwd,
			methods: []Method{with(totpM, unhealthy), with(webauthnM, unhealthy)},
			want:    want{step: StepError, target: "aal2", err: ErrUnmetAuthenticationRequirements},
		},
		{
			name:    "voluntary, every plugin down: done at aal1",
			req:     aal2,
			session: pwd,
			methods: []Method{with(totpM, unhealthy)},
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "locked methods of every level tried are listed once",
			req:     Request{ACRValues: []string{"aal3", "aal2"}},
			session: pwd,
			methods: []Method{with(webauthnM, lockedUntil(until)), with(totpM, lockedUntil(until))},
			want:    want{step: StepDone, locked: []LockedMethod{{"webauthn", until}, {"totp", until}}, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "equal priorities are ordered by name",
			req:     aal2,
			session: pwd,
			methods: []Method{method("zeta", 50), method("alpha", 50), method("mid", 50)},
			want:    want{step: StepMethod, method: "alpha", others: []string{"mid", "zeta"}, target: "aal2"},
		},
		{
			name:    "a method declaring a higher level is offered for a lower one",
			req:     aal2,
			session: pwd,
			methods: []Method{method("key-only", 1, "aal3")},
			want:    want{step: StepMethod, method: "key-only", target: "aal2"},
		},
		{
			name:    "a method for an unknown level is never offered",
			req:     aal2,
			session: pwd,
			methods: []Method{method("odd", 99, "gold")},
			want:    want{step: StepDone, target: "aal1", acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
	})
}

// Rules 6 and 7: amr and auth_time.
func TestDecideResult(t *testing.T) {
	runDecide(t, []decideCase{
		{
			name:    "one factor: no mfa",
			session: []Factor{password(at(-time.Minute))},
			want:    want{step: StepDone, acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "the same method twice is not mfa",
			session: []Factor{password(at(-2 * time.Minute)), password(at(-time.Minute))},
			want:    want{step: StepDone, acr: "aal1", level: "aal1", amr: []string{"pwd"}, authTime: at(-time.Minute)},
		},
		{
			name:    "amr values are deduplicated in order of first appearance",
			session: []Factor{password(at(-3 * time.Minute)), tempcode(at(-2 * time.Minute)), totp(at(-time.Minute)), key(at(-30 * time.Second))},
			want:    want{step: StepDone, acr: "aal3", level: "aal3", amr: []string{"pwd", "otp", "hwk", "user", "mfa"}, authTime: at(-30 * time.Second)},
		},
		{
			name:    "auth_time is the most recent factor, whatever the order of the session",
			session: []Factor{totp(at(-time.Minute)), password(at(-time.Hour))},
			want:    want{step: StepDone, acr: "aal2", level: "aal2", amr: []string{"otp", "pwd", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "factors that do not count leave no amr and no auth_time",
			req:     Request{ACRValues: []string{"aal3"}, MaxAge: dur(time.Hour)},
			session: []Factor{password(at(-10 * time.Minute)), totp(at(-2 * time.Hour)), key(at(-5 * time.Minute)), {Method: "sms", Levels: []string{"aal2"}, AMR: []string{"sms"}, Time: at(-3 * time.Hour)}},
			want:    want{step: StepDone, target: "aal3", acr: "aal3", level: "aal3", amr: []string{"pwd", "hwk", "user", "mfa"}, authTime: at(-5 * time.Minute)},
		},
		{
			name:    "upstream first factor with its own amr",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{upstream(at(-2*time.Minute), "pwd", "kba"), totp(at(-time.Minute))},
			want:    want{step: StepDone, target: "aal2", acr: "aal2", level: "aal2", amr: []string{"pwd", "kba", "otp", "mfa"}, authTime: at(-time.Minute)},
		},
		{
			name:    "upstream first factor alone is aal1",
			session: []Factor{upstream(at(-time.Minute), "fed")},
			want:    want{step: StepDone, acr: "aal1", level: "aal1", amr: []string{"fed"}, authTime: at(-time.Minute)},
		},
		{
			name:    "an upstream mfa value is not repeated",
			session: []Factor{upstream(at(-2*time.Minute), "mfa", "pwd"), totp(at(-time.Minute))},
			want:    want{step: StepDone, acr: "aal2", level: "aal2", amr: []string{"mfa", "pwd", "otp"}, authTime: at(-time.Minute)},
		},
		{
			name:    "upstream first factor, step-up asks only the second factor",
			req:     Request{ACRValues: []string{"aal2"}},
			session: []Factor{upstream(at(-time.Minute), "fed")},
			methods: []Method{totpM},
			want:    want{step: StepMethod, method: "totp", target: "aal2"},
		},
	})
}

func TestDecideInvalidPolicy(t *testing.T) {
	for _, p := range []Policy{{}, {Levels: []Level{{Name: ""}}}} {
		d := Decide(p, Request{}, []Factor{password(t0)}, nil, t0)
		if d.Step != StepError || !errors.Is(d.Err, ErrInvalidPolicy) {
			t.Errorf("Decide(%+v) = %v, %v; want StepError, ErrInvalidPolicy", p, d.Step, d.Err)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		levels []Level
		ok     bool
	}{
		{"default", policy.Levels, true},
		{"names may repeat the level name", []Level{{Name: "a", Names: []string{"a", "x"}}}, true},
		{"names may omit the level name", []Level{{Name: "a", Names: []string{"x"}}}, true},
		{"no levels", nil, false},
		{"empty level name", []Level{{Name: "a"}, {Name: ""}}, false},
		{"empty acr name", []Level{{Name: "a", Names: []string{""}}}, false},
		{"a level twice", []Level{{Name: "a"}, {Name: "a"}}, false},
		{"an acr name on two levels", []Level{{Name: "a", Names: []string{"x"}}, {Name: "b", Names: []string{"b", "x"}}}, false},
		{"a level name as another level's acr", []Level{{Name: "a", Names: []string{"b"}}, {Name: "b"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Policy{Levels: tc.levels}.Validate()
			if tc.ok && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("Validate() = %v, want ErrInvalidPolicy", err)
			}
		})
	}
}

func TestLevelOf(t *testing.T) {
	tests := []struct {
		acr  string
		want string // level Name; "" when unknown
	}{
		{"aal1", "aal1"},
		{"aal2", "aal2"},
		{aal2Alias, "aal2"},
		{"phrh", "aal3"},
		{"AAL2", ""},
		{"urn:example:gold", ""},
		{"", ""},
	}
	for _, tc := range tests {
		l, ok := policy.LevelOf(tc.acr)
		if ok != (tc.want != "") || l.Name != tc.want {
			t.Errorf("LevelOf(%q) = %q, %v; want %q", tc.acr, l.Name, ok, tc.want)
		}
	}
	// Only accepted names count: a level whose names omit its own Name.
	p := Policy{Levels: []Level{{Name: "aal1", Names: []string{"bronze"}}}}
	if _, ok := p.LevelOf("aal1"); ok {
		t.Error(`LevelOf("aal1") found a level whose names are [bronze]`)
	}
	if l, ok := p.LevelOf("bronze"); !ok || l.Canonical() != "bronze" {
		t.Errorf(`LevelOf("bronze") = %+v, %v`, l, ok)
	}
}

func TestACRNames(t *testing.T) {
	want := []string{"aal1", "aal2", aal2Alias, "aal3", "phrh"}
	if got := policy.ACRNames(); !slices.Equal(got, want) {
		t.Errorf("ACRNames() = %q, want %q", got, want)
	}
	p := Policy{Levels: []Level{{Name: "low"}, {Name: "high", Names: []string{"gold"}}}}
	if got := p.ACRNames(); !slices.Equal(got, []string{"low", "gold"}) {
		t.Errorf("ACRNames() = %q", got)
	}
}

func TestReached(t *testing.T) {
	tests := []struct {
		name    string
		factors []Factor
		want    string
	}{
		{"nothing", nil, ""},
		{"second factor only", []Factor{totp(t0)}, ""},
		{"password", []Factor{password(t0)}, "aal1"},
		{"upstream", []Factor{upstream(t0, "fed")}, "aal1"},
		{"password and totp", []Factor{password(t0), totp(t0)}, "aal2"},
		{"password and key", []Factor{password(t0), key(t0)}, "aal3"},
		{"password, key and totp", []Factor{password(t0), key(t0), totp(t0)}, "aal3"},
		{"second factor of an unknown level", []Factor{password(t0), {Method: "x", Levels: []string{"gold"}}}, "aal1"},
	}
	for _, tc := range tests {
		if got := Reached(policy, tc.factors); got != tc.want {
			t.Errorf("%s: Reached() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidFactors(t *testing.T) {
	old, during := password(at(-2*time.Hour)), totp(at(time.Minute))
	session := []Factor{old, during}
	tests := []struct {
		name string
		req  Request
		want []Factor
	}{
		{"no limit", Request{Started: t0}, session},
		{"max_age long enough", Request{Started: t0, MaxAge: dur(3 * time.Hour)}, session},
		{"max_age too short", Request{Started: t0, MaxAge: dur(time.Hour)}, []Factor{during}},
		{"prompt=login", Request{Started: t0, PromptLogin: true}, []Factor{during}},
		{"prompt=login without start: nothing counts", Request{PromptLogin: true}, nil},
	}
	for _, tc := range tests {
		got := ValidFactors(tc.req, session, at(2*time.Minute))
		if !slices.EqualFunc(got, tc.want, func(a, b Factor) bool { return a.Method == b.Method && a.Time.Equal(b.Time) }) {
			t.Errorf("%s: ValidFactors() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEligible(t *testing.T) {
	until := at(time.Hour)
	methods := []Method{recoveryM, with(totpM, lockedUntil(until)), webauthnM, with(tempcodeM, activeTempcode), with(smsM, unhealthy)}

	got, locked := Eligible(policy, "aal2", methods, t0)
	var names []string
	for _, m := range got {
		names = append(names, m.Name)
	}
	if want := []string{"tempcode", "webauthn", "recovery"}; !slices.Equal(names, want) {
		t.Errorf("Eligible(aal2) = %q, want %q", names, want)
	}
	if len(locked) != 1 || locked[0].Name != "totp" || !locked[0].Until.Equal(until) {
		t.Errorf("Eligible(aal2) locked = %v", locked)
	}

	got, locked = Eligible(policy, "aal3", methods, t0)
	if len(got) != 1 || got[0].Name != "webauthn" || len(locked) != 0 {
		t.Errorf("Eligible(aal3) = %v, %v", got, locked)
	}
	if got, locked := Eligible(policy, "gold", methods, t0); got != nil || locked != nil {
		t.Errorf("Eligible(gold) = %v, %v; want nothing", got, locked)
	}
	if got, _ := Eligible(policy, aal2Alias, methods, t0); len(got) != 3 {
		t.Errorf("Eligible(alias of aal2) = %v, want the aal2 methods", got)
	}
}

// TestEligiblePreferred: the user's preferred method comes first among
// methods of equal priority, and never before a higher priority.
func TestEligiblePreferred(t *testing.T) {
	prefer := func(m *Method) { m.Preferred = true }
	equal := func(p int) func(*Method) { return func(m *Method) { m.Priority = p } }
	names := func(ms []Method) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		methods []Method
		want    []string
	}{
		{"equal priority, no preference: by name", []Method{with(totpM, equal(50)), with(smsM, equal(50))}, []string{"sms", "totp"}},
		{"equal priority: the preferred first", []Method{with(with(totpM, equal(50)), prefer), with(smsM, equal(50))}, []string{"totp", "sms"}},
		{"a higher priority stays first", []Method{totpM, with(smsM, prefer), recoveryM}, []string{"totp", "sms", "recovery"}},
		{"a bypass stays first", []Method{with(tempcodeM, activeTempcode), with(with(totpM, equal(100)), prefer)}, []string{"tempcode", "totp"}},
	} {
		got, _ := Eligible(policy, "aal2", tc.methods, t0)
		if !slices.Equal(names(got), tc.want) {
			t.Errorf("%s: Eligible() = %q, want %q", tc.name, names(got), tc.want)
		}
	}
}

func TestResultOf(t *testing.T) {
	factors := []Factor{password(at(-time.Hour)), totp(at(-time.Minute))}
	got := ResultOf(policy, factors)
	if got.ACR != "aal2" || got.Level != "aal2" || !slices.Equal(got.AMR, []string{"pwd", "otp", "mfa"}) || !got.AuthTime.Equal(at(-time.Minute)) {
		t.Errorf("ResultOf() = %+v", got)
	}

	// The same factors give the same Result as the Decision they completed.
	d := Decide(policy, Request{Started: t0}, factors, nil, t0)
	if d.Step != StepDone || d.Result.ACR != got.ACR || !slices.Equal(d.Result.AMR, got.AMR) || !d.Result.AuthTime.Equal(got.AuthTime) {
		t.Errorf("Decide() = %+v, ResultOf() = %+v", d, got)
	}

	if got := ResultOf(policy, []Factor{totp(t0)}); got.ACR != "" || got.Level != "" || !slices.Equal(got.AMR, []string{"otp"}) {
		t.Errorf("ResultOf(no first factor) = %+v", got)
	}
	if got := ResultOf(policy, nil); got.ACR != "" || got.AMR != nil || !got.AuthTime.IsZero() {
		t.Errorf("ResultOf(nil) = %+v", got)
	}
}

func TestStepString(t *testing.T) {
	for s, want := range map[Step]string{StepFirstFactor: "first-factor", StepMethod: "method", StepDone: "done", StepError: "error", 0: "Step(0)"} {
		if got := s.String(); got != want {
			t.Errorf("Step(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

// Decide must not keep or change what it is given.
func TestDecideDoesNotModifyInputs(t *testing.T) {
	methods := []Method{recoveryM, totpM, webauthnM}
	session := []Factor{password(at(-time.Minute))}
	before := slices.Clone(methods)
	d := Decide(policy, Request{ACRValues: []string{"aal2"}, Started: t0}, session, methods, t0)
	if d.Step != StepMethod {
		t.Fatalf("Step = %v", d.Step)
	}
	for i := range methods {
		if methods[i].Name != before[i].Name {
			t.Fatalf("methods reordered: %v", methods)
		}
	}
}

func TestWithinAndUpTo(t *testing.T) {
	p := Policy{Levels: []Level{{Name: "aal1"}, {Name: "aal2"}, {Name: "aal3", Names: []string{"aal3", "phrh"}}}}
	for _, tc := range []struct {
		got, want []string
	}{
		{Within([]string{"aal2", "aal3"}, nil), []string{"aal2", "aal3"}},
		{Within([]string{"aal2", "aal3"}, []string{"aal2"}), []string{"aal2"}},
		{Within([]string{"aal2"}, []string{"aal2", "aal3"}), []string{"aal2"}}, // never more than declared
		{p.UpTo([]string{"aal2", "aal3"}, "aal2"), []string{"aal2"}},
		{p.UpTo([]string{"aal2", "aal3"}, "phrh"), []string{"aal2", "aal3"}},
		{p.UpTo([]string{"aal2", "aal3"}, ""), []string{"aal2", "aal3"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("got %v, want %v", tc.got, tc.want)
		}
	}
}
