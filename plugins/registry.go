package plugins

import (
	"context"
	"fmt"
	"maps"
	"sort"

	"github.com/stepup-mfa/stepup/plugins/email"
	"github.com/stepup-mfa/stepup/plugins/recovery"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sms"
	"github.com/stepup-mfa/stepup/plugins/tempcode"
	"github.com/stepup-mfa/stepup/plugins/totp"
	"github.com/stepup-mfa/stepup/plugins/webauthn"
)

// builtins is the one registry of stepup's built-in methods: a method's
// name and its constructor, one line each. Everything else (the default
// configuration, its validation, launching, the import rules) is read from
// here; nothing registers itself.
//
// A nil constructor keeps a name SPEC §6 plans for a built-in that this
// build does not have yet (Planned).
var builtins = map[string]func() sdk.Method{
	"email":    email.New,
	"recovery": recovery.New,
	"sms":      sms.New,
	"tempcode": tempcode.New,
	"totp":     totp.New,

	"webauthn": webauthn.New,
}

// Defaults is implemented by a built-in method that has settings of its
// own to show: DefaultSettings returns them as Configure takes them, with
// the values a new method runs with. stepup's default configuration lists
// them under methods.NAME. It is read in this process only and is no part
// of the plugin protocol.
type Defaults interface {
	DefaultSettings() map[string]string
}

// BuiltinNames returns the names of the built-in methods in this build,
// sorted; not the Planned ones.
func BuiltinNames() []string {
	var names []string
	for n, newMethod := range builtins {
		if newMethod != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// PlannedNames returns the names kept for built-ins this build does not
// have yet (Planned), sorted.
func PlannedNames() []string {
	var names []string
	for n, newMethod := range builtins {
		if newMethod == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// IsBuiltin reports whether this build has the built-in method name.
func IsBuiltin(name string) bool { return builtins[name] != nil }

// Planned reports whether name is kept for a built-in method that SPEC §6
// plans and this build does not have yet (webauthn, sms, ...): a
// configuration may name it without a path, and nothing runs it.
func Planned(name string) bool {
	newMethod, ok := builtins[name]
	return ok && newMethod == nil
}

// NewBuiltin returns a new, unconfigured instance of the built-in method
// name, or false when this build has none.
func NewBuiltin(name string) (sdk.Method, bool) {
	newMethod := builtins[name]
	if newMethod == nil {
		return nil, false
	}
	return newMethod(), true
}

// ConfigureBuiltin checks settings, as a plugin process would receive
// them, against what the built-in method name declares it takes
// (sdk.CheckSettings), then hands them to the Configure of a new instance
// in this process, and returns the error: an *sdk.SettingError names the
// bad key. It starts nothing.
func ConfigureBuiltin(name string, settings map[string]string) error {
	m, ok := NewBuiltin(name)
	if !ok {
		return fmt.Errorf("no built-in method %q in this build (built-ins: %v)", name, BuiltinNames())
	}
	// What the method declares it takes first (a misspelled key), then its
	// own Configure (what a declaration cannot say).
	d, err := m.Describe(context.Background())
	if err != nil {
		return err
	}
	if err := sdk.CheckSettings(d.Settings, settings); err != nil {
		return err
	}
	if c, ok := m.(sdk.Configurable); ok {
		return c.Configure(settings)
	}
	return nil
}

// BuiltinDefaults returns the default priority and settings of the
// built-in method name, as the method itself states them: the priority of
// its Describe, unconfigured, and its DefaultSettings (none when it does
// not implement Defaults). ok is false when this build has no such method.
// It panics when the method cannot describe itself in this process without
// a host, which TestBuiltins rules out for every built-in.
func BuiltinDefaults(name string) (priority int, settings map[string]string, ok bool) {
	m, ok := NewBuiltin(name)
	if !ok {
		return 0, nil, false
	}
	if c, isConfigurable := m.(sdk.Configurable); isConfigurable {
		if err := c.Configure(map[string]string{}); err != nil {
			panic(fmt.Sprintf("plugins: built-in %s refuses its own defaults: %v", name, err))
		}
	}
	d, err := m.Describe(context.Background())
	if err != nil {
		panic(fmt.Sprintf("plugins: built-in %s cannot describe itself: %v", name, err))
	}
	settings = map[string]string{}
	if def, has := m.(Defaults); has {
		maps.Copy(settings, def.DefaultSettings())
	}
	return d.Priority, settings, true
}

// ServeBuiltin serves the built-in method name as a plugin and returns when
// the host ends it. It is what `stepup plugin NAME` runs; an unknown name
// is an error (and nothing is served).
func ServeBuiltin(name string) error {
	m, ok := NewBuiltin(name)
	if !ok {
		return fmt.Errorf("no built-in method %q in this build (built-ins: %v)", name, BuiltinNames())
	}
	sdk.Serve(m)
	return nil
}

// Registry is the registry of built-ins as a value, for those that take it
// without importing this package (provider/config.Methods): the
// composition root, cmd/stepup or testenv, hands Builtins over.
type Registry struct{}

// Builtins is this build's registry of built-in methods.
var Builtins Registry

// Names returns BuiltinNames().
func (Registry) Names() []string { return BuiltinNames() }

// Planned returns Planned(name).
func (Registry) Planned(name string) bool { return Planned(name) }

// Defaults returns the priority and settings of BuiltinDefaults(name).
func (Registry) Defaults(name string) (priority int, settings map[string]string) {
	priority, settings, _ = BuiltinDefaults(name)
	return priority, settings
}

// Configure returns ConfigureBuiltin(name, settings).
func (Registry) Configure(name string, settings map[string]string) error {
	return ConfigureBuiltin(name, settings)
}
