package methods

import (
	"context"
	"errors"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// preferredNamespace keeps each user's preferred method (key: the user's
// ID; value: the method's name), in the provider's part of the store.
const preferredNamespace = "provider/preferred-method"

// Preferred returns the method the user chose as preferred on their
// account page, or "" when they chose none. The login offers it first
// among the methods of equal priority (authflow.Method.Preferred).
func Preferred(ctx context.Context, store storage.Store, userID string, now time.Time) (string, error) {
	e, err := store.KVGet(ctx, preferredNamespace, userID, now)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value), nil
}

// SetPreferred records the user's preferred method; the caller has
// checked that the user has it.
func SetPreferred(ctx context.Context, store storage.Store, userID, method string, now time.Time) error {
	_, err := store.KVPut(ctx, preferredNamespace, userID, []byte(method), -1, time.Time{}, now)
	return err
}
