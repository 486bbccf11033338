package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
)

// FillSkeletons gives the users stored before usernames had their
// look-alike form (storage.User.Skeleton) theirs, so that a new name is
// checked against them too, and returns how many it filled. Run where
// the store is opened: they are found by the same index (an empty
// skeleton), so a store whose users all have one costs one lookup.
func FillSkeletons(ctx context.Context, store storage.Store) (int, error) {
	filled := 0
	for {
		name, err := store.LookAlike(ctx, "", "")
		if errors.Is(err, storage.ErrNotFound) {
			return filled, nil
		}
		if err != nil {
			return filled, err
		}
		u, err := store.GetUserByUsername(ctx, name)
		if err != nil {
			return filled, err
		}
		_, err = store.UpdateUser(ctx, u.ID, func(cur storage.User) (storage.User, error) {
			if cur.Skeleton = username.Skeleton(cur.Username); cur.Skeleton == "" {
				return cur, fmt.Errorf("username %q has no skeleton", cur.Username) // else found again, forever
			}
			return cur, nil
		})
		if err != nil {
			return filled, fmt.Errorf("username skeleton of user %s: %w", u.ID, err)
		}
		filled++
	}
}
