package username

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/secure/bidirule"
	"golang.org/x/text/secure/precis"
)

// MaxLength is the most characters (code points, after normalisation) a
// username may have.
const MaxLength = 128

// Allowed says which usernames pass, for messages that refuse one.
const Allowed = "use letters, digits, '.', '-', '_' or '@', beginning with a letter or digit and ending with a letter or digit"

// ErrInvalid is wrapped by every error Normalize returns.
var ErrInvalid = errors.New("invalid username")

// invalid is a refusal whose text says what is wrong and what is allowed;
// errors.Is(err, ErrInvalid) holds for it.
type invalid struct{ msg string }

func (e *invalid) Error() string { return e.msg }
func (e *invalid) Unwrap() error { return ErrInvalid }

func refuse(format string, args ...any) error {
	return &invalid{msg: fmt.Sprintf(format, args...)}
}

// Normalize returns the form of s that stepup stores and compares: spaces
// (U+0020) around it are dropped, then RFC 8265's UsernameCaseMapped
// profile maps it (so "Alice" and "ＡＬＩＣＥ" are "alice") and the rule in
// the package documentation narrows it. Normalize(Normalize(s)) is
// Normalize(s). The error, wrapping ErrInvalid, says what is wrong and
// what is allowed, quoting no more of s than the offending character.
func Normalize(s string) (string, error) {
	s = strings.Trim(s, " ")
	if s == "" {
		return "", refuse("a username is required: %s", Allowed)
	}
	if !utf8.ValidString(s) {
		return "", refuse("the username is not valid UTF-8 text: %s", Allowed)
	}
	name, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		if r, ok := firstDisallowed(s); ok {
			return "", refuse("the username may not contain %s: %s", describe(r), Allowed)
		}
		if errors.Is(err, bidirule.ErrInvalid) {
			return "", refuse("the username mixes right-to-left and left-to-right text in a way that can display misleadingly: %s", Allowed)
		}
		return "", refuse("the username is not valid under RFC 8265 (%v): %s", err, Allowed)
	}
	if r, ok := firstDisallowed(name); ok {
		return "", refuse("the username may not contain %s: %s", describe(r), Allowed)
	}
	if n := utf8.RuneCountInString(name); n > MaxLength {
		return "", refuse("the username has %d characters; at most %d are allowed", n, MaxLength)
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if !isLetterOrDigit(first) || !(isLetterOrDigit(last) || isMark(last)) {
		return "", refuse("the username must begin with a letter or digit and end with a letter or digit, not with '.', '-', '_' or '@'")
	}
	if scripts := mixedScripts(name); scripts != nil {
		return "", refuse("the username mixes letters of the %s scripts, as look-alike names do: use letters of one script", strings.Join(scripts, " and "))
	}
	return name, nil
}

// Skeleton returns the confusable skeleton of Unicode UTS #39 §4 of a
// normalised name: two names with equal skeletons look alike ("coop" and
// a Cyrillic "соор", "modern" and "rnodern").
func Skeleton(name string) string { return confusables.Skeleton(name) }

// firstDisallowed returns the first character of s outside the allowed
// set, a combining mark with no letter before it, or a letter PRECIS
// refuses on its own (an invisible filler).
func firstDisallowed(s string) (rune, bool) {
	prevLetter := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			if _, err := precis.UsernameCaseMapped.String(string(r)); err != nil {
				return r, true
			}
			prevLetter = true
		case isMark(r) && prevLetter:
		case unicode.IsDigit(r), strings.ContainsRune(".-_@", r):
			prevLetter = false
		default:
			return r, true
		}
	}
	return 0, false
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func isMark(r rune) bool { return unicode.In(r, unicode.Mn, unicode.Mc) }

// describe names a character in a message without printing an invisible
// or control character as itself.
func describe(r rune) string {
	if unicode.IsGraphic(r) && !unicode.IsSpace(r) && !isMark(r) {
		return fmt.Sprintf("%q (U+%04X)", r, r)
	}
	if r == ' ' {
		return "a space"
	}
	return fmt.Sprintf("U+%04X (a space, control, invisible or combining character)", r)
}

// cjk are the script sets UTS #39 §5.2 lets one name mix ("highly
// restrictive"): Latin with Han and the scripts written beside it.
var cjk = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// mixedScripts returns the scripts of name, sorted, when they are more
// than a highly restrictive name may mix; nil otherwise. Common and
// Inherited characters (ASCII digits and punctuation, most combining
// marks) belong to every script.
func mixedScripts(name string) []string {
	var scripts []string
	for _, r := range name {
		if s := scriptOf(r); s != "" && !slices.Contains(scripts, s) {
			scripts = append(scripts, s)
		}
	}
	if len(scripts) < 2 {
		return nil
	}
	for _, set := range cjk {
		if !slices.ContainsFunc(scripts, func(s string) bool { return !slices.Contains(set, s) }) {
			return nil
		}
	}
	slices.Sort(scripts)
	return scripts
}

// scriptOf returns the Unicode script of r, or "" for Common, Inherited
// and unassigned characters.
func scriptOf(r rune) string {
	switch {
	case unicode.Is(unicode.Latin, r):
		return "Latin"
	case unicode.Is(unicode.Common, r), unicode.Is(unicode.Inherited, r):
		return ""
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}
