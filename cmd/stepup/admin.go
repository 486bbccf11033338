package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2/clientcredentials"
)

// adminClient calls the admin HTTP API with a bearer token.
type adminClient struct {
	base  string
	token string
	out   io.Writer
}

func newAdminCommand() *cobra.Command {
	var baseURL, token, clientID, clientSecret string
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Call the admin HTTP API (/admin/v1)",
		Long: `Call the admin HTTP API of a running stepup.

The token is --token (or STEPUP_ADMIN_TOKEN): an access token of a user
with manage_mfa, recent and strong enough (admin.required_acr within
admin.max_auth_age); or a client-credentials token fetched with
--client-id/--client-secret (or STEPUP_ADMIN_CLIENT_ID and
STEPUP_ADMIN_CLIENT_SECRET) for a client with permissions [manage_mfa].
The server is --url, or the issuer of --config.`,
	}
	cmd.PersistentFlags().StringVar(&baseURL, "url", "", "stepup's base URL (default: the configured issuer)")
	// Secrets from the environment are read when used, not shown as
	// flag defaults in --help.
	cmd.PersistentFlags().StringVar(&token, "token", "", "bearer access token (or STEPUP_ADMIN_TOKEN)")
	cmd.PersistentFlags().StringVar(&clientID, "client-id", "", "client with manage_mfa, for client credentials (or STEPUP_ADMIN_CLIENT_ID)")
	cmd.PersistentFlags().StringVar(&clientSecret, "client-secret", "", "that client's secret (or STEPUP_ADMIN_CLIENT_SECRET)")

	client := func(cmd *cobra.Command) (*adminClient, error) {
		base := baseURL
		if base == "" {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return nil, err
			}
			base = cfg.Issuer
		}
		base = strings.TrimSuffix(base, "/")
		tok, id, secret := orEnv(token, "STEPUP_ADMIN_TOKEN"), orEnv(clientID, "STEPUP_ADMIN_CLIENT_ID"), orEnv(clientSecret, "STEPUP_ADMIN_CLIENT_SECRET")
		if tok == "" && id != "" {
			cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: base + "/oauth/token"}
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			t, err := cc.Token(ctx)
			if err != nil {
				return nil, fmt.Errorf("client-credentials token from %s: %w", base, err)
			}
			tok = t.AccessToken
		}
		if tok == "" {
			return nil, fmt.Errorf("no credentials: give --token, or --client-id and --client-secret")
		}
		return &adminClient{base: base, token: tok, out: cmd.OutOrStdout()}, nil
	}
	run := func(method, path string, body func([]string) any) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := client(cmd)
			if err != nil {
				return err
			}
			var b any
			if body != nil {
				b = body(args)
			}
			return c.call(cmd.Context(), method, pathFor(path, args), b)
		}
	}
	var ttl, email, phone, since, typ, user string
	var endSessions bool
	users := &cobra.Command{Use: "users", Short: "Users"}
	create := &cobra.Command{Use: "create NAME", Short: "Create a user", Args: cobra.ExactArgs(1),
		RunE: run("POST", "/admin/v1/users", func(a []string) any {
			return map[string]string{"username": a[0], "email": email, "phone": phone}
		})}
	create.Flags().StringVar(&email, "email", "", "email address")
	create.Flags().StringVar(&phone, "phone", "", "mobile number")
	users.AddCommand(create,
		&cobra.Command{Use: "get NAME", Short: "Show a user", Args: cobra.ExactArgs(1), RunE: run("GET", "/admin/v1/users/{0}", nil)},
		&cobra.Command{Use: "deactivate NAME", Short: "Deactivate a user (ends their sessions and tokens)", Args: cobra.ExactArgs(1),
			RunE: run("PATCH", "/admin/v1/users/{0}", func([]string) any { return map[string]bool{"active": false} })},
		&cobra.Command{Use: "activate NAME", Short: "Activate a user", Args: cobra.ExactArgs(1),
			RunE: run("PATCH", "/admin/v1/users/{0}", func([]string) any { return map[string]bool{"active": true} })},
	)
	methods := &cobra.Command{Use: "methods", Short: "A user's verification methods"}
	remove := &cobra.Command{Use: "remove NAME ID", Short: "Disconnect a method (ID from methods list)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/admin/v1/users/{0}/methods/{1}"
			if endSessions {
				path += "?end_sessions=true"
			}
			return run("DELETE", path, nil)(cmd, args)
		}}
	remove.Flags().BoolVar(&endSessions, "end-sessions", false, "also end the user's sessions and tokens (lost or stolen device)")
	methods.AddCommand(&cobra.Command{Use: "list NAME", Short: "List a user's methods", Args: cobra.ExactArgs(1),
		RunE: run("GET", "/admin/v1/users/{0}/methods", nil)}, remove)
	tc := &cobra.Command{Use: "temp-code", Short: "Temporary verification codes"}
	issue := &cobra.Command{Use: "issue NAME --ttl 4h", Short: "Issue a temporary code (shown once)", Args: cobra.ExactArgs(1),
		RunE: run("POST", "/admin/v1/users/{0}/temporary-code", func([]string) any { return map[string]string{"ttl": ttl} })}
	issue.Flags().StringVar(&ttl, "ttl", "4h", "validity, 1h to 24h by default")
	tc.AddCommand(issue,
		&cobra.Command{Use: "status NAME", Short: "Show a user's code metadata", Args: cobra.ExactArgs(1), RunE: run("GET", "/admin/v1/users/{0}/temporary-code", nil)},
		&cobra.Command{Use: "expire NAME", Short: "Expire a user's code now", Args: cobra.ExactArgs(1), RunE: run("DELETE", "/admin/v1/users/{0}/temporary-code", nil)},
	)
	events := &cobra.Command{Use: "events", Short: "Read the audit log", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"user": user, "type": typ, "since": since} {
				if v != "" {
					q.Set(k, v)
				}
			}
			return run("GET", "/admin/v1/events?"+q.Encode(), nil)(cmd, args)
		}}
	events.Flags().StringVar(&user, "user", "", "only this user's events")
	events.Flags().StringVar(&typ, "type", "", "event type, or a prefix ending in '.'")
	events.Flags().StringVar(&since, "since", "", "RFC 3339 time")
	cmd.AddCommand(users, methods, tc, events)
	return cmd
}

func orEnv(v, name string) string {
	if v != "" {
		return v
	}
	return os.Getenv(name)
}

// pathFor fills {0}, {1}... with the path-escaped arguments.
func pathFor(tmpl string, args []string) string {
	for i, a := range args {
		tmpl = strings.ReplaceAll(tmpl, fmt.Sprintf("{%d}", i), url.PathEscape(a))
	}
	return tmpl
}

func (c *adminClient) call(ctx context.Context, method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var p struct {
			Detail string `json:"detail"`
		}
		json.Unmarshal(raw, &p)
		msg := fmt.Sprintf("%s %s: %s", method, path, resp.Status)
		if p.Detail != "" {
			msg += ": " + p.Detail
		}
		if ch := resp.Header.Get("WWW-Authenticate"); ch != "" {
			msg += " (" + ch + ")"
		}
		return fmt.Errorf("%s", msg)
	}
	if len(raw) == 0 {
		fmt.Fprintf(c.out, "%s\n", resp.Status)
		return nil
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, raw, "", "  ") == nil {
		raw = pretty.Bytes()
	}
	fmt.Fprintf(c.out, "%s\n", raw)
	return nil
}
