package upstream

import (
	"context"
	"errors"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// ErrNotLinked: no local user is linked to a hint's account, and creating
// one is not allowed (upstream.create_users_from_hint).
var ErrNotLinked = errors.New("no local user is linked to the hint's account")

// HintUser returns the local user linked to the account an external-MFA
// hint of issuer names. With upstream.create_users_from_hint, an account
// no one is linked to gets a new user as a first sign-in at the upstream
// does (create: named by username_claim, refused as an *Error when the
// name is missing, fails the rule or is taken), with no password and no
// method; else ErrNotLinked.
func (a *Accounts) HintUser(ctx context.Context, issuer string, hint Hint, clientID string) (storage.User, error) {
	u, err := a.Store.GetUserByUpstream(ctx, issuer, hint.Link)
	if err == nil || !errors.Is(err, storage.ErrNotFound) {
		return u, err
	}
	if !a.Config.CreateUsersFromHint {
		return storage.User{}, ErrNotLinked
	}
	return a.create(ctx, Identity{Issuer: issuer, Subject: hint.Link, Claims: hint.Claims}, clientID, "id_token_hint")
}
