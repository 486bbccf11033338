package provider

import (
	"context"
	"fmt"
	"net/http"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
)

// lookAlike refuses a new username that looks like an existing one (equal
// UTS #39 skeletons, e.g. a Cyrillic "соор" beside "coop"). The same name
// is left to the store, which refuses it atomically. Two look-alikes
// created at the same instant can both pass: the check is for mistakes and
// impersonation by those who may create users, not a uniqueness constraint.
func lookAlike(ctx context.Context, store storage.Store, name string) error {
	users, err := store.ListUsers(ctx)
	if err != nil {
		return err
	}
	skel := username.Skeleton(name)
	for _, u := range users {
		if u.Username != name && username.Skeleton(u.Username) == skel {
			return apiErr(http.StatusConflict, fmt.Sprintf("username %q looks like the existing user %q: choose a name that cannot be mistaken for it", name, u.Username))
		}
	}
	return nil
}
