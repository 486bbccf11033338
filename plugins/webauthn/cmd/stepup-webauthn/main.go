// Command stepup-webauthn is the security-key and passkey method as a
// plugin executable of its own. make build puts it beside stepup, which
// then runs it (see plugins.BuiltinCommand); without it, stepup runs the
// same method as `stepup plugin webauthn`.
package main

import (
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/webauthn"
)

func main() {
	sdk.Serve(webauthn.New())
}
