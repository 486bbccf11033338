package sms

import (
	"regexp"
	"testing"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// FuzzParsePhone: any typed number is refused or comes out in E.164.
func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"+44 7700 900123", "(555) 010-0188", "12", "abc", "+0123456789", "\xff", "+1 (555) 0100-188"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		n, err := ParsePhone(typed)
		if err != nil {
			return
		}
		if !e164.MatchString(n) {
			t.Fatalf("ParsePhone(%q) = %q, not E.164", typed, n)
		}
	})
}
