package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const (
	insertMailSQL = `INSERT INTO outbox (kind, user_id, recipient, subject, body, created_at, next_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	// The due, unclaimed rows are locked as they are picked (SKIP LOCKED:
	// a concurrent claimer passes over them rather than waiting), then
	// claimed in the same statement: two workers never claim one row.
	claimMailSQL = `UPDATE outbox SET claim = $1, claimed_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE next_at <= $3 AND claimed_until <= $3
			ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, user_id, recipient, subject, body, created_at, next_at, attempts, claim, last_error`
)

// mailArgs are m as insertMailSQL takes it; at (the event's time) stands
// in for a zero CreatedAt, and CreatedAt for a zero NextAt.
func mailArgs(m storage.Mail, at time.Time) []any {
	created := m.CreatedAt
	if created.IsZero() {
		created = at
	}
	next := m.NextAt
	if next.IsZero() {
		next = created
	}
	return []any{m.Kind, m.UserID, m.To, m.Subject, m.Text, created.UTC(), next.UTC()}
}

// ClaimMail claims up to limit due messages for lease.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]storage.Mail, error) {
	rows, err := s.pool.Query(ctx, claimMailSQL, rand.Text(), now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: claim mail: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.Mail, error) {
		var m storage.Mail
		err := row.Scan(&m.ID, &m.Kind, &m.UserID, &m.To, &m.Subject, &m.Text, tc(&m.CreatedAt), tc(&m.NextAt),
			&m.Attempts, &m.Claim, &m.LastError)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: claim mail: %w", err)
	}
	slices.SortFunc(out, func(a, b storage.Mail) int { return int(a.ID - b.ID) })
	return out, nil
}

// FinishMail removes a claimed message with events, in one transaction.
func (s *Store) FinishMail(ctx context.Context, id int64, claim string, events ...storage.Event) error {
	rows, err := eventArgs(events)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = $1 AND claim = $2`, id, claim)
		if err != nil {
			return fmt.Errorf("storage: finish mail: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("storage: mail %d is not held by this claim: %w", id, storage.ErrConflict)
		}
		return execEvents(ctx, tx, rows)
	})
}

// FinishMails removes the sent messages whose claim is still theirs, in
// one statement.
func (s *Store) FinishMails(ctx context.Context, sent []storage.MailClaim) ([]int64, error) {
	if len(sent) == 0 {
		return nil, nil
	}
	ids, claims := make([]int64, len(sent)), make([]string, len(sent))
	for i, m := range sent {
		ids[i], claims[i] = m.ID, m.Claim
	}
	rows, err := s.pool.Query(ctx, `DELETE FROM outbox o USING unnest($1::bigint[], $2::text[]) AS d(id, claim)
		WHERE o.id = d.id AND o.claim = d.claim RETURNING o.id`, ids, claims)
	if err != nil {
		return nil, fmt.Errorf("storage: finish mail: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("storage: finish mail: %w", err)
	}
	var lapsed []int64
	for _, id := range ids {
		if !slices.Contains(done, id) {
			lapsed = append(lapsed, id)
		}
	}
	return lapsed, nil
}

// RetryMail releases a claimed message, due again at next.
func (s *Store) RetryMail(ctx context.Context, id int64, claim string, next time.Time, lastErr string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET claim = '', claimed_until = '-infinity', next_at = $1, last_error = $2
		WHERE id = $3 AND claim = $4`, next, lastErr, id, claim)
	if err != nil {
		return fmt.Errorf("storage: retry mail: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("storage: mail %d is not held by this claim: %w", id, storage.ErrConflict)
	}
	return nil
}
