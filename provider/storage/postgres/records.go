package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// CreateSigningKey stores a new key; ErrAlreadyExists on a duplicate ID.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (id, algorithm, private_key, created_at, retired_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Algorithm, k.PrivateKey, ts(k.CreatedAt), ts(k.RetiredAt), ts(k.ExpiresAt))
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
	rows, err := s.pool.Query(ctx, `SELECT id, algorithm, private_key, created_at, retired_at, expires_at
		FROM signing_keys WHERE expires_at IS NULL OR expires_at > $1
		ORDER BY created_at DESC, id DESC`, s.liveNow())
	if err != nil {
		return nil, fmt.Errorf("storage: list signing keys: %w", err)
	}
	ks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.SigningKey, error) {
		var k storage.SigningKey
		err := row.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, tc(&k.CreatedAt), tc(&k.RetiredAt), tc(&k.ExpiresAt))
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list signing keys: %w", err)
	}
	return ks, nil
}

// RetireSigningKeys retires every active key of alg except keepID.
func (s *Store) RetireSigningKeys(ctx context.Context, alg, keepID string, at, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE signing_keys SET retired_at = $1, expires_at = $2
		WHERE algorithm = $3 AND retired_at IS NULL AND id <> $4`, ts(at), ts(expires), alg, keepID)
	if err != nil {
		return fmt.Errorf("storage: retire signing keys: %w", err)
	}
	return nil
}

// AppendEvent adds an audit event (and its mail, in the same batch, which
// is one implicit transaction); the store assigns Seq.
func (s *Store) AppendEvent(ctx context.Context, e storage.Event) error {
	rows, err := eventArgs([]storage.Event{e})
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	queueEvents(b, rows)
	if err = s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("storage: append event: %w", err)
	}
	return nil
}

const insertEventSQL = `INSERT INTO events (time, type, actor, user_id, client_id, remote_addr, outcome, details)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// stmt is one statement of a write, with its arguments.
type stmt struct {
	q    string
	args []any
}

// eventArgs are the statements that write events: each event, and the
// outbox row of its Mail.
func eventArgs(events []storage.Event) ([]stmt, error) {
	rows := make([]stmt, 0, len(events))
	for _, e := range events {
		details, err := toJSON(e.Details)
		if err != nil {
			return nil, err
		}
		rows = append(rows, stmt{insertEventSQL, []any{ts(e.Time), e.Type, e.Actor, e.UserID, e.ClientID, e.RemoteAddr, e.Outcome, details}})
		if m := e.Mail; m != nil {
			rows = append(rows, stmt{insertMailSQL, mailArgs(*m, e.Time)})
		}
	}
	return rows, nil
}

// queueEvents adds the statements of eventArgs to b.
func queueEvents(b *pgx.Batch, rows []stmt) {
	for _, st := range rows {
		b.Queue(st.q, st.args...)
	}
}

// execEvents runs the statements of eventArgs in tx.
func execEvents(ctx context.Context, tx pgx.Tx, rows []stmt) error {
	for _, st := range rows {
		if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("storage: append event: %w", err)
		}
	}
	return nil
}

// ListEvents returns the events matching f, newest (highest Seq) first.
// Since is inclusive, Until exclusive.
func (s *Store) ListEvents(ctx context.Context, f storage.EventFilter) ([]storage.Event, error) {
	var q strings.Builder
	q.WriteString(`SELECT seq, time, type, actor, user_id, client_id, remote_addr, outcome, details FROM events WHERE true`)
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		fmt.Fprintf(&q, cond, len(args))
	}
	if f.UserID != "" {
		arg(` AND user_id = $%d`, f.UserID)
	}
	if prefix, ok := strings.CutSuffix(f.Type, "."); ok {
		// "login." matches ["login.", "login/"): '/' follows '.' in byte order.
		arg(` AND type >= $%d`, f.Type)
		arg(` AND type < $%d`, prefix+"/")
	} else if f.Type != "" {
		arg(` AND type = $%d`, f.Type)
	}
	if !f.Since.IsZero() {
		arg(` AND time >= $%d`, f.Since)
	}
	if !f.Until.IsZero() {
		arg(` AND time < $%d`, f.Until)
	}
	if f.BeforeSeq > 0 {
		arg(` AND seq < $%d`, f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	arg(` ORDER BY seq DESC LIMIT $%d`, limit)

	rows, err := s.pool.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("storage: list events: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.Event, error) {
		var e storage.Event
		err := row.Scan(&e.Seq, tc(&e.Time), &e.Type, &e.Actor, &e.UserID, &e.ClientID, &e.RemoteAddr,
			&e.Outcome, js(&e.Details))
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list events: %w", err)
	}
	return es, nil
}

// Advisory lock seeds: one lock space per use of hashtextextended.
const rateLockSeed = 0x7261746500 // "rate"

// CountEvent records one event for key at now unless (now-window, now]
// already holds limit events. Callers for one key are serialised by a
// transaction-level advisory lock, taken in the same implicit transaction
// (one round trip) as the count-and-insert statement, whose snapshot is
// therefore taken after the lock: the count is exact across replicas.
func (s *Store) CountEvent(ctx context.Context, key string, window time.Duration, limit int, now time.Time) (storage.RateResult, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1, $2))`, key, int64(rateLockSeed))
	var n int64
	var oldest time.Time
	var inserted bool
	b.Queue(`WITH c AS (
			SELECT count(*) AS n, min(created_at) AS oldest FROM rate_events
			WHERE key = $1 AND created_at > $2
		), ins AS (
			INSERT INTO rate_events (key, created_at, expires_at) SELECT $1, $3, $4 FROM c WHERE c.n < $5 RETURNING 1
		)
		SELECT c.n, c.oldest, EXISTS (SELECT 1 FROM ins) FROM c`,
		key, now.Add(-window), now, now.Add(window), int64(limit)).QueryRow(func(row pgx.Row) error {
		return row.Scan(&n, tc(&oldest), &inserted)
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return storage.RateResult{}, fmt.Errorf("storage: count event: %w", err)
	}
	if inserted {
		return storage.RateResult{Allowed: true, Count: int(n) + 1}, nil
	}
	res := storage.RateResult{Count: int(n)}
	if !oldest.IsZero() {
		res.RetryAfter = oldest.Add(window)
	}
	return res, nil
}

// lockout builds the state of a key as seen at now: a lock in the past is
// reported as no lock.
func lockout(failures int32, lockedUntil time.Time, now time.Time) storage.Lockout {
	l := storage.Lockout{Failures: int(failures)}
	if lockedUntil.After(now) {
		l.LockedUntil = lockedUntil
	}
	return l
}

// RecordFailure adds one failure for key in a single upsert (the row lock
// of ON CONFLICT DO UPDATE serialises concurrent callers); reaching max
// locks the key until now+lockFor and restarts the count.
func (s *Store) RecordFailure(ctx context.Context, key string, max int, lockFor time.Duration, now time.Time, onLock ...storage.Event) (storage.Lockout, error) {
	rows, err := eventArgs(onLock)
	if err != nil {
		return storage.Lockout{}, err
	}
	var failures int32
	var until time.Time
	record := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) error {
		return q.QueryRow(ctx, recordFailureSQL, key, int32(max), now.Add(lockFor)).Scan(&failures, tc(&until))
	}
	if len(rows) == 0 {
		err = record(s.pool) // one statement, no transaction to open
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := record(tx); err != nil || !lockout(failures, until, now).Locked(now) {
				return err
			}
			return execEvents(ctx, tx, rows)
		})
	}
	if err != nil {
		return storage.Lockout{}, fmt.Errorf("storage: record failure: %w", err)
	}
	return lockout(failures, until, now), nil
}

// recordFailureSQL counts a failure for $1 and, at the $2-th, locks the
// key until $3 and starts the count again.
const recordFailureSQL = `INSERT INTO lockouts AS l (key, failures, locked_until)
	VALUES ($1, CASE WHEN 1 >= $2 THEN 0 ELSE 1 END, CASE WHEN 1 >= $2 THEN $3::timestamptz END)
	ON CONFLICT (key) DO UPDATE SET
		failures = CASE WHEN l.failures + 1 >= $2 THEN 0 ELSE l.failures + 1 END,
		locked_until = CASE WHEN l.failures + 1 >= $2 THEN $3::timestamptz ELSE l.locked_until END
	RETURNING failures, locked_until`

// ResetFailures clears the failure count of key but keeps an active lock.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE lockouts SET failures = 0 WHERE key = $1`, key); err != nil {
		return fmt.Errorf("storage: reset failures: %w", err)
	}
	return nil
}

// GetLockout returns the state of key at now; unknown keys are unlocked
// with zero failures.
func (s *Store) GetLockout(ctx context.Context, key string, now time.Time) (storage.Lockout, error) {
	var failures int32
	var until time.Time
	err := s.pool.QueryRow(ctx, `SELECT failures, locked_until FROM lockouts WHERE key = $1`, key).Scan(&failures, tc(&until))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Lockout{}, nil
	}
	if err != nil {
		return storage.Lockout{}, fmt.Errorf("storage: get lockout: %w", err)
	}
	return lockout(failures, until, now), nil
}
