package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/stepup-mfa/stepup/provider/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a storage.Store on one SQLite file. It is safe for concurrent
// use; create it with Open and release it with Close.
type Store struct {
	w  *sql.DB // the single writer connection
	r  *sql.DB // query-only readers
	cp *sql.DB // the background checkpointer

	checkpointing bool // checkpointLoop runs until stop; done when it returned
	stop, done    chan struct{}

	jobs                   chan *writeJob // to writeLoop, the only user of w
	writerStop, writerDone chan struct{}
	wst                    map[string]*sql.Stmt
	rst                    sync.Map // query -> *sql.Stmt on r

	closeOnce sync.Once
	closed    atomic.Bool // set by Close: reads answer errClosed
	closeErr  error

	now func() time.Time // judges expiry (storage.WithClock)
}

var _ storage.Store = (*Store)(nil)

// WALSizeLimit is what the WAL file is cut back to when a write restarts
// it after a checkpoint (journal_size_limit): without it the file keeps the
// size of the biggest burst it ever held.
const WALSizeLimit = 16 << 20

const walSizeLimit = "16777216" // WALSizeLimit, for the DSN

const (
	// The writer checkpoints by itself only as a safety net (about 80 MB of
	// WAL): the checkpointer connection does it in the background, so that
	// a commit never waits for the checkpoint's fsync. temp_store(MEMORY)
	// keeps the savepoint journal of a group commit (see writer.go) in
	// memory instead of a temporary file: a write in a batch no longer
	// costs file I/O for its savepoint.
	writerParams     = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=wal_autocheckpoint(20000)&_pragma=temp_store(MEMORY)&_pragma=journal_size_limit(" + walSizeLimit + ")&_txlock=immediate"
	checkpointParams = "_pragma=busy_timeout(5000)"
	checkpointEvery  = 250 * time.Millisecond
	readerParams     = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
	readerConns      = 4
)

// Open opens (creating if needed) the SQLite database at path, creates its
// parent directory if missing, and brings the schema up to date. path is a
// file name, not a URI; ":memory:" is refused because the writer and the
// readers must share one file.
func Open(ctx context.Context, path string, opts ...storage.Option) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("storage: sqlite needs a file path, got %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("storage: cannot create the directory of sqlite database %s: %w", path, err)
	}
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)

	w, err := sql.Open("sqlite", uri+"?"+writerParams)
	if err != nil {
		return nil, fmt.Errorf("storage: cannot open sqlite database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", uri+"?"+readerParams)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: cannot open sqlite database %s: %w", path, err)
	}
	r.SetMaxOpenConns(readerConns)
	r.SetMaxIdleConns(readerConns)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	cp, err := sql.Open("sqlite", uri+"?"+checkpointParams)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("storage: cannot open sqlite database %s: %w", path, err)
	}
	cp.SetMaxOpenConns(1)
	s := &Store{w: w, r: r, cp: cp, now: storage.Apply(opts...).Now, stop: make(chan struct{}), done: make(chan struct{}),
		jobs: make(chan *writeJob), writerStop: make(chan struct{}), writerDone: make(chan struct{})}
	go s.writeLoop()

	// The writer connects first so that WAL mode is set before any reader.
	if err := connectWriter(ctx, w); err != nil {
		s.Close()
		return nil, fmt.Errorf("storage: cannot open sqlite database %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("storage: migrating sqlite database %s: %w", path, err)
	}
	if err := s.prepareWriter(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("storage: sqlite database %s: %w", path, err)
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("storage: cannot open sqlite database %s: %w", path, err)
	}
	s.checkpointing = true
	go s.checkpointLoop()
	return s, nil
}

// checkpointLoop copies the WAL back into the database in the background
// (PASSIVE: it never blocks the writer or the readers).
func (s *Store) checkpointLoop() {
	defer close(s.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.cp.Exec("PRAGMA wal_checkpoint(PASSIVE)") // best effort; the writer's autocheckpoint is the net
		}
	}
}

// connectWriter opens the writer connection. Switching a new file to WAL
// needs an exclusive lock and fails at once with SQLITE_BUSY, without
// waiting for busy_timeout, while another process does the same: retry
// for as long as busy_timeout would wait.
func connectWriter(ctx context.Context, w *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := w.PingContext(ctx)
		if err == nil || errCode(err)&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// migrate applies the missing migrations in one immediate transaction, so
// two processes opening the file at once apply each exactly once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := storage.Migrations(migrations)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
			return err
		}
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.Version, time.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.readRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("storage: sqlite ping: %w", err)
	}
	return nil
}

// Close closes both connection pools. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.checkpointing {
			close(s.stop)
			<-s.done
		}
		close(s.writerStop)
		<-s.writerDone
		s.closeStmts()
		s.closeErr = errors.Join(s.r.Close(), s.cp.Close(), s.w.Close())
	})
	return s.closeErr
}

var purgeSQL = []string{
	writeSQL(`DELETE FROM auth_requests WHERE expires_at < ?`),
	writeSQL(`DELETE FROM redeemed_codes WHERE expires_at < ?`),
	writeSQL(`DELETE FROM sessions WHERE expires_at < ?`),
	writeSQL(`DELETE FROM refresh_tokens WHERE expires_at < ?`),
	writeSQL(`DELETE FROM access_tokens WHERE expires_at < ?`),
	writeSQL(`DELETE FROM signing_keys WHERE expires_at < ?`),
	writeSQL(`DELETE FROM rate_events WHERE expires_at < ?`),
	writeSQL(`DELETE FROM kv WHERE expires_at < ?`),
	writeSQL(`DELETE FROM trusted_browsers WHERE expires_at < ?`),
	writeSQL(`DELETE FROM lockouts WHERE failures = 0 AND (locked_until IS NULL OR locked_until < ?)`),
}

// PurgeExpired deletes every row whose expiry is before now, and lockout
// rows that hold neither failures nor a lock, and returns how many went.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	n := now.UnixMicro()
	var total int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range purgeSQL {
			res, err := s.exec(ctx, tx, q, n)
			if err != nil {
				return fmt.Errorf("storage: purge: %w", err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("storage: purge: %w", err)
			}
			total += k
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

// micros is how a time is stored: unix microseconds, NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// asStored is t as a micros column reads it back.
func asStored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// liveNow is the bound for "expires_at IS NULL OR expires_at > ?": rows are
// live until their expiry passes.
func (s *Store) liveNow() int64 { return s.now().UnixMicro() }

// timeCol scans a micros column into a UTC time.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.dst = time.Time{}
	case int64:
		*c.dst = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("storage: time column holds %T", v)
	}
	return nil
}

func ts(dst *time.Time) timeCol { return timeCol{dst} }

// jsonCol scans a JSON text column into dst.
type jsonCol struct{ dst any }

func (c jsonCol) Scan(v any) error {
	switch v := v.(type) {
	case string:
		return json.Unmarshal([]byte(v), c.dst)
	case []byte:
		return json.Unmarshal(v, c.dst)
	case nil:
		return nil
	default:
		return fmt.Errorf("storage: JSON column holds %T", v)
	}
}

func js(dst any) jsonCol { return jsonCol{dst} }

// toJSON encodes slices and maps for a JSON text column; nil stays "null"
// so that nil and empty survive a round trip.
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("storage: encoding JSON column: %w", err)
	}
	return string(b), nil
}

func errCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := errCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// rowsAffected returns the count of a successful Exec.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
