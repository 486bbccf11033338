package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/securecookie"

	"github.com/stepup-mfa/stepup/authflow"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
)

const sessionCookie = "stepup_session"

// cookieValues serializes the session cookie's values, which are strings
// ("sid"), as a JSON object. gorilla/sessions' default, gob, compiles a
// decoder for every cookie it reads: 3% of a step-up flow's CPU. A cookie
// from before (gob) still decodes, so an upgrade signs nobody out.
type cookieValues struct{}

func (cookieValues) Serialize(src any) ([]byte, error) {
	values, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("session cookie: cannot serialize %T", src)
	}
	out := make(map[string]string, len(values))
	for k, v := range values {
		ks, kok := k.(string)
		vs, vok := v.(string)
		if !kok || !vok {
			return nil, fmt.Errorf("session cookie: value %v = %v is not a string pair", k, v)
		}
		out[ks] = vs
	}
	return json.Marshal(out)
}

func (cookieValues) Deserialize(src []byte, dst any) error {
	values, ok := dst.(*map[any]any)
	if !ok {
		return fmt.Errorf("session cookie: cannot deserialize into %T", dst)
	}
	var in map[string]string
	if err := json.Unmarshal(src, &in); err != nil {
		return securecookie.GobEncoder{}.Deserialize(src, dst)
	}
	if *values == nil {
		*values = make(map[any]any, len(in))
	}
	for k, v := range in {
		(*values)[k] = v
	}
	return nil
}

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

// browserSession loads the server side of the browser's session and its
// signed-in user, in one read. A missing or expired session is a zero
// Session; the User is zero unless the session's user exists and is
// active. Neither is an error.
func (s *Server) browserSession(r *http.Request) (storage.Session, storage.User, error) {
	sid := s.sessionIDFromCookie(r)
	if sid == "" {
		return storage.Session{}, storage.User{}, nil
	}
	sess, user, err := s.store.GetSessionUser(r.Context(), sid)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.Session{}, storage.User{}, nil
	case err != nil:
		return storage.Session{}, storage.User{}, err
	case !user.Active:
		return sess, storage.User{}, nil
	}
	return sess, user, nil
}

// nextSession is the session that records a completed factor. It always
// has a new ID (rotation when the level rises, SPEC §7) and keeps the
// earlier factors only when they belong to the same user.
func (s *Server) nextSession(old storage.Session, userID string, f storage.Factor) storage.Session {
	now := s.now()
	next := storage.Session{ID: protocol.NewID(24), UserID: userID, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.Session.TTL)}
	if old.ID != "" && old.UserID == userID {
		next.CreatedAt = old.CreatedAt
		for _, have := range old.Factors {
			if have.Method != f.Method {
				next.Factors = append(next.Factors, have)
			}
		}
	}
	next.Factors = append(next.Factors, f)
	return next
}

// setSessionCookie points the browser at the session id.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) error {
	cs, _ := s.cookies.Get(r, sessionCookie) // a stale cookie still yields a usable session
	cs.Values["sid"] = id
	return cs.Save(r, w)
}

func flowFactors(fs []storage.Factor) []authflow.Factor {
	out := make([]authflow.Factor, 0, len(fs))
	for _, f := range fs {
		out = append(out, authflow.Factor{Method: f.Method, First: f.First, Levels: f.Levels, AMR: f.AMR, Time: f.Time})
	}
	return out
}
