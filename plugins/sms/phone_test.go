package sms

import (
	"errors"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

func TestParsePhone(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"+447700900123", "+447700900123"},
		{"+44 7700 900123", "+447700900123"},
		{" +44 (0)7700-900-123 ", "+447700900123"},
		{"+1 (555) 010-0123", "+15550100123"},
		{"+49.151.2345.6789", "+4915123456789"},
		{"+33\u00a06\u00a012\u00a034\u00a056\u00a078", "+33612345678"},
		{"+12345678", "+12345678"},               // 8 digits
		{"+123456789012345", "+123456789012345"}, // 15 digits
	} {
		got, err := ParsePhone(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParsePhoneRefuses(t *testing.T) {
	for _, tc := range []struct {
		in, says string
	}{
		{"", "Enter your mobile number"},
		{"   ", "Enter your mobile number"},
		{"12", "a + and the country code first"},
		{"07700 900123", "a + and the country code first"},
		{"0044 7700 900123", "a + and the country code first"},
		{"letters", "only digits after the +"},
		{"call me", "only digits after the +"},
		{"+44 7700 9OO123", "only digits after the +"}, // letter O
		{"+44 7700 900123 ext 4", "only digits after the +"},
		{"+", "only digits after the +"},
		{"++447700900123", "only digits after the +"},
		{"+44+7700900123", "only digits after the +"},
		{"+０４４７７００９００１２３", "only digits after the +"}, // full-width digits
		{"+12", "too short"},
		{"+1234567", "too short"},
		{"+1234567890123456", "too long"},
		{"+" + strings.Repeat("1", 100), "too long"},
		{"+0447700900123", "never starts with 0"},
	} {
		got, err := ParsePhone(tc.in)
		if !errors.Is(err, sdk.ErrInvalidInput) {
			t.Errorf("ParsePhone(%q) = %q, %v; want ErrInvalidInput", tc.in, got, err)
			continue
		}
		msg := sdk.UserMessage(err)
		if !strings.Contains(msg, tc.says) || !strings.Contains(msg, "for example +44 7700 900123") || !strings.HasSuffix(msg, ".") {
			t.Errorf("ParsePhone(%q): %q, want a sentence saying %q with the example", tc.in, msg, tc.says)
		}
		if len(tc.in) > 3 && strings.Contains(msg, strings.TrimSpace(tc.in)) {
			t.Errorf("ParsePhone(%q): the message %q quotes the input", tc.in, msg)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+447700900123":    "+•• ••• ••• ••23",
		"+12345678":        "+• ••• ••78",
		"+15550100123":     "+• ••• ••• ••23",
		"+123456789012345": "+•• ••• ••• ••• ••45",
		"+4915123456789":   "+••• ••• ••• ••89",
	} {
		got := MaskPhone(in)
		if got != want {
			t.Errorf("MaskPhone(%s) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(strings.TrimSuffix(got, in[len(in)-2:]), "0123456789") {
			t.Errorf("MaskPhone(%s) = %q shows more than the last two digits", in, got)
		}
	}
}
