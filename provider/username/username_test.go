package username

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"alice", "alice"},
		{"Alice", "alice"},
		{"  Alice ", "alice"},
		{"ＡＬＩＣＥ", "alice"}, // fullwidth, mapped by RFC 8265's width rule
		{"root-admin", "root-admin"},
		{"a.b_c-d@example.com", "a.b_c-d@example.com"},
		{"user42", "user42"},
		{"42", "42"},
		{"José", "josé"},
		{"Jose\u0301", "josé"}, // NFC joins the combining accent
		{"Ἀθηνᾶ", "ἀθηνᾶ"},
		{"Дмитрий", "дмитрий"},
		{"山田太郎", "山田太郎"},
		{"yamada山田たろう", "yamada山田たろう"}, // Latin, Han and Hiragana: one Japanese name
		{"김민준kim", "김민준kim"},
		{"देवनागरी", "देवनागरी"}, // vowel signs are combining marks after letters
		{"o\u02bcbrien", "o\u02bcbrien"},
		{"a..b", "a..b"},
	} {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Errorf("Normalize(%q) is not stable: %q, %v", got, again, err)
		}
	}
}

func TestNormalizeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, says string
	}{
		{"empty", "", "a username is required"},
		{"only spaces", "   ", "a username is required"},
		{"newline", "alice\n", "U+000A"},
		{"newline inside", "ali\nce", "U+000A"},
		{"tab", "ali\tce", "U+0009"},
		{"NUL", "ali\x00ce", "U+0000"},
		{"zero-width space", "ali\u200bce", "U+200B"},
		{"zero-width joiner", "ali\u200dce", "U+200D"},
		{"soft hyphen", "ali\u00adce", "U+00AD"},
		{"bidi override", "ali\u202ece", "U+202E"},
		{"Hangul filler", "ali\u3164ce", "U+3164"},
		{"no-break space", "ali\u00a0ce", "U+00A0"},
		{"space inside", "ali ce", "a space"},
		{"slash", "a/b", `'/' (U+002F)`},
		{"backslash", `a\b`, `'\\' (U+005C)`},
		{"apostrophe", "o'brien", `'\'' (U+0027)`},
		{"plus", "a+b", `'+' (U+002B)`},
		{"emoji", "ali😀", "U+1F600"},
		{"dot", ".", "must begin with a letter or digit"},
		{"dot dot", "..", "must begin with a letter or digit"},
		{"leading dot", ".alice", "must begin with a letter or digit"},
		{"trailing dot", "alice.", "end with a letter or digit"},
		{"leading dash reads as a flag", "-alice", "must begin with a letter or digit"},
		{"leading at", "@alice", "must begin with a letter or digit"},
		{"leading combining mark", "\u0301alice", "U+0301"},
		{"mark after a digit", "a1\u0301", "U+0301"},
		{"Cyrillic a in a Latin name", "\u0430lice", "Cyrillic and Latin"},
		{"Greek omicron in a Latin name", "b\u03bfb", "Greek and Latin"},
		{"Latin and Cyrillic halves", "ivanИван", "Cyrillic and Latin"},
		{"Devanagari digit in a Latin name", "alice\u0967", "Devanagari and Latin"},
		{"Hangul with kana", "김たろう", "mixes letters"},
		{"right-to-left after left-to-right digits", "1\u05d0", "right-to-left"},
		{"invalid UTF-8", "ali\xffce", "not valid UTF-8"},
		{"too long", strings.Repeat("a", MaxLength+1), "at most 128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want an error", tc.in, got)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Normalize(%q): %v; want ErrInvalid saying %q", tc.in, err, tc.says)
			}
			if strings.ContainsAny(err.Error(), "\x00\n\u200b\u202e") {
				t.Fatalf("the message carries the invisible character itself: %q", err.Error())
			}
		})
	}
	if _, err := Normalize(strings.Repeat("a", MaxLength)); err != nil {
		t.Fatalf("%d characters: %v", MaxLength, err)
	}
}

func TestSkeleton(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		alike bool
	}{
		{"coop", "\u0441\u043e\u043e\u0440", true}, // Cyrillic с о о р
		{"rosa", "\u0433\u043e\u0455\u0430", true}, // г and ѕ pass for r and s
		{"xopy", "\u0445\u043e\u0440\u0443", true}, // Cyrillic х о р у
		{"modern", "rnodern", true},
		{"alice", "alice", true},
		{"alice", "alicia", false},
		{"bob", "rob", false},
	} {
		if got := Skeleton(tc.a) == Skeleton(tc.b); got != tc.alike {
			t.Errorf("Skeleton(%q) == Skeleton(%q) is %v, want %v", tc.a, tc.b, got, tc.alike)
		}
	}
	// The Cyrillic look-alike is one script, so Normalize lets it through;
	// creating it beside "alice" is what Skeleton refuses.
	if _, err := Normalize("\u0441\u043e\u043e\u0440"); err != nil {
		t.Fatalf("an all-Cyrillic name: %v", err)
	}
}
