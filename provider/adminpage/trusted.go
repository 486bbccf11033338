package adminpage

import (
	"context"
	"net/http"
	"net/url"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/web"
)

// adminBrowsersForgotten is the done parameter after "forget all
// trusted browsers".
const adminBrowsersForgotten = "browsers-forgotten"

// fillTrustedBrowsers lists the user's trusted browsers on the page,
// while trusting browsers is enabled.
func (h *Handler) fillTrustedBrowsers(ctx context.Context, p *web.Page, u storage.User) error {
	if !h.Config.TrustedBrowser.Enabled {
		return nil
	}
	p.Admin.Trust = true
	bs, err := h.Admin.TrustedBrowsers(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, b := range bs {
		tb := web.TrustedBrowser{ID: b.ID, Name: b.Name, Trusted: b.CreatedAt.UTC().Format(pageTimeFormat)}
		if !b.LastUsedAt.IsZero() {
			tb.LastUsed = b.LastUsedAt.UTC().Format(pageTimeFormat)
		}
		p.Admin.TrustedBrowsers = append(p.Admin.TrustedBrowsers, tb)
	}
	return nil
}

// handleForgetBrowsers forgets every browser the user trusted, from the
// button on the help desk's page.
func (h *Handler) handleForgetBrowsers(w http.ResponseWriter, r *http.Request) {
	ctx, staff, u, ok := h.adminPost(w, r)
	if !ok {
		return
	}
	if _, err := h.Admin.ForgetTrustedBrowsers(ctx, u, h.Audit.AdminEvent(ctx, "trusted_browser.forgotten", u.ID, "success",
		map[string]string{"by": "admin", "scope": "all"})); err != nil {
		h.Audit.Admin(ctx, "trusted_browser.forget_failed", u.ID, "failure", map[string]string{"by": "admin", "scope": "all"})
		h.adminPageError(w, r, staff, u.Username, err)
		return
	}
	http.Redirect(w, r, "/admin?"+adminDoneParam+"="+adminBrowsersForgotten+"&user="+url.QueryEscape(u.Username), http.StatusSeeOther)
}
