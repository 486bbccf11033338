package sdk

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Helpers every method needs; a plugin may use them or not.

// GetJSON reads key from st into v and returns its version.
func GetJSON(ctx context.Context, st Storage, key string, v any) (int64, error) {
	raw, version, err := st.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return version, nil
}

// PutJSON stores v under key with Storage.Put's compare-and-swap rules.
func PutJSON(ctx context.Context, st Storage, key string, v any, expectVersion int64, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = st.Put(ctx, key, raw, expectVersion, ttl)
	return err
}

// PutJSONOnCommit is PutOnCommit of v as JSON.
func PutJSONOnCommit(ctx context.Context, st Storage, key string, v any, expectVersion int64, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return PutOnCommit(ctx, st, key, raw, expectVersion, ttl)
}

// OneCredential is what ListOneCredential and RemoveOneCredential read of
// a method's record of a user's single credential: a JSON object with
// these members (and any others the method keeps).
type OneCredential struct {
	CredentialID string    `json:"credential_id"`
	Label        string    `json:"label"`
	CreatedAt    time.Time `json:"created_at"`
}

// ListOneCredential implements Method.ListCredentials for a method that
// keeps at most one credential per user, as a OneCredential record under
// key: none or one.
func ListOneCredential(ctx context.Context, st Storage, key string) ([]Credential, error) {
	var c OneCredential
	if _, err := GetJSON(ctx, st, key, &c); err != nil {
		if errors.Is(err, ErrNotFound) {
			return []Credential{}, nil
		}
		return nil, err
	}
	return []Credential{{ID: c.CredentialID, Label: c.Label, CreatedAt: c.CreatedAt}}, nil
}

// RemoveOneCredential implements Method.Remove for the same kind of
// method: it deletes the record under key if it holds credentialID
// (compared in constant time), else ErrNotFound.
func RemoveOneCredential(ctx context.Context, st Storage, key, credentialID string) error {
	for range 8 {
		var c OneCredential
		version, err := GetJSON(ctx, st, key, &c)
		if err != nil {
			return err // ErrNotFound included: removed already
		}
		if subtle.ConstantTimeCompare([]byte(c.CredentialID), []byte(credentialID)) != 1 {
			return ErrNotFound
		}
		err = DeleteOnCommit(ctx, st, key, version)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		// A concurrent removal (a double submit) or a verification changed
		// the record: look again, so that the loser hears ErrNotFound.
	}
	return fmt.Errorf("%w: the credential keeps changing", ErrUnavailable)
}

// RenameOneCredential implements Renamer for a method that keeps one
// credential per user as a OneCredential record under key: it sets the
// record's label if it holds credentialID (compared in constant time),
// else ErrNotFound, keeping the method's other members as they are.
func RenameOneCredential(ctx context.Context, st Storage, key, credentialID, label string) error {
	for range 8 {
		var rec map[string]json.RawMessage
		version, err := GetJSON(ctx, st, key, &rec)
		if err != nil {
			return err
		}
		var id string
		if json.Unmarshal(rec["credential_id"], &id) != nil || subtle.ConstantTimeCompare([]byte(id), []byte(credentialID)) != 1 {
			return ErrNotFound
		}
		rec["label"], _ = json.Marshal(label)
		err = PutJSON(ctx, st, key, rec, version, 0)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		// A verification moved the record on (its last step): read again.
	}
	return fmt.Errorf("%w: the credential keeps changing", ErrUnavailable)
}

// SaveOneCredential ends a confirmed enrolment of a method that keeps one
// credential per user: it stores v (a OneCredential record, with the
// method's own members) under key unless the user has one already
// (ErrAlreadyEnrolled), then deletes the enrolment's pending record at
// pendingKey, if it still has pendingVersion. The credential is the
// call's committing write (PutOnCommit): a committing host stores it with
// its audit event, and the pending record is then left to expire (a
// second confirmation of it finds the credential and is refused).
func SaveOneCredential(ctx context.Context, st Storage, key string, v any, pendingKey string, pendingVersion int64) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if Committing(st) {
		if _, _, err := st.Get(ctx, key); err == nil {
			return ErrAlreadyEnrolled
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return PutOnCommit(ctx, st, key, raw, MustNotExist, 0)
	}
	if _, err := st.Put(ctx, key, raw, MustNotExist, 0); err != nil {
		if errors.Is(err, ErrConflict) {
			return ErrAlreadyEnrolled
		}
		return err
	}
	_ = st.Delete(ctx, pendingKey, pendingVersion) // it expires anyway
	return nil
}

// MaxLabelLen is how many characters a credential's name may have.
const MaxLabelLen = 100

// CredentialLabel is the name a user gave a credential, trimmed, or
// fallback when there is none; an InputError when it is longer than
// MaxLabelLen characters.
func CredentialLabel(label, fallback string) (string, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		return fallback, nil
	}
	if utf8.RuneCountInString(label) > MaxLabelLen {
		return "", InvalidInput("The name is longer than %d characters.", MaxLabelLen)
	}
	return label, nil
}

// RandomID returns 128 random bits, URL-safe base64.
func RandomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ValidID reports whether s can be a user or credential ID in a storage
// key: non-empty, at most 256 bytes of UTF-8, no NUL.
func ValidID(s string) bool {
	return s != "" && len(s) <= 256 && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// CheckLimit counts one attempt for key and returns RateLimited when more
// than limit fell in window.
func CheckLimit(ctx context.Context, h Host, key string, window time.Duration, limit int) error {
	r, err := h.RateLimit().Count(ctx, key, window, limit)
	if err != nil {
		return err
	}
	if !r.Allowed {
		return RateLimited(r.RetryAfter)
	}
	return nil
}

// SharedKey is a random 32-byte secret kept in the method's storage under
// Name (so encrypted at rest by the host) and shared by every replica:
// for HMACs of codes and signed challenge IDs. The zero value with a Name
// is ready; it caches the key after the first Get.
type SharedKey struct {
	Name string

	mu  sync.Mutex
	key []byte
}

// Get returns the key, creating it on first use; of replicas racing to
// create it, every one ends up with the same.
func (k *SharedKey) Get(ctx context.Context, st Storage) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	for range 3 {
		key, _, err := st.Get(ctx, k.Name)
		if err == nil && len(key) == 32 {
			k.key = key
			return key, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		_, err = st.Put(ctx, k.Name, key, MustNotExist, 0)
		if err == nil {
			k.key = key
			return key, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: key %s keeps changing", ErrUnavailable, k.Name)
}
