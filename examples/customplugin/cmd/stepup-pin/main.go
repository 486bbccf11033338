// Command stepup-pin is the PIN method of examples/customplugin as a
// plugin executable. stepup starts it itself (never run it by hand): name
// it in the configuration with its checksum,
//
//	go build -o /opt/stepup/plugins/stepup-pin ./examples/customplugin/cmd/stepup-pin
//	sha256sum /opt/stepup/plugins/stepup-pin
//
//	methods:
//	  pin: { path: /opt/stepup/plugins/stepup-pin, sha256: "<the sum>", priority: 50 }
package main

import (
	pin "github.com/stepup-mfa/stepup/examples/customplugin"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

func main() {
	sdk.Serve(pin.New())
}
