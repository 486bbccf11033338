// Command stepup is a step-up multi-factor authentication OpenID Connect
// provider. Run "stepup --help" for its subcommands.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "stepup:", oneLine(err))
		os.Exit(1)
	}
}
