// Command stepup-totp is the TOTP method as a plugin
// executable of its own. make build puts it beside stepup, which then runs
// it (see plugins.BuiltinCommand); without it, stepup runs the same method
// as `stepup plugin totp`.
package main

import (
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/totp"
)

func main() {
	sdk.Serve(totp.New())
}
