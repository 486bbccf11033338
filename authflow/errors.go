package authflow

import (
	"errors"
	"fmt"
)

// Sentinel errors carried by a Decision with StepError, always wrapped with
// %w and a reason for the logs. Compare them with errors.Is.
var (
	// ErrUnmetAuthenticationRequirements: an essential acr cannot be met.
	// The provider answers the OIDC error unmet_authentication_requirements.
	ErrUnmetAuthenticationRequirements = errors.New("authflow: unmet authentication requirements")

	// ErrLoginRequired: prompt=none, but the request needs the user to
	// authenticate (a first factor or a second one). The provider answers
	// the OIDC error login_required. When the session has a first factor
	// but not the level asked for, the error is a *HigherLevelRequiredError
	// that says which.
	ErrLoginRequired = errors.New("authflow: login required")

	// ErrInvalidPolicy: the Policy is unusable (no levels, a level without
	// a name, a name used twice). A configuration mistake: the provider
	// should reject it at start with Policy.Validate and, should it reach
	// Decide anyway, answer server_error.
	ErrInvalidPolicy = errors.New("authflow: invalid policy")

	// ErrRequestStartMissing: the request has prompt=login or max_age=0 but
	// no Started time, so authflow cannot tell the factors of this request
	// from older ones. A programming mistake; the provider answers
	// server_error.
	ErrRequestStartMissing = errors.New("authflow: request start time missing")
)

// HigherLevelRequiredError is the ErrLoginRequired of a prompt=none request
// whose session has a first factor, but not the level asked for: the user
// would have to complete a factor of ACR's level. errors.Is(err,
// ErrLoginRequired) holds.
type HigherLevelRequiredError struct {
	// ACR is the acr name asked for that the user could reach: the first
	// one, in the request's order, for which a method is eligible.
	ACR string
}

func (e *HigherLevelRequiredError) Error() string {
	return fmt.Sprintf("%v: prompt=none and acr %q needs a factor the session lacks", ErrLoginRequired, e.ACR)
}

// Unwrap returns ErrLoginRequired.
func (e *HigherLevelRequiredError) Unwrap() error { return ErrLoginRequired }
