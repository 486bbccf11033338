package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/examples/relyingparty/bank"
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
	// defaultDemoListen is where the demo application listens: the demo
	// client's redirect URI of SPEC §2 is http://localhost:9000/callback.
	defaultDemoListen = "127.0.0.1:9000"
)

// demoURL is where browsers reach the demo application listening on
// listen: localhost for a loopback address, so that its redirect URI is
// the one SPEC §2 names.
func demoURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("--demo-listen %q: give a host:port with a fixed port, e.g. %s", listen, defaultDemoListen)
	}
	if ip := net.ParseIP(host); host == "" || host == "localhost" || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified())) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// addDemoClient registers the demo application as the public client
// demo-app, or, when the configuration has one already, adds the demo
// application's redirect URIs to it.
func addDemoClient(cfg *config.Config, appURL string) {
	redirect, loopback := appURL+"/callback", strings.Replace(appURL, "//localhost:", "//127.0.0.1:", 1)+"/callback"
	for i, c := range cfg.Clients {
		if c.ID == demoClientID {
			for _, u := range []string{redirect, loopback} {
				if !slices.Contains(c.RedirectURIs, u) {
					cfg.Clients[i].RedirectURIs = append(cfg.Clients[i].RedirectURIs, u)
				}
			}
			if !slices.Contains(c.PostLogoutRedirectURIs, appURL+"/") {
				cfg.Clients[i].PostLogoutRedirectURIs = append(cfg.Clients[i].PostLogoutRedirectURIs, appURL+"/")
			}
			return
		}
	}
	cfg.Clients = append(cfg.Clients, config.Client{
		ID:                     demoClientID,
		RedirectURIs:           []string{redirect, loopback},
		PostLogoutRedirectURIs: []string{appURL + "/"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
	})
}

// seedDemo creates the demo user and administrator, unless an earlier
// start did.
func seedDemo(ctx context.Context, a *app) error {
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
	return nil
}

// demoApp is the example relying party (examples/relyingparty/bank) as
// stepup serve --demo runs it, beside the provider.
type demoApp struct {
	srv *http.Server
	ln  net.Listener
	url string
}

// listenDemo takes the demo application's address before anything else
// starts, so that a busy port stops stepup serve with one clear line.
func listenDemo(listen string) (*demoApp, error) {
	u, err := demoURL(listen)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s for the demo application: %w (set another address with --demo-listen)", listen, err)
	}
	return &demoApp{ln: ln, url: u}, nil
}

// start discovers the provider, which must be serving on stepupAddr, and
// serves the demo application until ctx ends. The application reaches
// the issuer at stepupAddr whatever the issuer's host resolves to: it
// talks to this very process.
func (d *demoApp) start(ctx context.Context, issuer, stepupAddr string, log *slog.Logger) error {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	issuerHost := hostPort(issuer)
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == issuerHost {
			addr = stepupAddr
		}
		return dialer.DialContext(ctx, network, addr)
	}
	app, err := bank.New(bank.Config{Issuer: issuer, ClientID: demoClientID, BaseURL: d.url,
		HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}, Logger: log.With("component", "demo-app")})
	if err != nil {
		d.ln.Close()
		return fmt.Errorf("demo application: %w", err)
	}
	d.srv = newHTTPServer(app, serveLimits)
	go func() {
		if err := d.srv.Serve(d.ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo application stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.srv.Shutdown(shutdownCtx)
	}()
	return nil
}

// hostPort is the host:port an http(s) URL is dialled at.
func hostPort(rawURL string) string {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	host, _, _ := strings.Cut(rest, "/")
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return net.JoinHostPort(host, "443")
	}
	return net.JoinHostPort(host, "80")
}

// printDemo says where to go, once everything it names answers.
func printDemo(out io.Writer, issuer, appURL string) {
	fmt.Fprintf(out, `stepup demo is running at %[1]s

  start here: %[7]s   (the example application: sign in, see what
              stepup's ID token says, then make a "transfer", which
              asks for a second factor)
  users:      %[2]s / %[3]s    (administrator: %[4]s / %[5]s)
  account:    %[1]s/account   (add an authenticator app: the transfer
              and the help desk page %[1]s/admin need one)
  client:     %[6]s (public, PKCE S256), redirect_uri %[7]s/callback

`, issuer, demoUser, demoPassword, demoAdmin, demoAdminPw, demoClientID, appURL)
}
