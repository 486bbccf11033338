package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
func (s *Store) CreateAuthRequest(ctx context.Context, r storage.AuthRequest, events ...storage.Event) error {
	rows, err := eventArgs(events)
	if err != nil {
		return err
	}
	// One batch is one implicit transaction: the request and its events,
	// or neither.
	b := &pgx.Batch{}
	queueAuthRequest(b, r)
	queueEvents(b, rows)
	err = s.pool.SendBatch(ctx, b).Close()
	if isUnique(err) {
		return fmt.Errorf("storage: auth request %q: %w", r.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: create auth request: %w", err)
	}
	return nil
}

// queueAuthRequest queues the insert of a new request r.
func queueAuthRequest(b *pgx.Batch, r storage.AuthRequest) {
	b.Queue(`INSERT INTO auth_requests (`+authRequestCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.ID, r.ClientID, r.SessionID, r.UserID, r.Done, r.Data, ts(r.CreatedAt), ts(r.ExpiresAt))
}

// GetAuthRequest returns the live request by ID.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	var r storage.AuthRequest
	err := scanAuthRequest(s.pool.QueryRow(ctx, `SELECT `+authRequestCols+` FROM auth_requests
		WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)`, id, s.liveNow()), &r)
	if err != nil {
		return storage.AuthRequest{}, authRequestErr(err, id)
	}
	return r, nil
}

// UpdateAuthRequest applies fn to the live request while its row is
// locked. ID and CreatedAt keep their stored values.
func (s *Store) UpdateAuthRequest(ctx context.Context, id string, fn func(storage.AuthRequest) (storage.AuthRequest, error)) (storage.AuthRequest, error) {
	return s.updateAuthRequest(ctx, id, fn, nil)
}

// updateAuthRequest applies fn to the live request while its row is
// locked, and queues more (when non-nil) in the same transaction, sent
// with the update in one round trip.
func (s *Store) updateAuthRequest(ctx context.Context, id string, fn func(storage.AuthRequest) (storage.AuthRequest, error), more func(*pgx.Batch)) (storage.AuthRequest, error) {
	var cur, out storage.AuthRequest
	err := s.update(ctx, `SELECT `+authRequestCols+` FROM auth_requests
		WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2) FOR UPDATE`, []any{id, s.liveNow()},
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
			b := &pgx.Batch{}
			b.Queue(`UPDATE auth_requests SET client_id = $2, session_id = $3, user_id = $4,
				done = $5, data = $6, expires_at = $7 WHERE id = $1 RETURNING `+authRequestCols,
				id, r.ClientID, r.SessionID, r.UserID, r.Done, r.Data, ts(r.ExpiresAt)).QueryRow(func(row pgx.Row) error {
				return scanAuthRequest(row, &out)
			})
			if more != nil {
				more(b)
			}
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("storage: update auth request: %w", err)
			}
			return nil
		})
	if err != nil {
		return storage.AuthRequest{}, err
	}
	return out, nil
}

// DeleteAuthRequest removes the request; absent is not an error.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM auth_requests WHERE id = $1`, id); err != nil {
		return fmt.Errorf("storage: delete auth request: %w", err)
	}
	return nil
}

// RedeemAuthRequest removes the live, done request, records its
// redemption and stores the tokens issued for it, with the request as
// their grant, in one statement: a concurrent redemption blocks on the
// row, then finds it gone, inserts nothing and counts 0.
func (s *Store) RedeemAuthRequest(ctx context.Context, id string, rt *storage.RefreshToken, at storage.AccessToken) error {
	q, expiries := redeemSQL, []any{ts(at.ExpiresAt), ts(at.ExpiresAt)}
	if rt != nil {
		q, expiries[1] = redeemWithRefreshSQL, ts(rt.ExpiresAt)
	}
	n, err := s.spend(ctx, q, id, expiries, false, rt, &at)
	if err != nil {
		return fmt.Errorf("storage: redeem auth request: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("storage: auth request %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

const redeemedCodeCols = `request_id, client_id, user_id, data, redeemed_at, expires_at`

func scanRedeemedCode(row pgx.Row, rc *storage.RedeemedCode) error {
	return row.Scan(&rc.RequestID, &rc.ClientID, &rc.UserID, &rc.Data, tc(&rc.RedeemedAt), tc(&rc.ExpiresAt))
}

func redeemedCodeErr(err error, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("storage: redeemed code %q: %w", id, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: redeemed code: %w", err)
}

// GetRedeemedCode returns the live record of request id's redemption.
func (s *Store) GetRedeemedCode(ctx context.Context, id string) (storage.RedeemedCode, error) {
	var rc storage.RedeemedCode
	err := scanRedeemedCode(s.pool.QueryRow(ctx, `SELECT `+redeemedCodeCols+` FROM redeemed_codes
		WHERE request_id = $1 AND (expires_at IS NULL OR expires_at > $2)`, id, s.liveNow()), &rc)
	if err != nil {
		return storage.RedeemedCode{}, redeemedCodeErr(err, id)
	}
	return rc, nil
}

// revokeGrantSQL removes a grant's tokens and counts the live ones; it
// runs after lockRedeemedCodeSQL, in the same transaction but with a
// snapshot of its own, so that it sees the tokens of a rotation that held
// the record until then.
const (
	lockRedeemedCodeSQL = `SELECT ` + redeemedCodeCols + ` FROM redeemed_codes
		WHERE request_id = $1 AND (expires_at IS NULL OR expires_at > $2) FOR UPDATE`
	revokeGrantSQL = `WITH
		rc AS (SELECT 1 FROM redeemed_codes WHERE request_id = $1 AND (expires_at IS NULL OR expires_at > $2)),
		r AS (DELETE FROM refresh_tokens WHERE grant_id = $1 AND grant_id <> '' AND EXISTS (SELECT 1 FROM rc)
			RETURNING expires_at),
		a AS (DELETE FROM access_tokens WHERE grant_id = $1 AND grant_id <> '' AND EXISTS (SELECT 1 FROM rc)
			RETURNING expires_at)
		SELECT (SELECT count(*) FROM r WHERE expires_at IS NULL OR expires_at > $2)
			+ (SELECT count(*) FROM a WHERE expires_at IS NULL OR expires_at > $2)`
)

// RevokeCodeGrant locks the live redemption record of id and then removes
// its grant's tokens, in one transaction and one round trip.
func (s *Store) RevokeCodeGrant(ctx context.Context, id string) (storage.RedeemedCode, int64, error) {
	var rc storage.RedeemedCode
	var n int64
	var lockErr error
	now := s.liveNow()
	b := &pgx.Batch{}
	b.Queue(lockRedeemedCodeSQL, id, now).QueryRow(func(row pgx.Row) error {
		lockErr = scanRedeemedCode(row, &rc)
		return nil
	})
	b.Queue(revokeGrantSQL, id, now).QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
	// A batch outside a transaction runs as one implicit transaction.
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return storage.RedeemedCode{}, 0, fmt.Errorf("storage: revoke code grant: %w", err)
	}
	if lockErr != nil {
		return storage.RedeemedCode{}, 0, redeemedCodeErr(lockErr, id)
	}
	return rc, n, nil
}

const (
	sessionCols   = `id, user_id, factors, created_at, updated_at, expires_at`
	getSessionSQL = `SELECT ` + sessionCols + ` FROM sessions
		WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)`
	// The derived tables make s.* sessionCols and u.* userCols, in order.
	getSessionUserSQL = `SELECT s.*, u.* FROM (` + getSessionSQL + `) s
		JOIN (SELECT ` + userCols + ` FROM users) u ON u.id = s.user_id`
)

// scanSession scans sessionCols into s, then the row's further columns
// into more.
func scanSession(row pgx.Row, s *storage.Session, more ...any) error {
	if err := row.Scan(append([]any{&s.ID, &s.UserID, js(&s.Factors), tc(&s.CreatedAt), tc(&s.UpdatedAt), tc(&s.ExpiresAt)}, more...)...); err != nil {
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

// SaveLogin writes w in one transaction: with a request, while its row
// is locked; without, as one batch (which PostgreSQL runs as one implicit
// transaction).
func (s *Store) SaveLogin(ctx context.Context, w storage.LoginWrite) (storage.AuthRequest, error) {
	var factors string
	if w.Session.ID != "" {
		var err error
		if factors, err = toJSON(w.Session.Factors); err != nil {
			return storage.AuthRequest{}, err
		}
	}
	events, err := eventArgs(w.Events)
	if err != nil {
		return storage.AuthRequest{}, err
	}
	var kvQ string
	var kvArgs []any
	if w.KV != nil {
		if kvQ, kvArgs, err = kvQuery(*w.KV); err != nil {
			return storage.AuthRequest{}, err
		}
	}
	queue := func(b *pgx.Batch) {
		if w.AuthRequestID == "" && w.Create.ID != "" {
			queueAuthRequest(b, w.Create)
		}
		if w.Session.ID != "" {
			next := w.Session
			b.Queue(`WITH gone AS (DELETE FROM sessions WHERE id = $7)
				INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
				next.ID, next.UserID, factors, ts(next.CreatedAt), ts(next.UpdatedAt), ts(next.ExpiresAt), w.OldSessionID)
		}
		queueEvents(b, events)
		if w.KV != nil {
			queueKV(b, *w.KV, kvQ, kvArgs)
		}
	}
	var out storage.AuthRequest
	switch {
	case w.AuthRequestID != "":
		out, err = s.updateAuthRequest(ctx, w.AuthRequestID, w.Update, queue)
	case w.KV != nil:
		// The write's version may not match: a transaction, which that
		// rolls back, rather than one batch, which would commit the rest.
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			queue(b)
			return tx.SendBatch(ctx, b).Close()
		})
	default:
		b := &pgx.Batch{}
		queue(b)
		err = s.pool.SendBatch(ctx, b).Close()
	}
	if err == nil && w.AuthRequestID == "" && w.Create.ID != "" {
		out = w.Create
	}
	var unique *pgconn.PgError
	if isUnique(err) && errors.As(err, &unique) && unique.TableName == "auth_requests" {
		return storage.AuthRequest{}, fmt.Errorf("storage: auth request %q: %w", w.Create.ID, storage.ErrAlreadyExists)
	}
	if isUnique(err) {
		return storage.AuthRequest{}, fmt.Errorf("storage: session %q: %w", w.Session.ID, storage.ErrAlreadyExists)
	}
	if err != nil && w.AuthRequestID == "" {
		err = fmt.Errorf("storage: save login: %w", err)
	}
	if err != nil {
		return storage.AuthRequest{}, err
	}
	return out, nil
}

// GetSession returns the live session by ID.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var sess storage.Session
	if err := scanSession(s.pool.QueryRow(ctx, getSessionSQL, id, s.liveNow()), &sess); err != nil {
		return storage.Session{}, sessionErr(err, id)
	}
	return sess, nil
}

// GetSessionUser returns the live session by ID with its user, in one read
// unless the session has no user or its user is absent: then the session
// is read alone, with the zero user.
func (s *Store) GetSessionUser(ctx context.Context, id string) (storage.Session, storage.User, error) {
	var sess storage.Session
	var u storage.User
	err := scanSession(s.pool.QueryRow(ctx, getSessionUserSQL, id, s.liveNow()), &sess, userDest(&u)...)
	if errors.Is(err, pgx.ErrNoRows) { // no such session, or a session without its user
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
	return s.deleteWith(ctx, "session", `DELETE FROM sessions WHERE id = $1`, id, events)
}

// deleteWith runs the delete q of one row by id, and appends events in
// the same transaction (one batch is one).
func (s *Store) deleteWith(ctx context.Context, what, q, id string, events []storage.Event) error {
	rows, err := eventArgs(events)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(q, id)
	queueEvents(b, rows)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("storage: delete %s: %w", what, err)
	}
	return nil
}

// DeleteUserSessions removes every session of a user and returns how many
// live ones went (expired ones go too, uncounted).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `WITH d AS (DELETE FROM sessions WHERE user_id = $1 RETURNING expires_at)
		SELECT count(*) FROM d WHERE expires_at IS NULL OR expires_at > $2`, userID, s.liveNow()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("storage: delete user sessions: %w", err)
	}
	return n, nil
}
