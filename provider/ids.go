package provider

import (
	"crypto/rand"
	"encoding/base64"
)

// newID returns n random bytes, URL-safe base64: IDs and opaque tokens.
func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
