package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// KVGet returns the entry live at now.
func (s *Store) KVGet(ctx context.Context, namespace, key string, now time.Time) (storage.KVEntry, error) {
	var e storage.KVEntry
	err := s.pool.QueryRow(ctx, `SELECT value, version, expires_at FROM kv
		WHERE namespace = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)`,
		namespace, key, now).Scan(&e.Value, &e.Version, tc(&e.ExpiresAt))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.KVEntry{}, fmt.Errorf("storage: kv %s/%s: %w", namespace, key, storage.ErrNotFound)
	}
	if err != nil {
		return storage.KVEntry{}, fmt.Errorf("storage: kv get: %w", err)
	}
	return e, nil
}

// KVGetMany returns the entries of keys live at now, in one query.
func (s *Store) KVGetMany(ctx context.Context, namespace string, keys []string, now time.Time) (map[string]storage.KVEntry, error) {
	out := make(map[string]storage.KVEntry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT key, value, version, expires_at FROM kv
		WHERE namespace = $1 AND key = ANY($2) AND (expires_at IS NULL OR expires_at > $3)`,
		namespace, keys, now)
	if err != nil {
		return nil, fmt.Errorf("storage: kv get many: %w", err)
	}
	var k string
	var e storage.KVEntry
	_, err = pgx.ForEachRow(rows, []any{&k, &e.Value, &e.Version, tc(&e.ExpiresAt)}, func() error {
		out[k] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: kv get many: %w", err)
	}
	return out, nil
}

const (
	// Create: insert, or take over an expired row; a live row wins and no
	// row comes back.
	kvCreateSQL = `INSERT INTO kv AS k (namespace, key, value, version, expires_at) VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, version = 1, expires_at = EXCLUDED.expires_at
		WHERE k.expires_at IS NOT NULL AND k.expires_at <= $5
		RETURNING version`
	kvSwapSQL = `UPDATE kv SET value = $3, version = version + 1, expires_at = $4
		WHERE namespace = $1 AND key = $2 AND version = $6 AND (expires_at IS NULL OR expires_at > $5)
		RETURNING version`
	kvOverwriteSQL = `INSERT INTO kv AS k (namespace, key, value, version, expires_at) VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at,
			version = CASE WHEN k.expires_at IS NULL OR k.expires_at > $5 THEN k.version + 1 ELSE 1 END
		RETURNING version`
)

// KVPut stores value under key with the compare-and-swap rule of
// expectVersion (0: absent or expired, >0: that live version, -1: any), in
// one statement. A key that was absent or expired starts again at version 1.
// events go in the same transaction.
func (s *Store) KVPut(ctx context.Context, namespace, key string, value []byte, expectVersion int64, expiresAt time.Time, now time.Time, events ...storage.Event) (int64, error) {
	w := storage.KVWrite{Namespace: namespace, Key: key, Value: value, ExpectVersion: expectVersion, ExpiresAt: expiresAt, Now: now}
	q, args, err := kvQuery(w)
	if err != nil {
		return 0, err
	}
	rows, err := eventArgs(events)
	if err != nil {
		return 0, err
	}
	var v int64
	if len(rows) == 0 {
		err = s.pool.QueryRow(ctx, q, args...).Scan(&v)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, q, args...).Scan(&v); err != nil {
				return err
			}
			return execEvents(ctx, tx, rows)
		})
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, kvConflict(w)
	}
	if err != nil {
		return 0, fmt.Errorf("storage: kv put: %w", err)
	}
	return v, nil
}

// KVDelete removes key: unconditionally with expectVersion -1, only at that
// version (else ErrConflict) with expectVersion >0. Expiry is not checked:
// deleting an expired entry at its last version succeeds. events go in
// the same transaction.
func (s *Store) KVDelete(ctx context.Context, namespace, key string, expectVersion int64, events ...storage.Event) error {
	w := storage.KVWrite{Namespace: namespace, Key: key, ExpectVersion: expectVersion, Delete: true}
	q, args, err := kvQuery(w)
	if err != nil {
		return err
	}
	rows, err := eventArgs(events)
	if err != nil {
		return err
	}
	del := func(ctx context.Context, ex interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}) error {
		tag, err := ex.Exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("storage: kv delete: %w", err)
		}
		return deleted(w, tag)
	}
	if len(rows) == 0 {
		return del(ctx, s.pool)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := del(ctx, tx); err != nil {
			return err
		}
		return execEvents(ctx, tx, rows)
	})
}

// kvQuery is the one statement that makes w, with the compare-and-swap
// rules of KVPut and KVDelete: a put returns the new version, and no row
// when its version did not match.
func kvQuery(w storage.KVWrite) (string, []any, error) {
	if w.Delete {
		q, args := `DELETE FROM kv WHERE namespace = $1 AND key = $2`, []any{w.Namespace, w.Key}
		switch {
		case w.ExpectVersion == -1:
		case w.ExpectVersion > 0:
			q, args = `DELETE FROM kv WHERE namespace = $1 AND key = $2 AND version = $3`, append(args, w.ExpectVersion)
		default:
			return "", nil, fmt.Errorf("storage: kv delete: invalid expectVersion %d (want -1 or >0)", w.ExpectVersion)
		}
		return q, args, nil
	}
	value := w.Value
	if value == nil {
		value = []byte{}
	}
	args := []any{w.Namespace, w.Key, value, ts(w.ExpiresAt), w.Now}
	switch {
	case w.ExpectVersion == 0:
		return kvCreateSQL, args, nil
	case w.ExpectVersion > 0:
		return kvSwapSQL, append(args, w.ExpectVersion), nil
	case w.ExpectVersion == -1:
		return kvOverwriteSQL, args, nil
	}
	return "", nil, fmt.Errorf("storage: kv put: invalid expectVersion %d", w.ExpectVersion)
}

func kvConflict(w storage.KVWrite) error {
	return fmt.Errorf("storage: kv %s/%s: %w", w.Namespace, w.Key, storage.ErrConflict)
}

// deleted is the outcome of the delete w that tag reports.
func deleted(w storage.KVWrite, tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 && w.ExpectVersion > 0 {
		return kvConflict(w)
	}
	return nil
}

// queueKV queues w, whose statement is q with args (kvQuery), on b,
// whose Close then returns w's ErrConflict: b must run in a transaction,
// which that error rolls back.
func queueKV(b *pgx.Batch, w storage.KVWrite, q string, args []any) {
	qq := b.Queue(q, args...)
	if w.Delete {
		qq.Exec(func(tag pgconn.CommandTag) error { return deleted(w, tag) })
		return
	}
	qq.QueryRow(func(row pgx.Row) error {
		var v int64
		if err := row.Scan(&v); errors.Is(err, pgx.ErrNoRows) {
			return kvConflict(w)
		} else if err != nil {
			return fmt.Errorf("storage: kv put: %w", err)
		}
		return nil
	})
}

// KVList returns the live keys of namespace that start with prefix, in
// byte order. The prefix becomes an index range [prefix, prefixEnd).
func (s *Store) KVList(ctx context.Context, namespace, prefix string, now time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT key FROM kv
		WHERE namespace = $1 AND key >= $2 AND ($3 = '' OR key < $3) AND starts_with(key, $2)
			AND (expires_at IS NULL OR expires_at > $4)
		ORDER BY key`, namespace, prefix, prefixEnd(prefix), now)
	if err != nil {
		return nil, fmt.Errorf("storage: kv list: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("storage: kv list: %w", err)
	}
	return keys, nil
}

// prefixEnd returns the least string above every string that starts with
// prefix (in UTF-8 byte order, which is code point order), or "" if there
// is none. It increments the last code point that can be incremented.
func prefixEnd(prefix string) string {
	r := []rune(prefix)
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] < utf8.MaxRune {
			next := r[i] + 1
			if next >= 0xD800 && next <= 0xDFFF { // surrogates are not valid UTF-8
				next = 0xE000
			}
			return string(r[:i]) + string(next)
		}
	}
	return ""
}
