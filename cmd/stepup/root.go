package main

import (
	"github.com/spf13/cobra"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "stepup",
		Short: "Step-up multi-factor authentication OpenID Connect provider",
		Long: `stepup runs beside an existing identity provider. Applications ask for an
assurance level (acr_values=aal2); stepup establishes the user, runs the
right verification method and returns an ID token whose acr, amr and
auth_time prove what happened.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "YAML configuration file (default: built-in defaults)")
	root.AddCommand(newServeCommand(), newUserCommand(), newKeysCommand(), newPluginCommand(), newTempCodeCommand(), newAdminCommand())
	return root
}
