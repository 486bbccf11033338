// Command stepup-sms is the SMS method as a plugin executable of its own.
// make build puts it beside stepup, which then runs it (see
// plugins.BuiltinCommand); without it, stepup runs the same method as
// `stepup plugin sms`.
package main

import (
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sms"
)

func main() {
	sdk.Serve(sms.New())
}
