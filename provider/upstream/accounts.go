package upstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/provider/audit"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
)

// Accounts links upstream identities to local users.
type Accounts struct {
	Config config.Upstream
	Store  storage.Store
	Audit  *audit.Log
	Now    func() time.Time
}

// SignIn returns the local user linked to id by its issuer and subject,
// creating it on the first sign-in, named by the username_claim as the
// username rule normalises it. A name that fails the rule, or that a
// local user has (or looks like), is refused: never a silent merge with
// an account someone else may own, never a raw name stored. The linked
// user's email and name follow the upstream's on each sign-in.
func (a *Accounts) SignIn(ctx context.Context, id Identity, clientID string) (storage.User, error) {
	u, err := a.Store.GetUserByUpstream(ctx, id.Issuer, id.Subject)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return a.create(ctx, id, clientID, "upstream")
	case err != nil:
		return storage.User{}, err
	case !u.Active:
		return storage.User{}, &Error{Kind: Inactive, Err: fmt.Errorf("user %s is deactivated", u.ID)}
	}
	// The upstream's email and name follow it; a claim it no longer sends
	// keeps what was known.
	email, name := cmp.Or(claimString(id.Claims, "email"), u.Email), cmp.Or(claimString(id.Claims, "name"), u.Name)
	if email != u.Email || name != u.Name {
		u, err = a.Store.UpdateUser(ctx, u.ID, func(cur storage.User) (storage.User, error) {
			cur.Email, cur.Name, cur.UpdatedAt = email, name, a.Now()
			return cur, nil
		})
		if err != nil {
			return storage.User{}, err
		}
	}
	return u, nil
}

// create makes the local user of id on its first use, via the way it
// came ("upstream": a sign-in there; "id_token_hint": an external-MFA
// hint), with its audit event in the same write.
func (a *Accounts) create(ctx context.Context, id Identity, clientID, via string) (storage.User, error) {
	claim := a.Config.NameClaim()
	raw := claimString(id.Claims, claim)
	if raw == "" {
		return storage.User{}, &Error{Kind: UsernameMissing, Err: fmt.Errorf("no %s claim", claim),
			Detail: fmt.Sprintf("The identity provider sent no %s, which names your account here.", claim)}
	}
	name, err := username.Normalize(raw)
	if err != nil {
		return storage.User{}, &Error{Kind: UsernameInvalid, Err: err,
			Detail: fmt.Sprintf("The name your identity provider gives you (%s) cannot be a username here: %v.", claim, err)}
	}
	skeleton := username.Skeleton(name)
	if err := a.notTaken(ctx, name, skeleton); err != nil {
		return storage.User{}, err
	}
	now := a.Now()
	u := storage.User{ID: storage.NewUserID(), Username: name, Skeleton: skeleton, Email: claimString(id.Claims, "email"),
		Name: claimString(id.Claims, "name"), Active: true, UpstreamIssuer: id.Issuer, UpstreamSub: id.Subject, CreatedAt: now, UpdatedAt: now}
	ev := a.Audit.Complete(ctx, storage.Event{Type: "user.created", UserID: u.ID, Actor: "upstream:" + id.Issuer, ClientID: clientID,
		Outcome: "success", Details: map[string]string{"username": name, "upstream": id.Issuer, "via": via}})
	err = a.Store.CreateUser(ctx, u, ev...)
	if errors.Is(err, storage.ErrAlreadyExists) {
		// Two first sign-ins of one user at once: the other one linked it.
		if linked, lerr := a.Store.GetUserByUpstream(ctx, id.Issuer, id.Subject); lerr == nil && linked.Active {
			return linked, nil
		}
		return storage.User{}, &Error{Kind: UsernameTaken, Err: err, Detail: takenDetail(name)}
	}
	if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// notTaken refuses a new user's name that an existing user has, or one
// that looks like an existing name (an equal username.Skeleton, as the
// admin service): an upstream account must not pass for a local one.
func (a *Accounts) notTaken(ctx context.Context, name, skeleton string) error {
	other, err := a.Store.LookAlike(ctx, skeleton, "")
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	return &Error{Kind: UsernameTaken, Err: fmt.Errorf("username %q is taken or looks like %q", name, other), Detail: takenDetail(name)}
}

func takenDetail(name string) string {
	return fmt.Sprintf("The username %s already belongs to an account here that is not linked to your identity provider's account. Ask the help desk to link them; stepup does not merge accounts by name.", name)
}

func claimString(claims map[string]any, key string) string {
	s, _ := claims[key].(string)
	return strings.TrimSpace(s)
}

// AMR is what the upstream factor contributes to amr: the upstream's own
// values, or fed when it sent none.
func AMR(id Identity) []string {
	if len(id.AMR) == 0 {
		return []string{"fed"}
	}
	return slices.Clone(id.AMR)
}

// TrustedSecond reports whether the upstream already did a second factor
// by the configuration: one of its amr values is in trusted_amr.
func TrustedSecond(cfg config.Upstream, id Identity) bool {
	return slices.ContainsFunc(id.AMR, func(v string) bool { return slices.Contains(cfg.TrustedAMR, v) })
}
