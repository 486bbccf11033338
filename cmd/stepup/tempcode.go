package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/launch"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider"
)

// errNoBreakGlass: no enabled method declares a break-glass action.
var errNoBreakGlass = errors.New("config: no enabled method offers a break-glass action: enable the built-in temporary code, or a plugin that offers one")

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
except that it may be issued for oneself. The code is printed once.

It runs the break-glass action of the first enabled method that offers
one (the built-in temporary code does).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return fmt.Errorf("--user is required")
			}
			return withApp(cmd, func(ctx context.Context, a *app) error {
				self, err := os.Executable()
				if err != nil {
					return err
				}
				startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				methods, err := launchBreakGlass(startCtx, a, self)
				if err != nil {
					return err
				}
				defer methods.Close()
				svc := provider.NewAdmin(a.cfg, provider.Options{Store: a.store, Secrets: a.secrets, Logger: a.log, Now: a.now, Methods: methods})
				values, err := svc.BreakGlass(ctx, user, ttl)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				for _, v := range values {
					switch {
					case v.Secret:
						fmt.Fprintf(out, "%s for %s: %s\n", v.Label, user, v.Value)
					case v.Label != "":
						fmt.Fprintf(out, "%s: %s\n", v.Label, v.Value)
					default:
						fmt.Fprintln(out, v.Value)
					}
				}
				fmt.Fprintln(out, "It is not shown again.")
				return nil
			})
		},
	}
	issue.Flags().StringVar(&user, "user", "", "the user to issue the code for")
	issue.Flags().StringVar(&ttl, "ttl", "", "how long the code stays valid (1h to 24h by default; default 4h)")
	cmd.AddCommand(issue)
	return cmd
}

// launchBreakGlass starts the first enabled method, by name, that declares
// a break-glass admin action, and only that one: a method that fails to
// start is logged and passed over, so that another method's trouble does
// not keep the last administrator out.
func launchBreakGlass(ctx context.Context, a *app, self string) (*host.Registry, error) {
	for _, m := range launch.FromConfig(a.cfg) {
		name := m.Name
		reg, err := launch.Methods(ctx, []launch.Method{m}, a.launchOptions(self))
		if err != nil {
			a.log.Warn("method not started for break-glass", "method", name, "err", err)
			continue
		}
		valid, _ := sdk.CheckAdminActions(reg.Descriptions()[name])
		if slices.ContainsFunc(valid, func(act sdk.AdminAction) bool { return act.BreakGlass }) {
			return reg, nil
		}
		reg.Close()
	}
	return nil, errNoBreakGlass
}
