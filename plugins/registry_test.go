package plugins

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// TestBuiltins: every built-in in the registry is the method it is
// registered as, states defaults it accepts itself, and has its command;
// a planned name is known and runs nothing.
func TestBuiltins(t *testing.T) {
	names := BuiltinNames()
	if !slices.IsSorted(names) || !slices.Contains(names, "totp") || !slices.Contains(names, "tempcode") {
		t.Fatalf("built-ins %v", names)
	}
	for _, name := range names {
		m, ok := NewBuiltin(name)
		if !ok || m == nil || !IsBuiltin(name) || Planned(name) {
			t.Fatalf("%s: NewBuiltin %v %v, IsBuiltin %v, Planned %v", name, m, ok, IsBuiltin(name), Planned(name))
		}
		if d, err := m.Describe(context.Background()); err != nil || d.Name != name {
			t.Errorf("%s describes itself as %q (%v)", name, d.Name, err)
		}
		priority, settings, ok := BuiltinDefaults(name)
		if !ok || priority < 0 || priority > 1000 {
			t.Errorf("%s: default priority %d (%v), want 0 to 1000", name, priority, ok)
		}
		if err := ConfigureBuiltin(name, settings); err != nil {
			t.Errorf("%s refuses its own default settings %v: %v", name, settings, err)
		}
	}

	for _, name := range []string{"webauthn", "email", "recovery"} {
		if !Planned(name) || IsBuiltin(name) || slices.Contains(names, name) {
			t.Errorf("%s: Planned %v, IsBuiltin %v", name, Planned(name), IsBuiltin(name))
		}
		if _, ok := NewBuiltin(name); ok {
			t.Errorf("NewBuiltin(%s) made a method", name)
		}
		if _, _, ok := BuiltinDefaults(name); ok {
			t.Errorf("BuiltinDefaults(%s) has defaults", name)
		}
	}
	for _, name := range []string{"no-such-method", "webauthn"} {
		if err := ServeBuiltin(name); err == nil || !strings.Contains(err.Error(), "totp") {
			t.Errorf("ServeBuiltin(%s) = %v, want an error listing the built-ins", name, err)
		}
		if err := ConfigureBuiltin(name, nil); err == nil {
			t.Errorf("ConfigureBuiltin(%s) = nil", name)
		}
	}
	if Planned("no-such-method") || IsBuiltin("no-such-method") {
		t.Error("an unknown name is planned or built in")
	}

	// make build builds every plugins/*/cmd/stepup-*: each is a registered
	// built-in, and each built-in has one.
	cmds, err := filepath.Glob("*/cmd/stepup-*")
	if err != nil {
		t.Fatal(err)
	}
	var cmdNames []string
	for _, c := range cmds {
		name := strings.TrimPrefix(filepath.Base(c), "stepup-")
		cmdNames = append(cmdNames, name)
		if got, want := "github.com/stepup-mfa/stepup/plugins/"+filepath.ToSlash(c), BuiltinPackage(name); got != want {
			t.Errorf("the command %s is not BuiltinPackage(%s) = %s", got, name, want)
		}
	}
	if !slices.Equal(cmdNames, names) {
		t.Errorf("commands plugins/*/cmd/stepup-* for %v, built-ins %v", cmdNames, names)
	}
}

// TestConfigureBuiltin: settings are checked by the method's own
// Configure, and a bad one names its key.
func TestConfigureBuiltin(t *testing.T) {
	if err := ConfigureBuiltin("tempcode", map[string]string{"digits": "10", "max_ttl": "4h", "priority": "90"}); err != nil {
		t.Fatal(err)
	}
	err := ConfigureBuiltin("tempcode", map[string]string{"digits": "5"})
	var se *sdk.SettingError
	if !errors.As(err, &se) || se.Key != "digits" || !strings.Contains(se.Msg, "6 to 12") {
		t.Errorf("tempcode digits 5: %v, want a setting error naming digits", err)
	}
}
