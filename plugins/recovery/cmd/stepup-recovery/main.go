// Command stepup-recovery is the recovery-codes method as a plugin
// executable of its own. make build puts it beside stepup, which then runs
// it (see plugins.BuiltinCommand); without it, stepup runs the same method
// as `stepup plugin recovery`.
package main

import (
	"github.com/stepup-mfa/stepup/plugins/recovery"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

func main() {
	sdk.Serve(recovery.New())
}
