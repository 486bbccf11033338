package admin

import (
	"context"
	"fmt"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
)

// FillSkeletons gives the users stored before usernames had their
// look-alike form (storage.User.Skeleton) theirs, so that a new name is
// checked against them too, and returns how many it filled. Run where
// the store is opened; a store whose users all have one reads them once
// and writes nothing.
func FillSkeletons(ctx context.Context, store storage.Store) (int, error) {
	users, err := store.ListUsers(ctx)
	if err != nil {
		return 0, err
	}
	filled := 0
	for _, u := range users {
		if u.Skeleton != "" {
			continue
		}
		_, err := store.UpdateUser(ctx, u.ID, func(cur storage.User) (storage.User, error) {
			cur.Skeleton = username.Skeleton(cur.Username)
			return cur, nil
		})
		if err != nil {
			return filled, fmt.Errorf("username skeleton of user %s: %w", u.ID, err)
		}
		filled++
	}
	return filled, nil
}
