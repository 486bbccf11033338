package sdk

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestChallengeID(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	id, err := NewChallengeID(key, "totp", now.Add(5*time.Minute), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckChallengeID(key, "totp", id, now, "u1") {
		t.Fatal("a fresh ID does not check")
	}
	if other, _ := NewChallengeID(key, "totp", now.Add(5*time.Minute), "u1"); other == id {
		t.Fatal("two IDs for the same user are equal: no nonce")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(id)
	raw[len(raw)-1] ^= 1
	tampered := base64.RawURLEncoding.EncodeToString(raw)
	for name, ok := range map[string]bool{
		"expired":         CheckChallengeID(key, "totp", id, now.Add(5*time.Minute), "u1"),
		"another user":    CheckChallengeID(key, "totp", id, now, "u2"),
		"another purpose": CheckChallengeID(key, "pin", id, now, "u1"),
		"more bound":      CheckChallengeID(key, "totp", id, now, "u1", "c1"),
		"another key":     CheckChallengeID([]byte("another key of thirty-two bytes!"), "totp", id, now, "u1"),
		"tampered":        CheckChallengeID(key, "totp", tampered, now, "u1"),
		"not base64":      CheckChallengeID(key, "totp", "%%%", now, "u1"),
		"too short":       CheckChallengeID(key, "totp", "AQID", now, "u1"),
		"empty":           CheckChallengeID(key, "totp", "", now, "u1"),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
	// Bound values are separated: ("ab", "c") is not ("a", "bc").
	split, _ := NewChallengeID(key, "tempcode", now.Add(time.Minute), "ab", "c")
	if CheckChallengeID(key, "tempcode", split, now, "a", "bc") {
		t.Error("bound values run together")
	}
}
