package plugins

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

func TestSameBuild(t *testing.T) {
	const pkg = "github.com/stepup-mfa/stepup/plugins/totp/cmd/stepup-totp"
	info := func(path string, edit func(*debug.BuildInfo)) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Path: path,
			Main: debug.Module{Path: "github.com/stepup-mfa/stepup", Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "-ldflags", Value: BuildStampFlag + "20261123T000722.4"},
				{Key: "vcs.revision", Value: "37eb70a"}, {Key: "vcs.modified", Value: "true"},
			}}
		if edit != nil {
			edit(bi)
		}
		return bi
	}
	own := info("github.com/stepup-mfa/stepup/cmd/stepup", nil)
	if err := sameBuild(own, info(pkg, nil), pkg); err != nil {
		t.Fatalf("one make build: %v", err)
	}
	for name, tc := range map[string]struct {
		own, other *debug.BuildInfo
		want       string
	}{
		"another command": {own, info("github.com/stepup-mfa/stepup/plugins/tempcode/cmd/stepup-tempcode", nil), "is the command"},
		"not from make": {info(own.Path, func(b *debug.BuildInfo) { b.Settings = b.Settings[1:] }),
			info(pkg, func(b *debug.BuildInfo) { b.Settings = b.Settings[1:] }), "not built by make build"},
		"another make build": {own, info(pkg, func(b *debug.BuildInfo) { b.Settings[0].Value = BuildStampFlag + "20261122T2359" }), "another build"},
		"another revision":   {own, info(pkg, func(b *debug.BuildInfo) { b.Settings[1].Value = "4a63c3e" }), "another build"},
		"a setting more": {own, info(pkg, func(b *debug.BuildInfo) {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: "-tags", Value: "x"})
		}), "another build"},
		"another toolchain": {own, info(pkg, func(b *debug.BuildInfo) { b.GoVersion = "go1.26.7" }), "another build"},
		"another version":   {own, info(pkg, func(b *debug.BuildInfo) { b.Main.Version = "v1.0.0" }), "another build"},
	} {
		t.Run(name, func(t *testing.T) {
			err := sameBuild(tc.own, tc.other, pkg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestBuiltinCommandFallsBack: without a usable stepup-NAME beside it,
// stepup re-executes itself, saying why when there was a file.
func TestBuiltinCommandFallsBack(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "stepup")
	for name, setup := range map[string]func(string) error{
		"missing":        func(string) error { return nil },
		"not executable": func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) },
		"not a program":  func(p string) error { return os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755) },
		"a directory":    func(p string) error { return os.Mkdir(p, 0o755) },
	} {
		t.Run(name, func(t *testing.T) {
			sibling := filepath.Join(dir, "stepup-totp")
			os.RemoveAll(sibling)
			if err := setup(sibling); err != nil {
				t.Fatal(err)
			}
			path, args, skipped := BuiltinCommand(self, "totp")
			if path != self || !slices.Equal(args, []string{"plugin", "totp"}) {
				t.Fatalf("got %s %v, want %s plugin totp", path, args, self)
			}
			if (skipped == nil) != (name == "missing") {
				t.Fatalf("skipped = %v", skipped)
			}
		})
	}
}
