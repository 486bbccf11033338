package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

var (
	insertSigningKeySQL = writeSQL(`INSERT INTO signing_keys (id, algorithm, private_key, created_at, retired_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`)
	retireSigningKeysSQL = writeSQL(`UPDATE signing_keys SET retired_at = ?, expires_at = ?
		WHERE algorithm = ? AND retired_at IS NULL AND id <> ?`)
	insertEventSQL = writeSQL(`INSERT INTO events (time, type, actor, user_id, client_id, remote_addr, outcome, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	countRateEventsSQL = writeSQL(`SELECT count(*), min(created_at) FROM rate_events
		WHERE key = ? AND created_at > ?`)
	insertRateEventSQL = writeSQL(`INSERT INTO rate_events (key, created_at, expires_at) VALUES (?, ?, ?)`)
	recordFailureSQL   = writeSQL(`INSERT INTO lockouts (key, failures, locked_until)
		VALUES (?1, CASE WHEN 1 >= ?2 THEN 0 ELSE 1 END, CASE WHEN 1 >= ?2 THEN ?3 END)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN lockouts.failures + 1 >= ?2 THEN 0 ELSE lockouts.failures + 1 END,
			locked_until = CASE WHEN lockouts.failures + 1 >= ?2 THEN ?3 ELSE lockouts.locked_until END
		RETURNING failures, locked_until`)
	resetFailuresSQL = writeSQL(`UPDATE lockouts SET failures = 0 WHERE key = ?`)
)

// CreateSigningKey stores a new key; ErrAlreadyExists on a duplicate ID.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	_, err := s.exec(ctx, nil, insertSigningKeySQL, k.ID, k.Algorithm, k.PrivateKey, micros(k.CreatedAt), micros(k.RetiredAt), micros(k.ExpiresAt))
	if isUnique(err) {
		return fmt.Errorf("storage: signing key %q: %w", k.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: create signing key: %w", err)
	}
	return nil
}

// ListSigningKeys returns every key not yet past ExpiresAt, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	rows, err := s.read(ctx, `SELECT id, algorithm, private_key, created_at, retired_at, expires_at
		FROM signing_keys WHERE expires_at IS NULL OR expires_at > ?
		ORDER BY created_at DESC, id DESC`, s.liveNow())
	if err != nil {
		return nil, fmt.Errorf("storage: list signing keys: %w", err)
	}
	defer rows.Close()
	var ks []storage.SigningKey
	for rows.Next() {
		var k storage.SigningKey
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, ts(&k.CreatedAt), ts(&k.RetiredAt), ts(&k.ExpiresAt)); err != nil {
			return nil, fmt.Errorf("storage: list signing keys: %w", err)
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list signing keys: %w", err)
	}
	return ks, nil
}

// RetireSigningKeys retires every active key of alg except keepID.
func (s *Store) RetireSigningKeys(ctx context.Context, alg, keepID string, at, expires time.Time) error {
	_, err := s.exec(ctx, nil, retireSigningKeysSQL, micros(at), micros(expires), alg, keepID)
	if err != nil {
		return fmt.Errorf("storage: retire signing keys: %w", err)
	}
	return nil
}

// AppendEvent adds an audit event; the store assigns Seq.
func (s *Store) AppendEvent(ctx context.Context, e storage.Event) error {
	rows, err := eventRows([]storage.Event{e})
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.insertEvents(ctx, tx, rows)
	})
}

// stmt is one statement of a write, with its arguments.
type stmt struct {
	q    string
	args []any
}

// eventRows are the statements that write events: each event, and the
// outbox row of its Mail.
func eventRows(events []storage.Event) ([]stmt, error) {
	rows := make([]stmt, 0, len(events))
	for _, e := range events {
		details, err := toJSON(e.Details)
		if err != nil {
			return nil, err
		}
		rows = append(rows, stmt{insertEventSQL, []any{micros(e.Time), e.Type, e.Actor, e.UserID, e.ClientID, e.RemoteAddr, e.Outcome, details}})
		if m := e.Mail; m != nil {
			rows = append(rows, stmt{insertMailSQL, mailArgs(*m, e.Time)})
		}
	}
	return rows, nil
}

func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, rows []stmt) error {
	for _, st := range rows {
		if _, err := s.exec(ctx, tx, st.q, st.args...); err != nil {
			return fmt.Errorf("storage: append event: %w", err)
		}
	}
	return nil
}

// ListEvents returns the events matching f, newest (highest Seq) first.
// Since is inclusive, Until exclusive.
func (s *Store) ListEvents(ctx context.Context, f storage.EventFilter) ([]storage.Event, error) {
	var q strings.Builder
	q.WriteString(`SELECT seq, time, type, actor, user_id, client_id, remote_addr, outcome, details FROM events WHERE 1 = 1`)
	var args []any
	if f.UserID != "" {
		q.WriteString(` AND user_id = ?`)
		args = append(args, f.UserID)
	}
	if prefix, ok := strings.CutSuffix(f.Type, "."); ok {
		// "login." matches ["login.", "login/"): '/' follows '.' in byte order.
		q.WriteString(` AND type >= ? AND type < ?`)
		args = append(args, f.Type, prefix+"/")
	} else if f.Type != "" {
		q.WriteString(` AND type = ?`)
		args = append(args, f.Type)
	}
	if !f.Since.IsZero() {
		q.WriteString(` AND time >= ?`)
		args = append(args, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		q.WriteString(` AND time < ?`)
		args = append(args, f.Until.UnixMicro())
	}
	if f.BeforeSeq > 0 {
		q.WriteString(` AND seq < ?`)
		args = append(args, f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q.WriteString(` ORDER BY seq DESC LIMIT ?`)
	args = append(args, limit)

	rows, err := s.read(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("storage: list events: %w", err)
	}
	defer rows.Close()
	var es []storage.Event
	for rows.Next() {
		var e storage.Event
		if err := rows.Scan(&e.Seq, ts(&e.Time), &e.Type, &e.Actor, &e.UserID, &e.ClientID, &e.RemoteAddr,
			&e.Outcome, js(&e.Details)); err != nil {
			return nil, fmt.Errorf("storage: list events: %w", err)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list events: %w", err)
	}
	return es, nil
}

// CountEvent records one event for key at now unless limit events are
// stamped after now-window; the count and the insert share one write
// transaction.
func (s *Store) CountEvent(ctx context.Context, key string, window time.Duration, limit int, now time.Time) (storage.RateResult, error) {
	var res storage.RateResult
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		var oldest sql.NullInt64
		if err := s.queryRow(ctx, tx, countRateEventsSQL, key, now.Add(-window).UnixMicro()).Scan(&n, &oldest); err != nil {
			return err
		}
		if n >= limit {
			res = storage.RateResult{Count: n}
			if oldest.Valid {
				res.RetryAfter = time.UnixMicro(oldest.Int64).Add(window).UTC()
			}
			return nil
		}
		if _, err := s.exec(ctx, tx, insertRateEventSQL, key, now.UnixMicro(), now.Add(window).UnixMicro()); err != nil {
			return err
		}
		res = storage.RateResult{Allowed: true, Count: n + 1}
		return nil
	})
	if err != nil {
		return storage.RateResult{}, fmt.Errorf("storage: count event: %w", err)
	}
	return res, nil
}

// lockout builds the state of a key as seen at now: a lock in the past is
// reported as no lock.
func lockout(failures int, lockedUntil sql.NullInt64, now time.Time) storage.Lockout {
	l := storage.Lockout{Failures: failures}
	if lockedUntil.Valid && lockedUntil.Int64 > now.UnixMicro() {
		l.LockedUntil = time.UnixMicro(lockedUntil.Int64).UTC()
	}
	return l
}

// RecordFailure adds one failure for key in a single upsert; reaching max
// locks the key until now+lockFor and restarts the count.
func (s *Store) RecordFailure(ctx context.Context, key string, max int, lockFor time.Duration, now time.Time, onLock ...storage.Event) (storage.Lockout, error) {
	rows, err := eventRows(onLock)
	if err != nil {
		return storage.Lockout{}, err
	}
	var failures int
	var until sql.NullInt64
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.queryRow(ctx, tx, recordFailureSQL, key, max, now.Add(lockFor).UnixMicro()).Scan(&failures, &until); err != nil {
			return err
		}
		if lockout(failures, until, now).Locked(now) {
			return s.insertEvents(ctx, tx, rows)
		}
		return nil
	})
	if err != nil {
		return storage.Lockout{}, fmt.Errorf("storage: record failure: %w", err)
	}
	return lockout(failures, until, now), nil
}

// ResetFailures clears the failure count of key but keeps an active lock.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, nil, resetFailuresSQL, key); err != nil {
		return fmt.Errorf("storage: reset failures: %w", err)
	}
	return nil
}

// GetLockout returns the state of key at now; unknown keys are unlocked
// with zero failures.
func (s *Store) GetLockout(ctx context.Context, key string, now time.Time) (storage.Lockout, error) {
	var failures int
	var until sql.NullInt64
	err := s.readRow(ctx, `SELECT failures, locked_until FROM lockouts WHERE key = ?`, key).Scan(&failures, &until)
	if err == sql.ErrNoRows {
		return storage.Lockout{}, nil
	}
	if err != nil {
		return storage.Lockout{}, fmt.Errorf("storage: get lockout: %w", err)
	}
	return lockout(failures, until, now), nil
}
