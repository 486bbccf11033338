package protocol

import (
	"context"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// userinfo sets the standard claims of userID the scopes allow.
func (o *Storage) userinfo(ctx context.Context, ui *oidc.UserInfo, userID string, scopes []string) error {
	ui.Subject = userID
	if !slices.ContainsFunc(scopes, func(sc string) bool {
		return sc == oidc.ScopeProfile || sc == oidc.ScopeEmail || sc == oidc.ScopePhone
	}) {
		return nil
	}
	u, err := o.Store.GetUser(ctx, userID)
	noteOutage(ctx, err)
	if err != nil {
		return err
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		ui.PreferredUsername = u.Username
		ui.Name = u.Name
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		ui.Email = u.Email
	}
	if slices.Contains(scopes, oidc.ScopePhone) && u.Phone != "" {
		ui.PhoneNumber = u.Phone
	}
	return nil
}
