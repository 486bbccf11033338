package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestConfigBombsAreRefused: a file over 1 MiB, and a few hundred bytes of
// anchors each merging the one before ten times, are refused at once with
// one line that says why (issue 18, item 5: the bomb kept a start busy
// for over 30 s).
func TestConfigBombsAreRefused(t *testing.T) {
	// Inside an external plugin's settings, where any key is the plugin's.
	head := "issuer: http://localhost:8080\nmethods:\n  pin:\n    path: /opt/stepup/plugins/stepup-pin\n    sha256: \"" + strings.Repeat("ab", 32) + "\"\n"
	var bomb strings.Builder
	bomb.WriteString("    m0: &m0 [a, b, c, d, e, f, g, h, i, j]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&bomb, "    m%d: &m%d [", i, i)
		for j := range 10 {
			if j > 0 {
				bomb.WriteString(", ")
			}
			fmt.Fprintf(&bomb, "*m%d", i-1)
		}
		bomb.WriteString("]\n")
	}
	var merge strings.Builder
	merge.WriteString("    a0: &a0 {x: 1}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&merge, "    a%d: &a%d {", i, i)
		for j := range 10 {
			if j > 0 {
				merge.WriteString(", ")
			}
			fmt.Fprintf(&merge, "k%d: {<<: *a%d}", j, i-1)
		}
		merge.WriteString("}\n")
	}
	for name, tc := range map[string]struct{ text, want string }{
		"alias bomb": {head + bomb.String(), "expand to more than"},
		"merge bomb": {head + merge.String(), "expand to more than"},
		"huge file":  {head + "# " + strings.Repeat("x", MaxFileSize) + "\n", "larger than"},
	} {
		done := make(chan error, 1)
		go func() { _, err := loadText(t, tc.text); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) || len(err.Error()) > 300 {
				t.Errorf("%s: %v, want %q in one short line", name, err, tc.want)
			}
		case <-time.After(20 * time.Second): // a bound on a hang, not a timing assertion
			t.Fatalf("%s: still loading after 20 s", name)
		}
	}
}

// TestErrorsQuoteAShortPrefix: a 10 MB bad value is quoted in its error by
// a short prefix only (issue 18, item 7).
func TestErrorsQuoteAShortPrefix(t *testing.T) {
	for _, text := range []string{
		"issuer: " + strings.Repeat("x", 900_000) + "\n",
		"listen: " + strings.Repeat("9", 900_000) + "\n",
		"smtp: {addr: smtp.example.com:587, from: " + strings.Repeat("y", 900_000) + "}\n",
	} {
		_, err := loadText(t, text)
		if err == nil || len(err.Error()) > 400 {
			n := 0
			if err != nil {
				n = len(err.Error())
			}
			t.Errorf("%.30q…: an error of %d bytes: %.200v", text, n, err)
		}
	}
}
