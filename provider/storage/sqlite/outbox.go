package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

var (
	insertMailSQL = writeSQL(`INSERT INTO outbox (kind, user_id, recipient, subject, body, created_at, next_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	// One statement picks the due, unclaimed rows and claims them: the
	// writer is serial, so two workers never claim one row.
	claimMailSQL = writeSQL(`UPDATE outbox SET claim = ?1, claimed_until = ?2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE next_at <= ?3 AND claimed_until <= ?3 ORDER BY next_at, id LIMIT ?4)
		RETURNING id, kind, user_id, recipient, subject, body, created_at, next_at, attempts, claim, last_error`)
	finishMailSQL = writeSQL(`DELETE FROM outbox WHERE id = ? AND claim = ?`)
	retryMailSQL  = writeSQL(`UPDATE outbox SET claim = '', claimed_until = 0, next_at = ?, last_error = ? WHERE id = ? AND claim = ?`)
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
	return []any{m.Kind, m.UserID, m.To, m.Subject, m.Text, created.UnixMicro(), next.UnixMicro()}
}

// ClaimMail claims up to limit due messages for lease.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]storage.Mail, error) {
	claim := rand.Text()
	var out []storage.Mail
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		rows, err := s.query(ctx, tx, claimMailSQL, claim, now.Add(lease).UnixMicro(), now.UnixMicro(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m storage.Mail
			if err := rows.Scan(&m.ID, &m.Kind, &m.UserID, &m.To, &m.Subject, &m.Text, ts(&m.CreatedAt), ts(&m.NextAt),
				&m.Attempts, &m.Claim, &m.LastError); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("storage: claim mail: %w", err)
	}
	slices.SortFunc(out, func(a, b storage.Mail) int { return int(a.ID - b.ID) })
	return out, nil
}

// FinishMail removes a claimed message with events, in one transaction.
func (s *Store) FinishMail(ctx context.Context, id int64, claim string, events ...storage.Event) error {
	rows, err := eventRows(events)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n, err := rowsAffected(s.exec(ctx, tx, finishMailSQL, id, claim))
		if err != nil {
			return fmt.Errorf("storage: finish mail: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("storage: mail %d is not held by this claim: %w", id, storage.ErrConflict)
		}
		return s.insertEvents(ctx, tx, rows)
	})
}

// FinishMails removes the sent messages whose claim is still theirs.
func (s *Store) FinishMails(ctx context.Context, sent []storage.MailClaim) ([]int64, error) {
	if len(sent) == 0 {
		return nil, nil
	}
	var lapsed []int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		lapsed = lapsed[:0]
		for _, m := range sent {
			n, err := rowsAffected(s.exec(ctx, tx, finishMailSQL, m.ID, m.Claim))
			if err != nil {
				return fmt.Errorf("storage: finish mail: %w", err)
			}
			if n == 0 {
				lapsed = append(lapsed, m.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lapsed, nil
}

// RetryMail releases a claimed message, due again at next.
func (s *Store) RetryMail(ctx context.Context, id int64, claim string, next time.Time, lastErr string) error {
	n, err := rowsAffected(s.exec(ctx, nil, retryMailSQL, next.UnixMicro(), lastErr, id, claim))
	if err != nil {
		return fmt.Errorf("storage: retry mail: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("storage: mail %d is not held by this claim: %w", id, storage.ErrConflict)
	}
	return nil
}
