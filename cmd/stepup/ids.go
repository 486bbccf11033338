package main

import (
	"crypto/rand"
	"encoding/base64"
)

func newUserID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
