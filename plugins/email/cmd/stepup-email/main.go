// Command stepup-email is the email method as a plugin executable of its
// own. make build puts it beside stepup, which then runs it (see
// plugins.BuiltinCommand); without it, stepup runs the same method as
// `stepup plugin email`.
package main

import (
	"github.com/stepup-mfa/stepup/plugins/email"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

func main() {
	sdk.Serve(email.New())
}
