package provider

import (
	"context"
	"time"
)

// IssueTempCodeBreakGlass issues a temporary code offline, for the only
// administrator who is locked out (stepup temp-code issue). It obeys every
// rule of IssueTempCode except the one against issuing for oneself, and
// is audited as break-glass.
func (s *Server) IssueTempCodeBreakGlass(ctx context.Context, username, ttl string) (TempCode, error) {
	u, err := s.userByName(ctx, username)
	if err != nil {
		return TempCode{}, err
	}
	actor := adminActor{name: "break-glass"}
	ctx = context.WithValue(ctx, adminActorKey{}, actor)
	tc, err := s.IssueTempCode(ctx, actor, u, ttl)
	if err != nil {
		s.adminAudit(ctx, "tempcode.issue_refused", u.ID, "failure", map[string]string{"ttl": ttl, "break_glass": "true", "reason": err.Error()})
		return TempCode{}, err
	}
	s.adminAudit(ctx, "tempcode.issued", u.ID, "success", map[string]string{"ttl": ttl, "break_glass": "true",
		"expires_at": tc.ExpiresAt.Format(time.RFC3339)})
	return tc, nil
}
