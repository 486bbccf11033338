package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const authRequestCols = `id, client_id, session_id, user_id, done, data, created_at, expires_at`

var (
	insertAuthRequestSQL = writeSQL(`INSERT INTO auth_requests (` + authRequestCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	lockAuthRequestSQL   = writeSQL(`SELECT ` + authRequestCols + ` FROM auth_requests
		WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)`)
	updateAuthRequestSQL = writeSQL(`UPDATE auth_requests SET client_id = ?, session_id = ?, user_id = ?, done = ?,
		data = ?, expires_at = ? WHERE id = ?`)
	deleteAuthRequestSQL = writeSQL(`DELETE FROM auth_requests WHERE id = ?`)
	redeemAuthRequestSQL = writeSQL(`DELETE FROM auth_requests
		WHERE id = ? AND done AND (expires_at IS NULL OR expires_at > ?) RETURNING client_id, user_id, data, expires_at`)
	// The record lives as long as the latest of its three expiries; NULL
	// (never) when any is NULL, as SQLite's max of several values is.
	insertRedeemedCodeSQL = writeSQL(`INSERT INTO redeemed_codes (` + redeemedCodeCols + `)
		VALUES (?1, ?2, ?3, ?4, ?5, max(?6, ?7, ?8))`)
	getRedeemedCodeSQL = `SELECT ` + redeemedCodeCols + ` FROM redeemed_codes
		WHERE request_id = ? AND (expires_at IS NULL OR expires_at > ?)`
	lockRedeemedCodeSQL = writeSQL(getRedeemedCodeSQL)
	revokeGrantSQL      = []string{
		writeSQL(`DELETE FROM refresh_tokens WHERE grant_id = ?1 AND grant_id <> '' RETURNING expires_at`),
		writeSQL(`DELETE FROM access_tokens WHERE grant_id = ?1 AND grant_id <> '' RETURNING expires_at`),
	}

	insertSessionSQL      = writeSQL(`INSERT INTO sessions (` + sessionCols + `) VALUES (?, ?, ?, ?, ?, ?)`)
	deleteSessionSQL      = writeSQL(`DELETE FROM sessions WHERE id = ?`)
	deleteUserSessionsSQL = writeSQL(`DELETE FROM sessions WHERE user_id = ? RETURNING expires_at`)
)

func scanAuthRequest(row scanner) (storage.AuthRequest, error) {
	var r storage.AuthRequest
	err := row.Scan(&r.ID, &r.ClientID, &r.SessionID, &r.UserID, &r.Done, &r.Data, ts(&r.CreatedAt), ts(&r.ExpiresAt))
	return r, err
}

func authRequestErr(err error, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("storage: auth request %q: %w", id, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: auth request: %w", err)
}

// CreateAuthRequest stores a new authorization request; ErrAlreadyExists on a duplicate ID.
func (s *Store) CreateAuthRequest(ctx context.Context, r storage.AuthRequest, events ...storage.Event) error {
	rows, err := eventRows(events)
	if err != nil {
		return err
	}
	insert := func(ctx context.Context, tx *sql.Tx) error {
		if err := s.insertAuthRequest(ctx, tx, r); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, rows)
	}
	if len(rows) == 0 {
		return insert(ctx, nil)
	}
	return s.write(ctx, insert)
}

func (s *Store) insertAuthRequest(ctx context.Context, tx *sql.Tx, r storage.AuthRequest) error {
	_, err := s.exec(ctx, tx, insertAuthRequestSQL,
		r.ID, r.ClientID, r.SessionID, r.UserID, r.Done, r.Data, micros(r.CreatedAt), micros(r.ExpiresAt))
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
	r, err := scanAuthRequest(s.readRow(ctx, `SELECT `+authRequestCols+` FROM auth_requests
		WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)`, id, s.liveNow()))
	if err != nil {
		return storage.AuthRequest{}, authRequestErr(err, id)
	}
	return r, nil
}

// UpdateAuthRequest applies fn to the live request in one write
// transaction. ID and CreatedAt keep their stored values.
func (s *Store) UpdateAuthRequest(ctx context.Context, id string, fn func(storage.AuthRequest) (storage.AuthRequest, error)) (storage.AuthRequest, error) {
	var out storage.AuthRequest
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		out, err = s.updateAuthRequest(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return storage.AuthRequest{}, err
	}
	return out, nil
}

func (s *Store) updateAuthRequest(ctx context.Context, tx *sql.Tx, id string, fn func(storage.AuthRequest) (storage.AuthRequest, error)) (storage.AuthRequest, error) {
	cur, err := scanAuthRequest(s.queryRow(ctx, tx, lockAuthRequestSQL, id, s.liveNow()))
	if err != nil {
		return storage.AuthRequest{}, authRequestErr(err, id)
	}
	r, err := fn(cur)
	if err != nil {
		return storage.AuthRequest{}, err
	}
	if _, err := s.exec(ctx, tx, updateAuthRequestSQL,
		r.ClientID, r.SessionID, r.UserID, r.Done, r.Data, micros(r.ExpiresAt), id); err != nil {
		return storage.AuthRequest{}, fmt.Errorf("storage: update auth request: %w", err)
	}
	// The row as stored, without reading back its kilobyte of data.
	r.ID, r.CreatedAt, r.ExpiresAt = cur.ID, cur.CreatedAt, asStored(r.ExpiresAt)
	return r, nil
}

// DeleteAuthRequest removes the request; absent is not an error.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := s.exec(ctx, nil, deleteAuthRequestSQL, id); err != nil {
		return fmt.Errorf("storage: delete auth request: %w", err)
	}
	return nil
}

const redeemedCodeCols = `request_id, client_id, user_id, data, redeemed_at, expires_at`

// scanRedeemedCode scans the record of request id's redemption.
func scanRedeemedCode(row scanner, id string) (storage.RedeemedCode, error) {
	var rc storage.RedeemedCode
	err := row.Scan(&rc.RequestID, &rc.ClientID, &rc.UserID, &rc.Data, ts(&rc.RedeemedAt), ts(&rc.ExpiresAt))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.RedeemedCode{}, fmt.Errorf("storage: redeemed code %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return storage.RedeemedCode{}, fmt.Errorf("storage: redeemed code: %w", err)
	}
	return rc, nil
}

// RedeemAuthRequest removes the live, done request, records its
// redemption and stores the tokens issued for it, with the request as
// their grant, in one write: of concurrent calls only the one whose DELETE
// removed the row stores its tokens.
func (s *Store) RedeemAuthRequest(ctx context.Context, id string, rt *storage.RefreshToken, at storage.AccessToken) error {
	at.GrantID = id
	rtExpires := micros(at.ExpiresAt)
	if rt != nil {
		withGrant := *rt
		withGrant.GrantID = id
		rt, rtExpires = &withGrant, micros(rt.ExpiresAt)
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.liveNow()
		var r storage.AuthRequest
		err := s.queryRow(ctx, tx, redeemAuthRequestSQL, id, now).Scan(&r.ClientID, &r.UserID, &r.Data, ts(&r.ExpiresAt))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("storage: auth request %q: %w", id, storage.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("storage: redeem auth request: %w", err)
		}
		if _, err := s.exec(ctx, tx, insertRedeemedCodeSQL, id, r.ClientID, r.UserID, r.Data, now,
			micros(r.ExpiresAt), micros(at.ExpiresAt), rtExpires); err != nil {
			return fmt.Errorf("storage: redeem auth request: %w", err)
		}
		return s.insertTokens(ctx, tx, rt, &at)
	})
}

// GetRedeemedCode returns the live record of request id's redemption.
func (s *Store) GetRedeemedCode(ctx context.Context, id string) (storage.RedeemedCode, error) {
	return scanRedeemedCode(s.readRow(ctx, getRedeemedCodeSQL, id, s.liveNow()), id)
}

// RevokeCodeGrant removes the tokens of the grant id began, in one write
// transaction, when its redemption's record is live. SQLite's one writer
// orders it with every rotation.
func (s *Store) RevokeCodeGrant(ctx context.Context, id string) (storage.RedeemedCode, int64, error) {
	var rc storage.RedeemedCode
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if rc, err = scanRedeemedCode(s.queryRow(ctx, tx, lockRedeemedCodeSQL, id, s.liveNow()), id); err != nil {
			return err
		}
		for _, q := range revokeGrantSQL {
			k, err := s.deleteCountingLive(ctx, tx, q, id)
			if err != nil {
				return fmt.Errorf("storage: revoke code grant: %w", err)
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return storage.RedeemedCode{}, 0, err
	}
	return rc, n, nil
}

const (
	sessionCols   = `id, user_id, factors, created_at, updated_at, expires_at`
	getSessionSQL = `SELECT ` + sessionCols + ` FROM sessions
		WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)`
	// The derived tables make s.* sessionCols and u.* userCols, in order.
	getSessionUserSQL = `SELECT s.*, u.* FROM (` + getSessionSQL + `) s
		JOIN (SELECT ` + userCols + ` FROM users) u ON u.id = s.user_id`
)

// scanSession scans sessionCols, then the row's further columns into more.
func scanSession(row scanner, more ...any) (storage.Session, error) {
	var s storage.Session
	err := row.Scan(append([]any{&s.ID, &s.UserID, js(&s.Factors), ts(&s.CreatedAt), ts(&s.UpdatedAt), ts(&s.ExpiresAt)}, more...)...)
	for i := range s.Factors {
		s.Factors[i].Time = s.Factors[i].Time.UTC()
	}
	return s, err
}

func sessionErr(err error, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("storage: session %q: %w", id, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: session: %w", err)
}

// SaveLogin writes w in one write transaction: the session rotation,
// the request's update and the events.
func (s *Store) SaveLogin(ctx context.Context, w storage.LoginWrite) (storage.AuthRequest, error) {
	var factors string
	if w.Session.ID != "" {
		var err error
		if factors, err = toJSON(w.Session.Factors); err != nil {
			return storage.AuthRequest{}, err
		}
	}
	events, err := eventRows(w.Events)
	if err != nil {
		return storage.AuthRequest{}, err
	}
	var kv func(context.Context, *sql.Tx) (int64, error)
	if w.KV != nil {
		if kv, err = s.kvWrite(*w.KV); err != nil {
			return storage.AuthRequest{}, err
		}
	}
	var out storage.AuthRequest
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if w.Session.ID != "" {
			next := w.Session
			_, err := s.exec(ctx, tx, insertSessionSQL, next.ID, next.UserID, factors,
				micros(next.CreatedAt), micros(next.UpdatedAt), micros(next.ExpiresAt))
			if isUnique(err) {
				return fmt.Errorf("storage: session %q: %w", next.ID, storage.ErrAlreadyExists)
			}
			if err != nil {
				return fmt.Errorf("storage: rotate session: %w", err)
			}
			if _, err := s.exec(ctx, tx, deleteSessionSQL, w.OldSessionID); err != nil {
				return fmt.Errorf("storage: rotate session: %w", err)
			}
		}
		if w.AuthRequestID != "" {
			var err error
			if out, err = s.updateAuthRequest(ctx, tx, w.AuthRequestID, w.Update); err != nil {
				return err
			}
		} else if w.Create.ID != "" {
			if err := s.insertAuthRequest(ctx, tx, w.Create); err != nil {
				return err
			}
			out = w.Create
		}
		if kv != nil {
			if _, err := kv(ctx, tx); err != nil {
				return err
			}
		}
		return s.insertEvents(ctx, tx, events)
	})
	if err != nil {
		return storage.AuthRequest{}, err
	}
	return out, nil
}

// GetSession returns the live session by ID.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	sess, err := scanSession(s.readRow(ctx, getSessionSQL, id, s.liveNow()))
	if err != nil {
		return storage.Session{}, sessionErr(err, id)
	}
	return sess, nil
}

// GetSessionUser returns the live session by ID with its user, in one read
// unless the session has no user or its user is absent: then the session
// is read alone, with the zero user.
func (s *Store) GetSessionUser(ctx context.Context, id string) (storage.Session, storage.User, error) {
	var u storage.User
	sess, err := scanSession(s.readRow(ctx, getSessionUserSQL, id, s.liveNow()), userDest(&u)...)
	if errors.Is(err, sql.ErrNoRows) { // no such session, or a session without its user
		sess, err = s.GetSession(ctx, id)
		return sess, storage.User{}, err
	}
	if err != nil {
		return storage.Session{}, storage.User{}, sessionErr(err, id)
	}
	return sess, u, nil
}

// DeleteSession removes a session; absent is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string, events ...storage.Event) error {
	return s.deleteWith(ctx, "session", deleteSessionSQL, id, events)
}

// deleteWith runs the delete q of one row by id, and appends events in
// the same transaction.
func (s *Store) deleteWith(ctx context.Context, what, q, id string, events []storage.Event) error {
	rows, err := eventRows(events)
	if err != nil {
		return err
	}
	del := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, q, id); err != nil {
			return fmt.Errorf("storage: delete %s: %w", what, err)
		}
		return s.insertEvents(ctx, tx, rows)
	}
	if len(rows) == 0 {
		return del(ctx, nil)
	}
	return s.write(ctx, del)
}

// DeleteUserSessions removes every session of a user and returns how many
// live ones went (expired ones go too, uncounted).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = s.deleteCountingLive(ctx, tx, deleteUserSessionsSQL, userID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: delete user sessions: %w", err)
	}
	return n, nil
}

// deleteCountingLive runs a DELETE ... RETURNING expires_at and counts the
// rows that had not expired.
func (s *Store) deleteCountingLive(ctx context.Context, tx *sql.Tx, q string, args ...any) (int64, error) {
	rows, err := s.query(ctx, tx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	now := s.liveNow()
	var n int64
	for rows.Next() {
		var exp sql.NullInt64
		if err := rows.Scan(&exp); err != nil {
			return 0, err
		}
		if !exp.Valid || exp.Int64 > now {
			n++
		}
	}
	return n, rows.Err()
}
