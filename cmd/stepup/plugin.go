package main

import (
	"github.com/spf13/cobra"

	"github.com/stepup-mfa/stepup/plugins"
)

// newPluginCommand is how stepup serve runs a built-in method whose own
// binary (stepup-NAME, from make build) is not beside it: it re-executes
// itself as `stepup plugin NAME`, so a process listing still shows each
// method by name and `go install` gives a complete server.
func newPluginCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "plugin NAME",
		Short:  "Serve a built-in verification method to stepup serve (internal)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return plugins.ServeBuiltin(args[0])
		},
	}
}
