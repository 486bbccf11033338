package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stepup-mfa/stepup/provider/config"
)

// Demo accounts. Their passwords are printed at start: demo mode is for a
// laptop, never for production.
const (
	demoClientID = "demo-app"
	demoUser     = "alice"
	demoPassword = "alice-demo-password"
	demoAdmin    = "admin"
	demoAdminPw  = "admin-demo-password"
)

func addDemoClient(cfg *config.Config) {
	for _, c := range cfg.Clients {
		if c.ID == demoClientID {
			return
		}
	}
	cfg.Clients = append(cfg.Clients, config.Client{
		ID:                     demoClientID,
		RedirectURIs:           []string{"http://localhost:9000/callback", "http://127.0.0.1:9000/callback"},
		PostLogoutRedirectURIs: []string{"http://localhost:9000/"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
	})
}

func seedDemo(ctx context.Context, a *app, out io.Writer) error {
	for _, u := range []struct {
		name, email, pw string
		perms           []string
	}{
		{demoUser, "alice@example.com", demoPassword, nil},
		{demoAdmin, "admin@example.com", demoAdminPw, []string{config.PermissionManageMFA}},
	} {
		if _, err := a.store.GetUserByUsername(ctx, u.name); err == nil {
			continue // seeded by an earlier start
		}
		if _, err := a.addUser(ctx, u.name, u.email, "", u.pw, u.perms); err != nil {
			return fmt.Errorf("demo user %s: %w", u.name, err)
		}
	}
	fmt.Fprintf(out, `stepup demo is running at %[1]s

  users:   %[2]s / %[3]s    (administrator: %[4]s / %[5]s)
  client:  %[6]s (public, PKCE S256), redirect_uri http://localhost:9000/callback
  account: %[1]s/account   (add an authenticator app; the help desk page %[1]s/admin
           needs one for %[4]s, since it asks for aal2)
  try:     %[1]s/authorize?client_id=%[6]s&response_type=code&scope=openid%%20profile&redirect_uri=http://localhost:9000/callback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&acr_values=aal1

`, a.cfg.Issuer, demoUser, demoPassword, demoAdmin, demoAdminPw, demoClientID)
	return nil
}
