package provider

import (
	"context"
	"errors"
	"net/http"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/storage"
)

const sessionCookie = "stepup_session"

// sessionIDFromCookie returns the browser's session ID, or "" when the
// cookie is absent, stale or forged.
func (s *Server) sessionIDFromCookie(r *http.Request) string {
	cs, err := s.cookies.Get(r, sessionCookie)
	if err != nil {
		return ""
	}
	sid, _ := cs.Values["sid"].(string)
	return sid
}

// browserSession loads the server side of the browser's session; a
// missing or expired one is a zero Session without error.
func (s *Server) browserSession(r *http.Request) (storage.Session, error) {
	sid := s.sessionIDFromCookie(r)
	if sid == "" {
		return storage.Session{}, nil
	}
	sess, err := s.store.GetSession(r.Context(), sid)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Session{}, nil
	}
	return sess, err
}

// addFactor records a completed factor. The session is always replaced by
// one with a new ID (rotation when the level rises, SPEC §7), keeping the
// earlier factors only when they belong to the same user.
func (s *Server) addFactor(ctx context.Context, w http.ResponseWriter, r *http.Request, old storage.Session, userID string, f storage.Factor) (storage.Session, error) {
	now := s.now()
	next := storage.Session{ID: newID(24), UserID: userID, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.Session.TTL)}
	if old.ID != "" && old.UserID == userID {
		next.CreatedAt = old.CreatedAt
		for _, have := range old.Factors {
			if have.Method != f.Method {
				next.Factors = append(next.Factors, have)
			}
		}
	}
	next.Factors = append(next.Factors, f)
	if err := s.store.RotateSession(ctx, old.ID, next); err != nil {
		return storage.Session{}, err
	}
	cs, _ := s.cookies.Get(r, sessionCookie) // a stale cookie still yields a usable session
	cs.Values["sid"] = next.ID
	if err := cs.Save(r, w); err != nil {
		return storage.Session{}, err
	}
	return next, nil
}

func flowFactors(fs []storage.Factor) []authflow.Factor {
	out := make([]authflow.Factor, 0, len(fs))
	for _, f := range fs {
		out = append(out, authflow.Factor{Method: f.Method, First: f.First, Levels: f.Levels, AMR: f.AMR, Time: f.Time})
	}
	return out
}
