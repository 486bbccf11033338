package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

var (
	kvCreateSQL = writeSQL(`INSERT INTO kv (namespace, key, value, version, expires_at) VALUES (?1, ?2, ?3, 1, ?4)
		ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = 1, expires_at = excluded.expires_at
		WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= ?5
		RETURNING version`)
	kvSwapSQL = writeSQL(`UPDATE kv SET value = ?3, version = version + 1, expires_at = ?4
		WHERE namespace = ?1 AND key = ?2 AND version = ?6 AND (expires_at IS NULL OR expires_at > ?5)
		RETURNING version`)
	kvOverwriteSQL = writeSQL(`INSERT INTO kv (namespace, key, value, version, expires_at) VALUES (?1, ?2, ?3, 1, ?4)
		ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
			version = CASE WHEN kv.expires_at IS NULL OR kv.expires_at > ?5 THEN kv.version + 1 ELSE 1 END
		RETURNING version`)
	kvDeleteSQL        = writeSQL(`DELETE FROM kv WHERE namespace = ? AND key = ?`)
	kvDeleteVersionSQL = writeSQL(`DELETE FROM kv WHERE namespace = ? AND key = ? AND version = ?`)
)

// KVGet returns the entry live at now.
func (s *Store) KVGet(ctx context.Context, namespace, key string, now time.Time) (storage.KVEntry, error) {
	var e storage.KVEntry
	err := s.readRow(ctx, `SELECT value, version, expires_at FROM kv
		WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)`,
		namespace, key, now.UnixMicro()).Scan(&e.Value, &e.Version, ts(&e.ExpiresAt))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.KVEntry{}, fmt.Errorf("storage: kv %s/%s: %w", namespace, key, storage.ErrNotFound)
	}
	if err != nil {
		return storage.KVEntry{}, fmt.Errorf("storage: kv get: %w", err)
	}
	return e, nil
}

// KVPut stores value under key with the compare-and-swap rule of
// expectVersion (0: absent or expired, >0: that live version, -1: any), in
// one statement. A key that was absent or expired starts again at version 1.
// events go in the same transaction.
func (s *Store) KVPut(ctx context.Context, namespace, key string, value []byte, expectVersion int64, expiresAt time.Time, now time.Time, events ...storage.Event) (int64, error) {
	if value == nil {
		value = []byte{}
	}
	n, exp := now.UnixMicro(), micros(expiresAt)
	var q string
	args := []any{namespace, key, value, exp, n}
	switch {
	case expectVersion == 0:
		q = kvCreateSQL
	case expectVersion > 0:
		q, args = kvSwapSQL, append(args, expectVersion)
	case expectVersion == -1:
		q = kvOverwriteSQL
	default:
		return 0, fmt.Errorf("storage: kv put: invalid expectVersion %d", expectVersion)
	}
	rows, err := eventRows(events)
	if err != nil {
		return 0, err
	}
	var v int64
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.queryRow(ctx, tx, q, args...).Scan(&v); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, rows)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("storage: kv %s/%s: %w", namespace, key, storage.ErrConflict)
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
	q, args := kvDeleteSQL, []any{namespace, key}
	switch {
	case expectVersion == -1:
	case expectVersion > 0:
		q, args = kvDeleteVersionSQL, append(args, expectVersion)
	default:
		return fmt.Errorf("storage: kv delete: invalid expectVersion %d (want -1 or >0)", expectVersion)
	}
	rows, err := eventRows(events)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n, err := rowsAffected(s.exec(ctx, tx, q, args...))
		if err != nil {
			return fmt.Errorf("storage: kv delete: %w", err)
		}
		if n == 0 && expectVersion > 0 {
			return fmt.Errorf("storage: kv %s/%s: %w", namespace, key, storage.ErrConflict)
		}
		return s.insertEvents(ctx, tx, rows)
	})
}

// KVList returns the live keys of namespace that start with prefix, in
// byte order.
func (s *Store) KVList(ctx context.Context, namespace, prefix string, now time.Time) ([]string, error) {
	rows, err := s.read(ctx, `SELECT key FROM kv
		WHERE namespace = ? AND key >= ? AND (expires_at IS NULL OR expires_at > ?)
		ORDER BY key`, namespace, prefix, now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("storage: kv list: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("storage: kv list: %w", err)
		}
		if !strings.HasPrefix(k, prefix) {
			break // sorted: no later key has the prefix either
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: kv list: %w", err)
	}
	return keys, nil
}
