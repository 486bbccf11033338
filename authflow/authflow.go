package authflow

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Request is what the relying party asked for, as far as authentication goes.
type Request struct {
	// ACRValues are the requested acr names in the request's order: the
	// acr_values parameter, or the values of the acr claim in the claims
	// parameter. Names the Policy does not know are ignored.
	ACRValues []string
	// Essential is set when acr was requested as an essential claim
	// ("essential": true in the claims parameter). An essential acr that
	// cannot be met ends in ErrUnmetAuthenticationRequirements instead of a
	// token with a lower acr. Without ACRValues it asks for nothing.
	Essential bool
	// MaxAge is the request's max_age; nil when not asked. Factors older
	// than MaxAge, measured from Started, do not count; a factor completed
	// during this request always counts, however long the user took.
	// Zero (or negative) behaves like PromptLogin.
	MaxAge *time.Duration
	// PromptLogin is prompt=login: factors completed before Started do not
	// count, so every factor the target level needs is asked again.
	PromptLogin bool
	// PromptNone is prompt=none: the user must not be asked anything. When
	// the request needs a factor, Decide returns ErrLoginRequired.
	PromptNone bool
	// Started is when the authorization request was created. Factors with a
	// Time at or after it were completed during this request. It must be
	// set when PromptLogin or MaxAge is.
	Started time.Time
}

// Factor is an authentication factor the browser session has completed.
type Factor struct {
	// Method names what was used: "password", "upstream", "totp", ...
	Method string
	// First marks a first factor: a password, an upstream IdP login, a
	// trusted id_token_hint. Any first factor reaches the lowest level.
	First bool
	// Levels are, for a second factor, the level names it satisfies
	// (["aal2"] for TOTP, ["aal2", "aal3"] for a security key). Ignored on
	// a first factor, unless Both. A level's acr names are accepted too.
	Levels []string
	// Both marks a first factor that is a second factor as well: a
	// passkey whose authenticator verified the user (PIN or biometric) is
	// something the user has and something they know or are (SPEC §4). Its
	// Levels count, and it counts as two factors towards "mfa".
	Both bool
	// AMR are the RFC 8176 values the factor contributes to the token, set
	// by the caller ("pwd"; "otp"; "hwk", "user"; an upstream IdP's own
	// values, or "fed" when it sent none). authflow adds "mfa" itself.
	AMR []string
	// Time is when the factor was completed.
	Time time.Time
}

// Method is one of the user's verification methods as it stands now.
type Method struct {
	// Name is the method's name ("totp", "webauthn", a plugin's own).
	Name string
	// Levels are the level names the method can satisfy.
	Levels []string
	// Priority orders the eligible methods, highest first.
	Priority int
	// Preferred: the user chose it on their account page. Among methods of
	// equal Priority it is offered first; it never passes a method the
	// administrator ranked higher.
	Preferred bool
	// Enrolled: the user has the method (a method that needs no enrolment,
	// such as email for a user with an address, is Enrolled).
	Enrolled bool
	// Enabled: the method is switched on in the configuration.
	Enabled bool
	// Healthy: the method's plugin answers. A method that is down is skipped.
	Healthy bool
	// LockedUntil is when a lockout on the method lifts; zero when none.
	LockedUntil time.Time
	// Bypass marks an active temporary code: it is offered before every
	// other method whatever the priorities, and counts as enrolled. It still
	// needs Enabled, Healthy and a level that reaches the target.
	Bypass bool
}

// LockedMethod names a method the user could otherwise use, locked out
// until Until, so the page can say when it lifts.
type LockedMethod struct {
	Name  string
	Until time.Time
}

// Step is what the caller does next.
type Step int

// The steps of a Decision. The zero Step is none of them.
const (
	// StepFirstFactor: establish who the user is (password, upstream IdP).
	StepFirstFactor Step = iota + 1
	// StepMethod: run Decision.Method, offering Decision.Others as
	// "use another method".
	StepMethod
	// StepDone: the login is complete; issue a token from Decision.Result.
	StepDone
	// StepError: end the request with Decision.Err.
	StepError
)

// String returns the step's name for logs.
func (s Step) String() string {
	switch s {
	case StepFirstFactor:
		return "first-factor"
	case StepMethod:
		return "method"
	case StepDone:
		return "done"
	case StepError:
		return "error"
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// Decision is the outcome of Decide. Only the fields its Step names are set,
// plus Target and Locked where they apply.
type Decision struct {
	Step Step
	// Method is, for StepMethod, the method to show first.
	Method string
	// Others are, for StepMethod, the other eligible methods in the order
	// to offer them under "use another method".
	Others []string
	// Locked are the methods that would be eligible for the levels tried
	// but are locked out, in offer order, for a message saying when they
	// lift. Set with StepMethod, StepDone and StepError alike.
	Locked []LockedMethod
	// Result is, for StepDone, what the token says.
	Result Result
	// Err is, for StepError, ErrUnmetAuthenticationRequirements,
	// ErrLoginRequired (a *HigherLevelRequiredError when a first factor
	// counts), ErrInvalidPolicy or ErrRequestStartMissing, wrapped with a
	// reason for the logs.
	Err error
	// Target is the Name of the level aimed for, for the page and the logs.
	// Before the first factor it is the first level asked for that the
	// policy knows (the lowest level when none); it may drop once the
	// user's methods are known.
	Target string
}

// Result is what an ID or access token says about the authentication.
type Result struct {
	// ACR is the token's acr: the exact name the request used for the
	// level it got, or the canonical name of the level reached when the
	// request asked for none (or, voluntarily, for none it could get).
	ACR string
	// Level is the Name of the highest level the counted factors reach. It
	// can be above ACR's level when the request asked for a lower one.
	Level string
	// AMR is every amr value of the counted factors, in order of first
	// appearance, without repeats, plus "mfa" when factors of two or more
	// methods were counted.
	AMR []string
	// AuthTime is the Time of the most recent counted factor.
	AuthTime time.Time
}

// Decide returns the next step of a login.
//
// session holds the factors the browser session has completed; those that
// the request's max_age or prompt=login make too old do not count (see
// ValidFactors). methods are the user's methods; pass nil while the user is
// not known yet.
//
// Until a first factor counts, the answer is StepFirstFactor (or
// ErrLoginRequired with prompt=none) and never ErrUnmetAuthenticationRequirements:
// the user's methods cannot be judged before the user is known, and whether
// an essential acr can be met is not revealed before authentication. The
// one exception is an essential acr none of whose names the policy knows,
// which no login could meet: it fails at once. With a first factor, the
// requested names are tried in order, and the first one that the counted
// factors reach, or that an eligible method can still reach, is the target.
//
// With prompt=none, any request that would need the user (a first factor or
// a second one) ends in ErrLoginRequired, the OIDC error for "authentication
// is needed"; a voluntary acr is not silently lowered in that case.
func Decide(p Policy, r Request, session []Factor, methods []Method, now time.Time) Decision {
	if err := p.Validate(); err != nil {
		return Decision{Step: StepError, Err: err}
	}
	if r.Started.IsZero() && (r.PromptLogin || (r.MaxAge != nil && *r.MaxAge <= 0)) {
		return Decision{Step: StepError, Err: fmt.Errorf("%w: prompt=login or max_age=0 without a start time", ErrRequestStartMissing)}
	}

	type asked struct {
		acr   string
		level int
	}
	var wanted []asked
	for _, acr := range r.ACRValues {
		if i := p.indexOfACR(acr); i >= 0 {
			wanted = append(wanted, asked{acr, i})
		}
	}
	if r.Essential && len(r.ACRValues) > 0 && len(wanted) == 0 {
		return Decision{Step: StepError, Err: fmt.Errorf("%w: essential acr %q names no configured level", ErrUnmetAuthenticationRequirements, r.ACRValues)}
	}

	valid := ValidFactors(r, session, now)
	reached := p.reachedIndex(valid)

	if reached < 0 {
		target := 0
		if len(wanted) > 0 {
			target = wanted[0].level
		}
		d := Decision{Step: StepFirstFactor, Target: p.Levels[target].Name}
		if r.PromptNone {
			d.Step, d.Err = StepError, fmt.Errorf("%w: prompt=none and no valid first factor", ErrLoginRequired)
		}
		return d
	}

	done := func(acr string, target int, locked []LockedMethod) Decision {
		res := p.result(valid, reached)
		res.ACR = acr
		return Decision{Step: StepDone, Result: res, Target: p.Levels[target].Name, Locked: locked}
	}
	if len(wanted) == 0 {
		return done(p.Levels[reached].Canonical(), 0, nil)
	}

	var lockedSeen []LockedMethod
	for _, w := range wanted {
		if reached >= w.level {
			return done(w.acr, w.level, nil)
		}
		target := p.Levels[w.level]
		eligible, locked := Eligible(p, target.Name, methods, now)
		if len(eligible) == 0 {
			for _, l := range locked {
				if !slices.ContainsFunc(lockedSeen, func(s LockedMethod) bool { return s.Name == l.Name }) {
					lockedSeen = append(lockedSeen, l)
				}
			}
			continue
		}
		if r.PromptNone {
			return Decision{Step: StepError, Target: target.Name, Locked: locked,
				Err: &HigherLevelRequiredError{ACR: w.acr}}
		}
		d := Decision{Step: StepMethod, Target: target.Name, Locked: locked, Method: eligible[0].Name}
		for _, m := range eligible[1:] {
			d.Others = append(d.Others, m.Name)
		}
		return d
	}

	if r.Essential {
		return Decision{Step: StepError, Target: p.Levels[wanted[0].level].Name, Locked: lockedSeen,
			Err: fmt.Errorf("%w: essential acr %q: no eligible method (reached %s)", ErrUnmetAuthenticationRequirements, r.ACRValues, p.Levels[reached].Name)}
	}
	return done(p.Levels[reached].Canonical(), reached, lockedSeen)
}

// ValidFactors returns the factors of session that count for request r at
// now, in their order. With r.MaxAge set, a factor counts when its Time is
// no earlier than MaxAge before r.Started (before now when Started is
// zero); a factor of this request (Time at or after Started) therefore
// always counts. With r.PromptLogin or a MaxAge of zero or less, only the
// factors of this request count; should Started be zero then, none does.
func ValidFactors(r Request, session []Factor, now time.Time) []Factor {
	ref := r.Started
	if ref.IsZero() {
		ref = now
	}
	var cutoff time.Time
	if r.MaxAge != nil {
		cutoff = ref.Add(-max(*r.MaxAge, 0))
	}
	if r.PromptLogin && ref.After(cutoff) {
		cutoff = ref
	}
	filter := r.MaxAge != nil || r.PromptLogin
	var valid []Factor
	for _, f := range session {
		if !filter || !f.Time.Before(cutoff) {
			valid = append(valid, f)
		}
	}
	return valid
}

// Eligible returns the methods that can take the user to level (a level
// Name) now, in offer order, and the ones that could but are locked out.
//
// A method is eligible when it is enrolled (or a bypass), enabled, healthy,
// not locked at now, and declares level or a higher one. The order is:
// bypass methods first, then by Priority, highest first, then the user's
// Preferred one, then by Name.
// Locked lists, in the same order, the methods that miss only by a lockout.
func Eligible(p Policy, level string, methods []Method, now time.Time) (eligible []Method, locked []LockedMethod) {
	want := p.indexOfLevel(level)
	if want < 0 {
		return nil, nil
	}
	var candidates []Method
	for _, m := range methods {
		if (m.Enrolled || m.Bypass) && m.Enabled && m.Healthy && p.highest(m.Levels) >= want {
			candidates = append(candidates, m)
		}
	}
	slices.SortStableFunc(candidates, func(a, b Method) int {
		if a.Bypass != b.Bypass {
			if a.Bypass {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
			return c
		}
		if a.Preferred != b.Preferred {
			if a.Preferred {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
	for _, m := range candidates {
		if m.LockedUntil.After(now) {
			locked = append(locked, LockedMethod{Name: m.Name, Until: m.LockedUntil})
			continue
		}
		eligible = append(eligible, m)
	}
	return eligible, locked
}

// Reached returns the Name of the highest level factors reach, all of them
// counted, or "" when none is a first factor.
func Reached(p Policy, factors []Factor) string {
	if i := p.reachedIndex(factors); i >= 0 {
		return p.Levels[i].Name
	}
	return ""
}

// ResultOf returns the Result of factors, all of them counted, for when
// there is no request to weigh them against: the level reached, with its
// canonical acr name, and the amr and auth_time rules of Result. With no
// first factor, ACR and Level are empty.
//
// A refresh must repeat the acr, amr and auth_time of the authentication it
// continues: keep the Result of the original Decision with the grant, or
// call ResultOf with exactly the factors that Decision counted. ResultOf
// cannot know which name the original request used for the level.
func ResultOf(p Policy, factors []Factor) Result {
	reached := p.reachedIndex(factors)
	res := p.result(factors, reached)
	if reached >= 0 {
		res.ACR = p.Levels[reached].Canonical()
	}
	return res
}

// reachedIndex is the index of the highest level factors reach, or -1.
func (p Policy) reachedIndex(factors []Factor) int {
	if len(p.Levels) == 0 || !slices.ContainsFunc(factors, func(f Factor) bool { return f.First }) {
		return -1
	}
	top := 0
	for _, f := range factors {
		if !f.First || f.Both {
			top = max(top, p.highest(f.Levels))
		}
	}
	return top
}

func (p Policy) result(factors []Factor, reached int) Result {
	var res Result
	if reached >= 0 {
		res.Level = p.Levels[reached].Name
	}
	var methods []string
	both := false
	for _, f := range factors {
		both = both || (f.First && f.Both)
		for _, a := range f.AMR {
			if !slices.Contains(res.AMR, a) {
				res.AMR = append(res.AMR, a)
			}
		}
		if !slices.Contains(methods, f.Method) {
			methods = append(methods, f.Method)
		}
		if f.Time.After(res.AuthTime) {
			res.AuthTime = f.Time
		}
	}
	if (len(methods) >= 2 || both) && !slices.Contains(res.AMR, "mfa") {
		res.AMR = append(res.AMR, "mfa")
	}
	return res
}
