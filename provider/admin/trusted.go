package admin

import (
	"context"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// TrustedBrowsers lists the browsers the user trusted ("don't ask again
// on this browser"), the most recently trusted first.
func (s *Service) TrustedBrowsers(ctx context.Context, userID string) ([]storage.TrustedBrowser, error) {
	return s.Store.ListTrustedBrowsers(ctx, userID)
}

// ForgetTrustedBrowsers forgets every browser u trusted, writing events
// (the administrator's, completed by the caller) in the same transaction,
// and returns how many were trusted.
func (s *Service) ForgetTrustedBrowsers(ctx context.Context, u storage.User, events ...storage.Event) (int64, error) {
	return s.Store.DeleteUserTrustedBrowsers(ctx, u.ID, events...)
}

// forgetOnSignOut forgets the user's trusted browsers when an
// administrator signs them out everywhere (deactivation, a lost device),
// audited when there were any.
func (s *Service) forgetOnSignOut(ctx context.Context, userID string) error {
	n, err := s.Store.DeleteUserTrustedBrowsers(ctx, userID)
	if err == nil && n > 0 && s.Audit != nil {
		s.Audit(ctx, "trusted_browser.forgotten", userID, "success", map[string]string{"by": "admin", "scope": "all", "reason": "signed out everywhere"})
	}
	return err
}
