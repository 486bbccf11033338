// Command stepup-tempcode is the temporary-code method as a standalone
// plugin executable. stepup itself runs the same method as a built-in
// (`stepup plugin tempcode`); this binary serves tests and deployments
// that prefer a separate file (configured with its path and SHA-256).
package main

import (
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/tempcode"
)

func main() {
	sdk.Serve(tempcode.New())
}
