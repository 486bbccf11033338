package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stepup-mfa/stepup/provider"
	"github.com/stepup-mfa/stepup/provider/admin"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/storage"
)

func newUserCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage local users offline, directly on the configured database",
	}
	var email, phone string
	var pwStdin bool
	var grants []string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a user",
		Long: `Create a user named NAME, stored as sign-in compares it (lower case,
RFC 8265). A username holds letters of one script, combining marks, digits,
'.', '-', '_' and '@', begins with a letter or digit and ends with a letter
or digit, and has at most 128 characters; a name that looks like an
existing user's (a Cyrillic "соор" beside "coop") is refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, g := range grants {
				if !slices.Contains(config.KnownPermissions, g) {
					return fmt.Errorf("unknown permission %q: use one of %s", g, strings.Join(config.KnownPermissions, ", "))
				}
			}
			pw := ""
			if pwStdin {
				var err error
				if pw, err = readPassword(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			return withApp(cmd, func(ctx context.Context, a *app) error {
				u, err := a.addUser(ctx, args[0], email, phone, pw, grants)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created user %s (id %s)\n", u.Username, u.ID)
				return nil
			})
		},
	}
	add.Flags().StringVar(&email, "email", "", "email address")
	add.Flags().StringVar(&phone, "phone", "", "mobile number (E.164, e.g. +15551234567)")
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	add.Flags().StringSliceVar(&grants, "grant", nil, "grant a permission (manage_mfa)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, func(ctx context.Context, a *app) error {
				users, err := a.store.ListUsers(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USERNAME\tACTIVE\tEMAIL\tPERMISSIONS\tID")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\n", u.Username, u.Active, u.Email, strings.Join(u.Permissions, ","), u.ID)
				}
				return tw.Flush()
			})
		},
	}
	setActive := func(use string, active bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME",
			Short: strings.ToUpper(use[:1]) + use[1:] + " a user",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withApp(cmd, func(ctx context.Context, a *app) error {
					u, err := a.findUser(ctx, args[0])
					if err != nil {
						return err
					}
					// The change and its event are one write.
					if u, err = a.adminService().SetActive(ctx, u.ID, active, a.event("user."+use+"d", u.ID)); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "user %s is now %s\n", u.Username, map[bool]string{true: "active", false: "inactive"}[active])
					return nil
				})
			},
		}
	}
	setPassword := &cobra.Command{
		Use:   "set-password NAME",
		Short: "Set a user's password, read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			return withApp(cmd, func(ctx context.Context, a *app) error {
				hash, err := a.hasher().Hash(pw)
				if err != nil {
					return err
				}
				u, err := a.updateUser(ctx, args[0], "user.password_set", func(u storage.User) (storage.User, error) {
					u.PasswordHash = hash
					return u, nil
				})
				if err != nil {
					return err
				}
				// A new password is a fresh start: no browser spares the
				// second factor any more (as a password change signs out
				// "remembered devices" elsewhere).
				if _, err := a.store.DeleteUserTrustedBrowsers(ctx, u.ID, storage.Event{Time: a.now().UTC(), Type: "trusted_browser.forgotten",
					Actor: "cli", UserID: u.ID, Outcome: "success", Details: map[string]string{"by": "admin", "scope": "all", "reason": "password changed"}}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "password of %s changed\n", u.Username)
				return nil
			})
		},
	}
	grant := &cobra.Command{
		Use:   "grant NAME PERMISSION",
		Short: "Grant a permission (manage_mfa) to a user",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			perm := args[1]
			if !slices.Contains(config.KnownPermissions, perm) {
				return fmt.Errorf("unknown permission %q: use one of %s", perm, strings.Join(config.KnownPermissions, ", "))
			}
			return withApp(cmd, func(ctx context.Context, a *app) error {
				u, err := a.updateUser(ctx, args[0], "user.permission_granted", func(u storage.User) (storage.User, error) {
					if !slices.Contains(u.Permissions, perm) {
						u.Permissions = append(u.Permissions, perm)
					}
					return u, nil
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s now has %s\n", u.Username, strings.Join(u.Permissions, ", "))
				return nil
			})
		},
	}
	cmd.AddCommand(add, list, setActive("activate", true), setActive("deactivate", false), setPassword, grant)
	return cmd
}

// withApp opens the configured store for one offline command.
func withApp(cmd *cobra.Command, fn func(context.Context, *app) error) error {
	a, err := openApp(cmd)
	if err != nil {
		return err
	}
	defer a.store.Close()
	return fn(cmd.Context(), a)
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return "", errors.New("the password must have at least 8 characters (give it on standard input)")
	}
	return pw, nil
}

func (a *app) hasher() password.Hasher {
	p := a.cfg.Passwords.Argon2
	return password.Hasher{MemoryKiB: p.MemoryKiB, Iterations: p.Iterations, Parallelism: p.Parallelism}
}

// adminService is the administration's operations on the configured
// store, offline: no method is launched.
func (a *app) adminService() *admin.Service {
	return provider.NewAdmin(a.cfg, provider.Options{Store: a.store, Secrets: a.secrets, Logger: a.log, Now: a.now})
}

func (a *app) addUser(ctx context.Context, name, email, phone, pw string, perms []string) (storage.User, error) {
	return a.adminService().CreateUser(ctx, admin.NewUser{Username: name, Email: email, Phone: phone, Password: pw, Permissions: perms,
		Event: func(u storage.User) storage.Event { // written with the user, in one transaction
			return storage.Event{Time: a.now().UTC(), Type: "user.created", Actor: "cli", UserID: u.ID, Outcome: "success"}
		}})
}

// findUser finds a user by name, with the command's hint when there is
// none.
func (a *app) findUser(ctx context.Context, name string) (storage.User, error) {
	u, err := a.adminService().UserByName(ctx, name)
	if errors.Is(err, admin.ErrNotFound) {
		return u, fmt.Errorf("%w (stepup user list shows them)", err)
	}
	return u, err
}

func (a *app) updateUser(ctx context.Context, name, event string, fn func(storage.User) (storage.User, error)) (storage.User, error) {
	u, err := a.findUser(ctx, name)
	if err != nil {
		return storage.User{}, err
	}
	// The change and its event are one write.
	return a.store.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
		u, err := fn(u)
		u.UpdatedAt = a.now().UTC()
		return u, err
	}, a.event(event, u.ID))
}

// event is the audit event of a change the command makes for userID.
func (a *app) event(typ, userID string) storage.Event {
	return storage.Event{Time: a.now().UTC(), Type: typ, Actor: "cli", UserID: userID, Outcome: "success"}
}

// audit appends an event on its own, after a change written separately
// (key rotation, which writes several rows through the key ring).
func (a *app) audit(ctx context.Context, typ, userID string) {
	if err := a.store.AppendEvent(ctx, a.event(typ, userID)); err != nil {
		a.log.Error("audit event not recorded", "type", typ, "err", err)
	}
}
