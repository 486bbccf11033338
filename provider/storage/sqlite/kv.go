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

// KVGetMany returns the entries of keys live at now, in one query. Each
// number of keys is a reader statement of its own, prepared once: callers
// pass few (a method declares at most eight records).
func (s *Store) KVGetMany(ctx context.Context, namespace string, keys []string, now time.Time) (map[string]storage.KVEntry, error) {
	out := make(map[string]storage.KVEntry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, 0, 2+len(keys))
	args = append(args, namespace, now.UnixMicro())
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := s.read(ctx, `SELECT key, value, version, expires_at FROM kv
		WHERE namespace = ? AND (expires_at IS NULL OR expires_at > ?) AND key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: kv get many: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var e storage.KVEntry
		if err := rows.Scan(&k, &e.Value, &e.Version, ts(&e.ExpiresAt)); err != nil {
			return nil, fmt.Errorf("storage: kv get many: %w", err)
		}
		out[k] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: kv get many: %w", err)
	}
	return out, nil
}

// KVPut stores value under key with the compare-and-swap rule of
// expectVersion (0: absent or expired, >0: that live version, -1: any), in
// one statement. A key that was absent or expired starts again at version 1.
// events go in the same transaction.
func (s *Store) KVPut(ctx context.Context, namespace, key string, value []byte, expectVersion int64, expiresAt time.Time, now time.Time, events ...storage.Event) (int64, error) {
	w := storage.KVWrite{Namespace: namespace, Key: key, Value: value, ExpectVersion: expectVersion, ExpiresAt: expiresAt, Now: now}
	put, err := s.kvWrite(w)
	if err != nil {
		return 0, err
	}
	rows, err := eventRows(events)
	if err != nil {
		return 0, err
	}
	var v int64
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		if v, err = put(ctx, tx); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, rows)
	})
	return v, err
}

// kvWrite checks w and returns the statement that makes it in a write
// transaction, with the compare-and-swap rules of KVPut and KVDelete,
// which returns the new version (0 for a delete).
func (s *Store) kvWrite(w storage.KVWrite) (func(context.Context, *sql.Tx) (int64, error), error) {
	conflict := func() error { return fmt.Errorf("storage: kv %s/%s: %w", w.Namespace, w.Key, storage.ErrConflict) }
	if w.Delete {
		q, args := kvDeleteSQL, []any{w.Namespace, w.Key}
		switch {
		case w.ExpectVersion == -1:
		case w.ExpectVersion > 0:
			q, args = kvDeleteVersionSQL, append(args, w.ExpectVersion)
		default:
			return nil, fmt.Errorf("storage: kv delete: invalid expectVersion %d (want -1 or >0)", w.ExpectVersion)
		}
		return func(ctx context.Context, tx *sql.Tx) (int64, error) {
			n, err := rowsAffected(s.exec(ctx, tx, q, args...))
			if err != nil {
				return 0, fmt.Errorf("storage: kv delete: %w", err)
			}
			if n == 0 && w.ExpectVersion > 0 {
				return 0, conflict()
			}
			return 0, nil
		}, nil
	}
	value := w.Value
	if value == nil {
		value = []byte{}
	}
	var q string
	args := []any{w.Namespace, w.Key, value, micros(w.ExpiresAt), w.Now.UnixMicro()}
	switch {
	case w.ExpectVersion == 0:
		q = kvCreateSQL
	case w.ExpectVersion > 0:
		q, args = kvSwapSQL, append(args, w.ExpectVersion)
	case w.ExpectVersion == -1:
		q = kvOverwriteSQL
	default:
		return nil, fmt.Errorf("storage: kv put: invalid expectVersion %d", w.ExpectVersion)
	}
	return func(ctx context.Context, tx *sql.Tx) (int64, error) {
		var v int64
		err := s.queryRow(ctx, tx, q, args...).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, conflict()
		}
		if err != nil {
			return 0, fmt.Errorf("storage: kv put: %w", err)
		}
		return v, nil
	}, nil
}

// KVDelete removes key: unconditionally with expectVersion -1, only at that
// version (else ErrConflict) with expectVersion >0. Expiry is not checked:
// deleting an expired entry at its last version succeeds. events go in
// the same transaction.
func (s *Store) KVDelete(ctx context.Context, namespace, key string, expectVersion int64, events ...storage.Event) error {
	del, err := s.kvWrite(storage.KVWrite{Namespace: namespace, Key: key, ExpectVersion: expectVersion, Delete: true})
	if err != nil {
		return err
	}
	rows, err := eventRows(events)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := del(ctx, tx); err != nil {
			return err
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
