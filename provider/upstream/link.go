package upstream

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
)

// Why a hint's account has no local user (HintUser).
var (
	// ErrNotLinked: no local user is linked to it, and creating one is
	// not allowed (upstream.create_users_from_hint).
	ErrNotLinked = errors.New("no local user is linked to the hint's account")
	// ErrNameTaken: a local user already has the name a new user would
	// get; the two are never merged silently.
	ErrNameTaken = errors.New("the hint's username belongs to another local user")
	// ErrBadName: the hint carries no name the username rule accepts.
	ErrBadName = errors.New("the hint's username is not a valid local username")
)

// HintUser returns the local user linked to the account hint names at
// the upstream issuer. With create, an account no one is linked to gets
// a new active user of its own, named by the hint's preferred_username
// (the username rule's form of it), with no password and no method; its
// creation and its audit event, filled by complete (audit.Log.Complete),
// are one write. created says it was made.
func HintUser(ctx context.Context, store storage.Store, issuer string, hint Hint, create bool, now time.Time,
	complete func(...storage.Event) []storage.Event) (u storage.User, created bool, err error) {
	u, err = store.GetUserByUpstream(ctx, issuer, hint.Link)
	if err == nil || !errors.Is(err, storage.ErrNotFound) {
		return u, false, err
	}
	if !create {
		return storage.User{}, false, ErrNotLinked
	}
	name, err := username.Normalize(hint.Username)
	if err != nil {
		return storage.User{}, false, fmt.Errorf("%w: %v", ErrBadName, err)
	}
	switch _, err := store.GetUserByUsername(ctx, name); {
	case err == nil:
		return storage.User{}, false, ErrNameTaken
	case !errors.Is(err, storage.ErrNotFound):
		return storage.User{}, false, err
	}
	u = storage.User{ID: newUserID(), Username: name, Active: true, UpstreamIssuer: issuer, UpstreamSub: hint.Link,
		CreatedAt: now, UpdatedAt: now}
	ev := complete(storage.Event{Time: now, Type: "user.created", Actor: "upstream", UserID: u.ID, Outcome: "success",
		Details: map[string]string{"via": "id_token_hint", "issuer": issuer}})
	if err := store.CreateUser(ctx, u, ev...); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			// Another request created it (or took the name) meanwhile.
			if again, err := store.GetUserByUpstream(ctx, issuer, hint.Link); err == nil {
				return again, false, nil
			}
			return storage.User{}, false, ErrNameTaken
		}
		return storage.User{}, false, err
	}
	return u, true, nil
}

func newUserID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
