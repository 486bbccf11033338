package sdk

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Signed challenge IDs let a method keep no state for a challenge: the ID
// carries its expiry and an HMAC under the method's key (a SharedKey) over
// what it was issued for, so any replica can check it. The format is
// base64url(version | expiry (unix seconds) | nonce |
// HMAC-SHA-256(key, "stepup " purpose " challenge" 0 | each bound value 0 |
// the preceding bytes)[:16]).
const (
	challengeVersion = 1
	challengeBody    = 1 + 8 + 8
	challengeLen     = challengeBody + 16
)

// NewChallengeID returns a challenge ID that expires at expires and is
// bound to the values given (the user's ID, say). purpose names the method,
// so that two methods sharing a key cannot take each other's IDs.
func NewChallengeID(key []byte, purpose string, expires time.Time, bound ...string) (string, error) {
	b := make([]byte, challengeBody, challengeLen)
	b[0] = challengeVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(expires.Unix()))
	if _, err := rand.Read(b[9:17]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append(b, challengeMAC(key, purpose, bound, b)...)), nil
}

// CheckChallengeID reports whether id came from NewChallengeID with the
// same key, purpose and bound values and has not expired at now. A
// malformed ID costs the same work as a real one, so the time taken does
// not tell which check failed.
func CheckChallengeID(key []byte, purpose, id string, now time.Time, bound ...string) bool {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) != challengeLen || b[0] != challengeVersion {
		b = make([]byte, challengeLen)
	}
	macOK := hmac.Equal(challengeMAC(key, purpose, bound, b[:challengeBody]), b[challengeBody:])
	expires := time.Unix(int64(binary.BigEndian.Uint64(b[1:9])), 0)
	return macOK && b[0] == challengeVersion && now.Before(expires)
}

func challengeMAC(key []byte, purpose string, bound []string, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("stepup " + purpose + " challenge\x00"))
	for _, v := range bound {
		mac.Write([]byte(v))
		mac.Write([]byte{0})
	}
	mac.Write(body)
	return mac.Sum(nil)[:16]
}
