package plugins

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/tempcode"
	"github.com/stepup-mfa/stepup/plugins/totp"
)

// Builtin maps each built-in method's name to its constructor. It is the
// one place a built-in is registered; nothing registers itself. Each also
// has a command of its own, plugins/NAME/cmd/stepup-NAME (BuiltinPackage).
var Builtin = map[string]func() sdk.Method{
	"tempcode": tempcode.New,
	"totp":     totp.New,
}

// BuiltinNames returns the names in Builtin, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(Builtin))
	for n := range Builtin {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BuiltinPackage is the import path of the command that serves the
// built-in method name on its own: the binary stepup-NAME.
func BuiltinPackage(name string) string {
	return "github.com/stepup-mfa/stepup/plugins/" + name + "/cmd/stepup-" + name
}

// ServeBuiltin serves the built-in method name as a plugin and returns when
// the host ends it. It is what `stepup plugin NAME` runs; an unknown name
// is an error (and nothing is served).
func ServeBuiltin(name string) error {
	newMethod, ok := Builtin[name]
	if !ok {
		return fmt.Errorf("no built-in method %q (built-ins: %v)", name, BuiltinNames())
	}
	sdk.Serve(newMethod())
	return nil
}

// BuildStampFlag begins the linker flag that `make build` gives every
// binary of one build, with a value no other build has. The flag names no
// variable: it is there to be recorded in each binary's build information,
// where BuiltinCommand compares it.
const BuildStampFlag = "-X github.com/stepup-mfa/stepup/plugins.buildStamp="

// BuiltinCommand says how the stepup executable self runs the built-in
// method name. When stepup-NAME lies beside self and both come from the
// same `make build`, it is that binary, with no arguments: a process of
// its own size, well under half the resident memory of a re-executed
// stepup. Otherwise it is self, re-executed as `self plugin NAME`, which
// is always there (go install gives only stepup); skipped then says why
// the separate binary was not used, and is nil when there is none.
func BuiltinCommand(self, name string) (path string, args []string, skipped error) {
	sibling := filepath.Join(filepath.Dir(self), "stepup-"+name)
	fi, err := os.Stat(sibling)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return self, []string{"plugin", name}, nil
	case err != nil:
		return self, []string{"plugin", name}, err
	case !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0:
		return self, []string{"plugin", name}, fmt.Errorf("%s: not an executable file", sibling)
	}
	own, err := buildinfo.ReadFile(self)
	if err != nil {
		return self, []string{"plugin", name}, fmt.Errorf("%s: %w", self, err)
	}
	other, err := buildinfo.ReadFile(sibling)
	if err != nil {
		return self, []string{"plugin", name}, fmt.Errorf("%s: %w", sibling, err)
	}
	if err := sameBuild(own, other, BuiltinPackage(name)); err != nil {
		return self, []string{"plugin", name}, fmt.Errorf("%s: %w", sibling, err)
	}
	return sibling, nil, nil
}

// sameBuild tells whether the plugin binary described by other is the
// command pkg from the very build that made own: both stamped by one
// `make build`, so one module graph, one toolchain and one set of flags.
// A binary left from an earlier build, or one built by hand, would run
// code stepup was not built with.
func sameBuild(own, other *debug.BuildInfo, pkg string) error {
	if other.Path != pkg {
		return fmt.Errorf("is the command %s, not %s", other.Path, pkg)
	}
	ownSet, otherSet := settings(own), settings(other)
	if !strings.Contains(ownSet["-ldflags"], BuildStampFlag) {
		return errors.New("stepup was not built by make build, so nothing shows the two are one build")
	}
	same := own.GoVersion == other.GoVersion && own.Main.Path == other.Main.Path &&
		own.Main.Version == other.Main.Version && own.Main.Sum == other.Main.Sum && len(ownSet) == len(otherSet)
	for k, v := range ownSet {
		same = same && otherSet[k] == v
	}
	if !same {
		return errors.New("is from another build than stepup; run make build to rebuild both")
	}
	return nil
}

func settings(bi *debug.BuildInfo) map[string]string {
	m := make(map[string]string, len(bi.Settings))
	for _, s := range bi.Settings {
		m[s.Key] = s.Value
	}
	return m
}
