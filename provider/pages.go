package provider

import (
	"log/slog"
	"net/http"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/web"
)

// newPages is how every page of cfg looks: its product name, logo and
// support text (config ui), and a sign-out link for a browser signedIn
// says is signed in.
func newPages(cfg config.Config, log *slog.Logger, signedIn func(*http.Request) bool) web.Pages {
	return web.Pages{Log: log, SignedIn: signedIn,
		UI: web.UI{ProductName: cfg.UI.ProductName, LogoURL: cfg.UI.LogoURL, SupportText: cfg.UI.SupportText}}
}
