package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stepup-mfa/stepup/provider"
)

func newKeysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage token-signing keys"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Create new signing keys; the old ones stay published until their tokens expire",
		Long: "Create new signing keys; the old ones stay published until their tokens expire.\n\n" +
			"With an external-MFA client (clients[].external_mfa) the new keys are published 25 hours\n" +
			"before they sign, the old ones signing meanwhile: Entra ID caches the JWKS for 24 hours.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, func(ctx context.Context, a *app) error {
				srv, err := provider.New(ctx, a.cfg, provider.Options{Store: a.store, Secrets: a.secrets, Logger: a.log, Now: a.now})
				if err != nil {
					return err
				}
				ids, err := srv.RotateSigningKeys(ctx)
				if err != nil {
					return err
				}
				a.audit(ctx, "keys.rotated", "")
				fmt.Fprintf(cmd.OutOrStdout(), "new signing keys: %s\n", strings.Join(ids, ", "))
				return nil
			})
		},
	})
	return cmd
}
