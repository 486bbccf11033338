package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stepup-mfa/stepup/provider"
	"github.com/stepup-mfa/stepup/provider/config"
)

func newTempCodeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "temp-code",
		Short: "Break-glass: issue a temporary code offline, on the configured database",
	}
	var user, ttl string
	issue := &cobra.Command{
		Use:   "issue --user NAME --ttl 4h",
		Short: "Issue a temporary verification code without the admin API (audited as break-glass)",
		Long: `Issue a temporary verification code directly on the configured database,
for the only administrator who is locked out. Every rule of the admin API
applies (ttl range, one active code, at most 6 an hour, active users only),
except that it may be issued for oneself. The code is printed once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return fmt.Errorf("--user is required")
			}
			return withApp(cmd, func(ctx context.Context, a *app) error {
				cfg := a.cfg
				mc, ok := cfg.Methods["tempcode"]
				if !ok || !mc.IsEnabled() {
					return fmt.Errorf("config: methods.tempcode is disabled: enable it to issue temporary codes")
				}
				only := map[string]config.MethodConfig{"tempcode": mc}
				cfg.Methods = only
				self, err := os.Executable()
				if err != nil {
					return err
				}
				startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				methods, err := provider.LaunchMethods(startCtx, cfg, provider.LaunchOptions{Self: self, Store: a.store, Secret: a.secrets, Logger: a.log, Now: a.now})
				if err != nil {
					return err
				}
				defer methods.Close()
				srv, err := provider.New(startCtx, a.cfg, provider.Options{Store: a.store, Secrets: a.secrets, Logger: a.log, Now: a.now, Methods: methods})
				if err != nil {
					return err
				}
				tc, err := srv.IssueTempCodeBreakGlass(ctx, user, ttl)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "temporary code for %s: %s\nvalid until %s; it is not shown again\n",
					user, tc.Code, tc.ExpiresAt.UTC().Format(time.RFC3339))
				return nil
			})
		},
	}
	issue.Flags().StringVar(&user, "user", "", "the user to issue the code for")
	issue.Flags().StringVar(&ttl, "ttl", "4h", "how long the code stays valid (1h to 24h by default)")
	cmd.AddCommand(issue)
	return cmd
}
