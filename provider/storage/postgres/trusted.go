package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const trustedCols = `hash, id, user_id, name, method, levels, amr, created_at, last_used_at, expires_at`

func scanTrusted(row pgx.Row) (storage.TrustedBrowser, error) {
	var b storage.TrustedBrowser
	err := row.Scan(&b.Hash, &b.ID, &b.UserID, &b.Name, &b.Method, js(&b.Levels), js(&b.AMR),
		tc(&b.CreatedAt), tc(&b.LastUsedAt), tc(&b.ExpiresAt))
	return b, err
}

// CreateTrustedBrowser stores b and events in one transaction.
func (s *Store) CreateTrustedBrowser(ctx context.Context, b storage.TrustedBrowser, events ...storage.Event) error {
	levels, err := toJSON(b.Levels)
	if err != nil {
		return err
	}
	amr, err := toJSON(b.AMR)
	if err != nil {
		return err
	}
	rows, err := eventArgs(events)
	if err != nil {
		return err
	}
	batch := &pgx.Batch{} // one batch is one implicit transaction
	batch.Queue(`INSERT INTO trusted_browsers (`+trustedCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		b.Hash, b.ID, b.UserID, b.Name, b.Method, levels, amr, ts(b.CreatedAt), ts(b.LastUsedAt), ts(b.ExpiresAt))
	queueEvents(batch, rows)
	err = s.pool.SendBatch(ctx, batch).Close()
	if isUnique(err) {
		return fmt.Errorf("storage: trusted browser %q: %w", b.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: create trusted browser: %w", err)
	}
	return nil
}

// GetTrustedBrowser returns the live trusted browser with hash.
func (s *Store) GetTrustedBrowser(ctx context.Context, hash string) (storage.TrustedBrowser, error) {
	b, err := scanTrusted(s.pool.QueryRow(ctx, `SELECT `+trustedCols+` FROM trusted_browsers
		WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)`, hash, s.liveNow()))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.TrustedBrowser{}, fmt.Errorf("storage: trusted browser: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.TrustedBrowser{}, fmt.Errorf("storage: trusted browser: %w", err)
	}
	return b, nil
}

// TouchTrustedBrowser records that the live browser with hash spared a
// factor at at.
func (s *Store) TouchTrustedBrowser(ctx context.Context, hash string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE trusted_browsers SET last_used_at = $1
		WHERE hash = $2 AND (expires_at IS NULL OR expires_at > $3)`, ts(at), hash, s.liveNow())
	if err != nil {
		return fmt.Errorf("storage: touch trusted browser: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("storage: trusted browser: %w", storage.ErrNotFound)
	}
	return nil
}

// ListTrustedBrowsers returns the user's live trusted browsers, newest first.
func (s *Store) ListTrustedBrowsers(ctx context.Context, userID string) ([]storage.TrustedBrowser, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trustedCols+` FROM trusted_browsers
		WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC, id`, userID, s.liveNow())
	if err != nil {
		return nil, fmt.Errorf("storage: list trusted browsers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.TrustedBrowser, error) { return scanTrusted(row) })
	if err != nil {
		return nil, fmt.Errorf("storage: list trusted browsers: %w", err)
	}
	return out, nil
}

// DeleteTrustedBrowser removes the user's live browser id with events.
func (s *Store) DeleteTrustedBrowser(ctx context.Context, userID, id string, events ...storage.Event) error {
	rows, err := eventArgs(events)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM trusted_browsers
			WHERE user_id = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > $3)`, userID, id, s.liveNow())
		if err != nil {
			return fmt.Errorf("storage: delete trusted browser: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("storage: trusted browser %q: %w", id, storage.ErrNotFound)
		}
		if err := execEvents(ctx, tx, rows); err != nil {
			return err
		}
		return nil
	})
	return err
}

// DeleteUserTrustedBrowsers removes all of the user's trusted browsers
// with events, and counts the live ones.
func (s *Store) DeleteUserTrustedBrowsers(ctx context.Context, userID string, events ...storage.Event) (int64, error) {
	rows, err := eventArgs(events)
	if err != nil {
		return 0, err
	}
	var n int64
	batch := &pgx.Batch{} // one batch is one implicit transaction
	batch.Queue(`WITH d AS (DELETE FROM trusted_browsers WHERE user_id = $1 RETURNING expires_at)
		SELECT count(*) FROM d WHERE expires_at IS NULL OR expires_at > $2`, userID, s.liveNow()).QueryRow(func(row pgx.Row) error {
		return row.Scan(&n)
	})
	queueEvents(batch, rows)
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return 0, fmt.Errorf("storage: delete user trusted browsers: %w", err)
	}
	return n, nil
}
