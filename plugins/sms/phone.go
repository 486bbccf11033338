package sms

import (
	"strings"
	"unicode"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Bounds of an E.164 number: the digits after the "+", country code
// included.
const (
	MinDigits = 8
	MaxDigits = 15
)

// phoneExample is the number every message about a malformed one shows.
const phoneExample = "+44 7700 900123"

// What the enrolment form says of a number it cannot take.
const (
	msgPhoneEmpty    = "Enter your mobile number in international format, for example " + phoneExample + "."
	msgPhoneNoPlus   = "Enter your mobile number in international format: a + and the country code first, for example " + phoneExample + "."
	msgPhoneChars    = "A mobile number has only digits after the + (spaces, dashes and brackets are fine), for example " + phoneExample + "."
	msgPhoneZero     = "A country code never starts with 0: enter the + and the country code, then the number without its leading 0, for example " + phoneExample + "."
	msgPhoneShort    = "That number is too short: an international mobile number has 8 to 15 digits after the +, for example " + phoneExample + "."
	msgPhoneLong     = "That number is too long: an international mobile number has 8 to 15 digits after the +, for example " + phoneExample + "."
	maxPhoneInputLen = 64
)

// ParsePhone returns the mobile number s in E.164 ("+447700900123"): a
// "+", then 8 to 15 digits, the first not 0. The spaces, dashes, dots and
// brackets people type to group digits are dropped, and so is the
// national "(0)" written after a country code ("+44 (0)7700 900123").
// Anything else is an
// *sdk.InputError whose message says what is wrong, with an example; it
// never quotes s.
func ParsePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxPhoneInputLen {
		return "", sdk.InvalidInput(msgPhoneLong)
	}
	if strings.HasPrefix(s, "+") {
		s = strings.ReplaceAll(s, "(0)", "")
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == '-', r == '(', r == ')', r == '.', r == '\u2010', r == '\u2011', r == '\u2013':
		default:
			b.WriteRune(r)
		}
	}
	n := b.String()
	switch {
	case n == "":
		return "", sdk.InvalidInput(msgPhoneEmpty)
	case strings.Trim(n, "0123456789") == "":
		return "", sdk.InvalidInput(msgPhoneNoPlus)
	case n[0] != '+':
		if strings.Trim(n, "+0123456789") == "" {
			return "", sdk.InvalidInput(msgPhoneNoPlus)
		}
		return "", sdk.InvalidInput(msgPhoneChars)
	}
	digits := n[1:]
	switch {
	case digits == "" || strings.Trim(digits, "0123456789") != "":
		return "", sdk.InvalidInput(msgPhoneChars)
	case digits[0] == '0':
		return "", sdk.InvalidInput(msgPhoneZero)
	case len(digits) < MinDigits:
		return "", sdk.InvalidInput(msgPhoneShort)
	case len(digits) > MaxDigits:
		return "", sdk.InvalidInput(msgPhoneLong)
	}
	return n, nil
}

// MaskPhone shows an E.164 number with all but its last two digits as
// bullets, grouped as people read numbers: "+447700900123" is
// "+•• ••• ••• ••23". It is what pages, labels and messages about the
// number show; the full number appears nowhere but in the text message's
// recipient.
func MaskPhone(e164 string) string {
	digits := strings.TrimPrefix(e164, "+")
	n := len(digits)
	if n < 2 {
		return "+••"
	}
	// Groups from the right: the last four, then threes.
	var groups []string
	end := n
	for size := 4; end > 0; size = 3 {
		start := max(end-size, 0)
		var g strings.Builder
		for i := start; i < end; i++ {
			if i < n-2 {
				g.WriteString("•")
			} else {
				g.WriteByte(digits[i])
			}
		}
		groups = append([]string{g.String()}, groups...)
		end = start
	}
	return "+" + strings.Join(groups, " ")
}
