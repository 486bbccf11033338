package plugins

import (
	"fmt"
	"sort"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/tempcode"
	"github.com/stepup-mfa/stepup/plugins/totp"
)

// Builtin maps each built-in method's name to its constructor. It is the
// one place a built-in is registered; nothing registers itself.
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
