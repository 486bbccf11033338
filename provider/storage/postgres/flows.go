package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const authRequestCols = `id, client_id, session_id, user_id, done, data, created_at, expires_at`

func scanAuthRequest(row pgx.Row, r *storage.AuthRequest) error {
	return row.Scan(&r.ID, &r.ClientID, &r.SessionID, &r.UserID, &r.Done, &r.Data, tc(&r.CreatedAt), tc(&r.ExpiresAt))
}

func authRequestErr(err error, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("storage: auth request %q: %w", id, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: auth request: %w", err)
}

// CreateAuthRequest stores a new authorization request; ErrAlreadyExists on a duplicate ID.
func (s *Store) CreateAuthRequest(ctx context.Context, r storage.AuthRequest) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_requests (`+authRequestCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.ID, r.ClientID, r.SessionID, r.UserID, r.Done, r.Data, ts(r.CreatedAt), ts(r.ExpiresAt))
	if isUnique(err) {
		return fmt.Errorf("storage: auth request %q: %w", r.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: create auth request: %w", err)
	}
	return nil
}

// GetAuthRequest returns the live request by ID.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	var r storage.AuthRequest
	err := scanAuthRequest(s.pool.QueryRow(ctx, `SELECT `+authRequestCols+` FROM auth_requests
		WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)`, id, liveNow()), &r)
	if err != nil {
		return storage.AuthRequest{}, authRequestErr(err, id)
	}
	return r, nil
}

// UpdateAuthRequest applies fn to the live request while its row is
// locked. ID and CreatedAt keep their stored values.
func (s *Store) UpdateAuthRequest(ctx context.Context, id string, fn func(storage.AuthRequest) (storage.AuthRequest, error)) (storage.AuthRequest, error) {
	var cur, out storage.AuthRequest
	err := s.update(ctx, `SELECT `+authRequestCols+` FROM auth_requests
		WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2) FOR UPDATE`, []any{id, liveNow()},
		func(row pgx.Row) error {
			if err := scanAuthRequest(row, &cur); err != nil {
				return authRequestErr(err, id)
			}
			return nil
		},
		func(tx pgx.Tx) error {
			r, err := fn(cur)
			if err != nil {
				return err
			}
			err = scanAuthRequest(tx.QueryRow(ctx, `UPDATE auth_requests SET client_id = $2, session_id = $3, user_id = $4,
				done = $5, data = $6, expires_at = $7 WHERE id = $1 RETURNING `+authRequestCols,
				id, r.ClientID, r.SessionID, r.UserID, r.Done, r.Data, ts(r.ExpiresAt)), &out)
			if err != nil {
				return fmt.Errorf("storage: update auth request: %w", err)
			}
			return nil
		})
	if err != nil {
		return storage.AuthRequest{}, err
	}
	return out, nil
}

// DeleteAuthRequest removes the request and its codes; absent is not an error.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM auth_requests WHERE id = $1`, id); err != nil {
		return fmt.Errorf("storage: delete auth request: %w", err)
	}
	return nil
}

// SaveAuthCode binds code to a live request: ErrNotFound if the request is
// absent, ErrAlreadyExists if the code is taken.
func (s *Store) SaveAuthCode(ctx context.Context, code, authRequestID string) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO auth_codes (code, auth_request_id)
		SELECT $1, id FROM auth_requests WHERE id = $2 AND (expires_at IS NULL OR expires_at > $3)`,
		code, authRequestID, liveNow())
	switch {
	case isUnique(err):
		return fmt.Errorf("storage: auth code: %w", storage.ErrAlreadyExists)
	case isForeignKey(err): // the request went while we inserted
		return fmt.Errorf("storage: auth request %q: %w", authRequestID, storage.ErrNotFound)
	case err != nil:
		return fmt.Errorf("storage: save auth code: %w", err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("storage: auth request %q: %w", authRequestID, storage.ErrNotFound)
	}
	return nil
}

// ConsumeAuthCode deletes the code and reads its live request in one
// statement; of concurrent calls only the one whose DELETE removed the row
// gets the request. A code whose request has expired is removed and
// reported as absent.
func (s *Store) ConsumeAuthCode(ctx context.Context, code string) (storage.AuthRequest, error) {
	var r storage.AuthRequest
	err := scanAuthRequest(s.pool.QueryRow(ctx, `WITH c AS (DELETE FROM auth_codes WHERE code = $1 RETURNING auth_request_id)
		SELECT r.id, r.client_id, r.session_id, r.user_id, r.done, r.data, r.created_at, r.expires_at
		FROM c JOIN auth_requests r ON r.id = c.auth_request_id
		WHERE r.expires_at IS NULL OR r.expires_at > $2`, code, liveNow()), &r)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.AuthRequest{}, fmt.Errorf("storage: auth code: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.AuthRequest{}, fmt.Errorf("storage: consume auth code: %w", err)
	}
	return r, nil
}

const sessionCols = `id, user_id, factors, created_at, updated_at, expires_at`

func scanSession(row pgx.Row, s *storage.Session) error {
	if err := row.Scan(&s.ID, &s.UserID, js(&s.Factors), tc(&s.CreatedAt), tc(&s.UpdatedAt), tc(&s.ExpiresAt)); err != nil {
		return err
	}
	for i := range s.Factors {
		s.Factors[i].Time = s.Factors[i].Time.UTC()
	}
	return nil
}

func sessionErr(err error, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("storage: session %q: %w", id, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: session: %w", err)
}

// CreateSession stores a new session; ErrAlreadyExists on a duplicate ID.
func (s *Store) CreateSession(ctx context.Context, sess storage.Session) error {
	factors, err := toJSON(sess.Factors)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		sess.ID, sess.UserID, factors, ts(sess.CreatedAt), ts(sess.UpdatedAt), ts(sess.ExpiresAt))
	if isUnique(err) {
		return fmt.Errorf("storage: session %q: %w", sess.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: create session: %w", err)
	}
	return nil
}

// RotateSession stores next and removes oldID in one statement (one
// transaction, one round trip).
func (s *Store) RotateSession(ctx context.Context, oldID string, next storage.Session) error {
	factors, err := toJSON(next.Factors)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `WITH gone AS (DELETE FROM sessions WHERE id = $7)
		INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		next.ID, next.UserID, factors, ts(next.CreatedAt), ts(next.UpdatedAt), ts(next.ExpiresAt), oldID)
	if isUnique(err) {
		return fmt.Errorf("storage: session %q: %w", next.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: rotate session: %w", err)
	}
	return nil
}

// GetSession returns the live session by ID.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var sess storage.Session
	err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)`, id, liveNow()), &sess)
	if err != nil {
		return storage.Session{}, sessionErr(err, id)
	}
	return sess, nil
}

// UpdateSession applies fn to the live session while its row is locked.
// ID and CreatedAt keep their stored values.
func (s *Store) UpdateSession(ctx context.Context, id string, fn func(storage.Session) (storage.Session, error)) (storage.Session, error) {
	var cur, out storage.Session
	err := s.update(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2) FOR UPDATE`, []any{id, liveNow()},
		func(row pgx.Row) error {
			if err := scanSession(row, &cur); err != nil {
				return sessionErr(err, id)
			}
			return nil
		},
		func(tx pgx.Tx) error {
			sess, err := fn(cur)
			if err != nil {
				return err
			}
			factors, err := toJSON(sess.Factors)
			if err != nil {
				return err
			}
			err = scanSession(tx.QueryRow(ctx, `UPDATE sessions SET user_id = $2, factors = $3, updated_at = $4,
				expires_at = $5 WHERE id = $1 RETURNING `+sessionCols,
				id, sess.UserID, factors, ts(sess.UpdatedAt), ts(sess.ExpiresAt)), &out)
			if err != nil {
				return fmt.Errorf("storage: update session: %w", err)
			}
			return nil
		})
	if err != nil {
		return storage.Session{}, err
	}
	return out, nil
}

// DeleteSession removes a session; absent is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("storage: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of a user and returns how many
// live ones went (expired ones go too, uncounted).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `WITH d AS (DELETE FROM sessions WHERE user_id = $1 RETURNING expires_at)
		SELECT count(*) FROM d WHERE expires_at IS NULL OR expires_at > $2`, userID, liveNow()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("storage: delete user sessions: %w", err)
	}
	return n, nil
}
