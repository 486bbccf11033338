package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const trustedCols = `hash, id, user_id, name, method, levels, amr, created_at, last_used_at, expires_at`

var (
	insertTrustedSQL = writeSQL(`INSERT INTO trusted_browsers (` + trustedCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	touchTrustedSQL  = writeSQL(`UPDATE trusted_browsers SET last_used_at = ?
		WHERE hash = ? AND (expires_at IS NULL OR expires_at > ?)`)
	deleteTrustedSQL = writeSQL(`DELETE FROM trusted_browsers
		WHERE user_id = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)`)
	deleteUserTrustedSQL = writeSQL(`DELETE FROM trusted_browsers WHERE user_id = ?
		RETURNING expires_at IS NULL OR expires_at > ?`)
)

func scanTrusted(row scanner) (storage.TrustedBrowser, error) {
	var b storage.TrustedBrowser
	err := row.Scan(&b.Hash, &b.ID, &b.UserID, &b.Name, &b.Method, js(&b.Levels), js(&b.AMR),
		ts(&b.CreatedAt), ts(&b.LastUsedAt), ts(&b.ExpiresAt))
	return b, err
}

// CreateTrustedBrowser stores b and events in one write.
func (s *Store) CreateTrustedBrowser(ctx context.Context, b storage.TrustedBrowser, events ...storage.Event) error {
	levels, err := toJSON(b.Levels)
	if err != nil {
		return err
	}
	amr, err := toJSON(b.AMR)
	if err != nil {
		return err
	}
	rows, err := eventRows(events)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, insertTrustedSQL, b.Hash, b.ID, b.UserID, b.Name, b.Method, levels, amr,
			micros(b.CreatedAt), micros(b.LastUsedAt), micros(b.ExpiresAt))
		if isUnique(err) {
			return fmt.Errorf("storage: trusted browser %q: %w", b.ID, storage.ErrAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("storage: create trusted browser: %w", err)
		}
		return s.insertEvents(ctx, tx, rows)
	})
}

// GetTrustedBrowser returns the live trusted browser with hash.
func (s *Store) GetTrustedBrowser(ctx context.Context, hash string) (storage.TrustedBrowser, error) {
	b, err := scanTrusted(s.readRow(ctx, `SELECT `+trustedCols+` FROM trusted_browsers
		WHERE hash = ? AND (expires_at IS NULL OR expires_at > ?)`, hash, s.liveNow()))
	if errors.Is(err, sql.ErrNoRows) {
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
	n, err := rowsAffected(s.exec(ctx, nil, touchTrustedSQL, micros(at), hash, s.liveNow()))
	if err != nil {
		return fmt.Errorf("storage: touch trusted browser: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("storage: trusted browser: %w", storage.ErrNotFound)
	}
	return nil
}

// ListTrustedBrowsers returns the user's live trusted browsers, newest first.
func (s *Store) ListTrustedBrowsers(ctx context.Context, userID string) ([]storage.TrustedBrowser, error) {
	rows, err := s.read(ctx, `SELECT `+trustedCols+` FROM trusted_browsers
		WHERE user_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id`, userID, s.liveNow())
	if err != nil {
		return nil, fmt.Errorf("storage: list trusted browsers: %w", err)
	}
	defer rows.Close()
	var out []storage.TrustedBrowser
	for rows.Next() {
		b, err := scanTrusted(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: list trusted browsers: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list trusted browsers: %w", err)
	}
	return out, nil
}

// DeleteTrustedBrowser removes the user's live browser id with events.
func (s *Store) DeleteTrustedBrowser(ctx context.Context, userID, id string, events ...storage.Event) error {
	rows, err := eventRows(events)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n, err := rowsAffected(s.exec(ctx, tx, deleteTrustedSQL, userID, id, s.liveNow()))
		if err != nil {
			return fmt.Errorf("storage: delete trusted browser: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("storage: trusted browser %q: %w", id, storage.ErrNotFound)
		}
		return s.insertEvents(ctx, tx, rows)
	})
}

// DeleteUserTrustedBrowsers removes all of the user's trusted browsers
// with events, and counts the live ones.
func (s *Store) DeleteUserTrustedBrowsers(ctx context.Context, userID string, events ...storage.Event) (int64, error) {
	rows, err := eventRows(events)
	if err != nil {
		return 0, err
	}
	var live int64
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		live = 0
		res, err := s.query(ctx, tx, deleteUserTrustedSQL, userID, s.liveNow())
		if err != nil {
			return fmt.Errorf("storage: delete user trusted browsers: %w", err)
		}
		for res.Next() {
			var ok bool
			if err := res.Scan(&ok); err != nil {
				res.Close()
				return fmt.Errorf("storage: delete user trusted browsers: %w", err)
			}
			if ok {
				live++
			}
		}
		if err := res.Close(); err != nil {
			return fmt.Errorf("storage: delete user trusted browsers: %w", err)
		}
		if err := res.Err(); err != nil {
			return fmt.Errorf("storage: delete user trusted browsers: %w", err)
		}
		return s.insertEvents(ctx, tx, rows)
	})
	if err != nil {
		return 0, err
	}
	return live, nil
}
