// Command stepup-tempcode is the temporary-code method as a plugin
// executable of its own. make build puts it beside stepup, which then runs
// it (see plugins.BuiltinCommand); without it, stepup runs the same method
// as `stepup plugin tempcode`.
package main

import (
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/tempcode"
)

func main() {
	sdk.Serve(tempcode.New())
}
