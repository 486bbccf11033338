package username

import (
	"testing"
	"unicode/utf8"
)

// FuzzNormalize: any typed name is refused or comes out valid UTF-8, and
// a normalised name normalises to itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"alice", "Alice", " bob ", "ali\u200bce", "\u0430lice", "ev\x00il", "\xff", "a.b-c_d@e", ".."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		n, err := Normalize(typed)
		if err != nil {
			return
		}
		if !utf8.ValidString(n) || n == "" {
			t.Fatalf("Normalize(%q) = %q", typed, n)
		}
		if again, err := Normalize(n); err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", typed, n, n, again, err)
		}
	})
}
