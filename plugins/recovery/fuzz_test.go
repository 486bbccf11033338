package recovery

import (
	"strings"
	"testing"
)

// FuzzNormalise: any typed code is refused or comes out as CodeLen
// characters of Alphabet.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"7KQ4-M2XD-9RTA-WP3C", "7kq4 m2xd 9rta wp3c", "OIL0-0000-0000-0000", "", "\xff", strings.Repeat("A", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		code, ok := Normalise(typed)
		if !ok {
			return
		}
		if len(code) != CodeLen || strings.Trim(code, Alphabet) != "" {
			t.Fatalf("Normalise(%q) = %q", typed, code)
		}
	})
}
