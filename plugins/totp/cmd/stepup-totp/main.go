// Command stepup-totp is the TOTP method as a standalone plugin
// executable. stepup itself runs the same method as a built-in
// (`stepup plugin totp`); this binary serves tests and deployments that
// prefer a separate file (configured with its path and SHA-256).
package main

import (
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/totp"
)

func main() {
	sdk.Serve(totp.New())
}
