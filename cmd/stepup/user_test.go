package main

import (
	"strings"
	"testing"
)

// stepup user add holds new names to the one username rule, with a
// message that says what is allowed, and the other user commands find a
// user by the name in any case.
func TestUserAddRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, cheapArgon)
	if _, stderr, code := stepup(t, dir, "", "user", "add", "Coop", "--config", cfg); code != 0 {
		t.Fatalf("add Coop: exit %d %s", code, stderr)
	}
	for _, tc := range []struct{ name, says string }{
		{"ali\nce", "U+000A"},
		{"ali\u200bce", "U+200B"},
		{"\u0430lice", "mixes letters of the Cyrillic and Latin scripts"},
		{"..", "must begin with a letter or digit"},
		{"o'brien", `'\'' (U+0027)`},
		{"\u0441\u043e\u043e\u0440", `looks like the existing user "coop"`}, // Cyrillic "соор"
	} {
		_, stderr, code := stepup(t, dir, "", "user", "add", tc.name, "--config", cfg)
		if code == 0 || !strings.Contains(stderr, tc.says) {
			t.Errorf("add %q: exit %d, stderr %q; want a refusal saying %q", tc.name, code, stderr, tc.says)
		}
		if strings.Contains(stderr, "\u200b") {
			t.Errorf("add %q: the invisible character reached the message: %q", tc.name, stderr)
		}
	}
	if _, stderr, code := stepup(t, dir, "", "user", "add", "ali\u200bce", "--config", cfg); !strings.Contains(stderr, "use letters, digits, '.', '-', '_' or '@'") || code == 0 {
		t.Errorf("the refusal does not say what is allowed: %q", stderr)
	}
	if out, stderr, code := stepup(t, dir, "", "user", "deactivate", "COOP", "--config", cfg); code != 0 || !strings.Contains(out, "user coop is now inactive") {
		t.Fatalf("deactivate COOP: exit %d %s %s", code, out, stderr)
	}
	out, _, _ := stepup(t, dir, "", "user", "list", "--config", cfg)
	if lines := strings.Count(strings.TrimSpace(out), "\n"); lines != 1 {
		t.Fatalf("want the header and coop only:\n%s", out)
	}
}
