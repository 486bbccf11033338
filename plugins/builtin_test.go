package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestBuiltinCommand: stepup runs the stepup-NAME beside it only when its
// build recorded that binary's checksum, and pins it to that checksum;
// otherwise it re-executes itself, pinned to its own checksum, saying why
// when there was a file.
func TestBuiltinCommand(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "stepup")
	if err := os.WriteFile(self, []byte("the stepup executable"), 0o755); err != nil {
		t.Fatal(err)
	}
	selfSum := sha256.Sum256([]byte("the stepup executable"))
	recorded := strings.Repeat("ab", 32)
	sibling := filepath.Join(dir, "stepup-totp")
	executable := func(p string) error { return os.WriteFile(p, []byte("x"), 0o755) }
	none := func(string) error { return nil }
	for name, tc := range map[string]struct {
		recorded string // by make build
		setup    func(string) error
		skipped  string // "": none; "-": runs the sibling
	}{
		"recorded, beside":         {recorded, executable, "-"},
		"recorded, missing":        {recorded, none, ""},
		"recorded, not executable": {recorded, func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) }, "not an executable"},
		"recorded, a directory":    {recorded, func(p string) error { return os.Mkdir(p, 0o755) }, "not an executable"},
		"go install, missing":      {"", none, ""},
		"go install, beside":       {"", executable, "records no checksum"},
	} {
		t.Run(name, func(t *testing.T) {
			os.RemoveAll(sibling)
			if err := tc.setup(sibling); err != nil {
				t.Fatal(err)
			}
			c, err := builtinCommand(self, "totp", tc.recorded)
			if err != nil {
				t.Fatal(err)
			}
			if tc.skipped == "-" {
				if c.Path != sibling || len(c.Args) != 0 || c.SHA256 != recorded || c.Skipped != nil {
					t.Fatalf("got %+v, want %s pinned to the recorded checksum", c, sibling)
				}
				return
			}
			if c.Path != self || !slices.Equal(c.Args, []string{"plugin", "totp"}) || c.SHA256 != hex.EncodeToString(selfSum[:]) {
				t.Fatalf("got %+v, want %s plugin totp pinned to its checksum", c, self)
			}
			if (c.Skipped == nil) != (tc.skipped == "") || (c.Skipped != nil && !strings.Contains(c.Skipped.Error(), tc.skipped)) {
				t.Fatalf("skipped = %v, want %q", c.Skipped, tc.skipped)
			}
		})
	}
	for _, bad := range []string{filepath.Join(dir, "gone"), self} {
		if _, err := BuiltinCommand(bad, "totp"); err == nil || !strings.Contains(err.Error(), bad) {
			t.Fatalf("%s, missing or not a Go program: %v", bad, err)
		}
	}
}

// TestRecordedSHA256 reads the checksums make build records in stepup's
// build information.
func TestRecordedSHA256(t *testing.T) {
	a, b := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	info := func(ldflags string) *debug.BuildInfo {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "-ldflags", Value: ldflags}, {Key: "vcs.modified", Value: "true"}}}
	}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		totp string
	}{
		{info(BuiltinSHA256Flag + "tempcode:" + a + ",totp:" + b + ","), b},
		{info("-s " + BuiltinSHA256Flag + "totp:" + a + " -w"), a},
		{info("-X main.version=totp:" + a), ""},
		{&debug.BuildInfo{}, ""},
	} {
		if got := recordedSHA256(tc.bi, "totp"); got != tc.totp {
			t.Errorf("%v: totp %q, want %q", tc.bi.Settings, got, tc.totp)
		}
		if got := recordedSHA256(tc.bi, "sms"); got != "" {
			t.Errorf("%v: sms %q, want none", tc.bi.Settings, got)
		}
	}
}
