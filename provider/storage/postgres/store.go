package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stepup-mfa/stepup/provider/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a storage.Store on a PostgreSQL database. It is safe for
// concurrent use; create it with Open and release it with Close.
type Store struct {
	pool db               // every error classified (classify)
	now  func() time.Time // judges expiry (storage.WithClock)
}

var _ storage.Store = (*Store)(nil)

// connectTimeout bounds each connection attempt unless the DSN sets
// connect_timeout.
const connectTimeout = 5 * time.Second

// Open connects to the database named by dsn (a postgres:// URL or
// key=value string, with pgxpool's pool_* settings), checks that it
// answers, and brings the schema up to date. It fails within a few seconds
// when the server is unreachable. Errors never contain the password.
func Open(ctx context.Context, dsn string, opts ...storage.Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in its parse errors.
		return nil, fmt.Errorf("storage: invalid postgres DSN: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	where := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("storage: cannot reach postgres at %s: %w", where, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 2*cfg.ConnConfig.ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("storage: cannot reach postgres at %s: %w", where, err)
	}
	s := &Store{pool: db{pool}, now: storage.Apply(opts...).Now}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("storage: migrating postgres at %s: %w", where, err)
	}
	return s, nil
}

// migrate applies the missing migrations in one transaction holding an
// advisory lock for the target schema, so concurrent Opens (replicas
// starting together) apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := storage.Migrations(migrations)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('stepup.migrate.' || coalesce(current_schema(), ''), 0))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		done := map[int]bool{}
		for _, v := range applied {
			done[int(v)] = true
		}
		for _, m := range ms {
			if done[m.Version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version); err != nil {
				return err
			}
		}
		return nil
	})
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("storage: postgres ping: %w", err)
	}
	return nil
}

// Close closes the connection pool, waiting for connections in use. It is
// safe to call more than once.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

var purgeSQL = []string{
	`DELETE FROM auth_requests WHERE expires_at < $1`,
	`DELETE FROM redeemed_codes WHERE expires_at < $1`,
	`DELETE FROM sessions WHERE expires_at < $1`,
	`DELETE FROM refresh_tokens WHERE expires_at < $1`,
	`DELETE FROM access_tokens WHERE expires_at < $1`,
	`DELETE FROM signing_keys WHERE expires_at < $1`,
	`DELETE FROM rate_events WHERE expires_at < $1`,
	`DELETE FROM kv WHERE expires_at < $1`,
	`DELETE FROM trusted_browsers WHERE expires_at < $1`,
	`DELETE FROM lockouts WHERE failures = 0 AND (locked_until IS NULL OR locked_until < $1)`,
}

// PurgeExpired deletes every row whose expiry is before now, and lockout
// rows that hold neither failures nor a lock, in one transaction, and
// returns how many went.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	b := &pgx.Batch{}
	var total int64
	for _, q := range purgeSQL {
		b.Queue(q, now).Exec(func(tag pgconn.CommandTag) error {
			total += tag.RowsAffected()
			return nil
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("storage: purge: %w", err)
	}
	return total, nil
}

// update runs one read-modify-write transaction: BEGIN and lockSQL (a
// SELECT ... FOR UPDATE) travel in one round trip, scan reads the locked
// row, then apply writes the new state inside the transaction. Errors
// from scan and apply are returned unchanged.
func (s *Store) update(ctx context.Context, lockSQL string, lockArgs []any, scan func(pgx.Row) error, apply func(pgx.Tx) error) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	var scanErr error
	b.Queue(lockSQL, lockArgs...).QueryRow(func(row pgx.Row) error {
		scanErr = scan(row)
		return nil
	})
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer tx.Rollback(ctx)
	if err := br.Close(); err != nil {
		return fmt.Errorf("storage: postgres begin: %w", err)
	}
	if scanErr != nil {
		return scanErr
	}
	if err := apply(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("storage: postgres commit: %w", err)
	}
	return nil
}

// ts is how a time is passed: NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// liveNow is the bound for "expires_at IS NULL OR expires_at > $n": rows
// are live until their expiry passes.
func (s *Store) liveNow() time.Time { return s.now() }

// timeCol scans a nullable timestamptz into a UTC time.
type timeCol struct{ dst *time.Time }

func (c timeCol) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*c.dst = time.Time{}
		return nil
	}
	if v.InfinityModifier != pgtype.Finite {
		return errors.New("storage: infinite timestamp")
	}
	*c.dst = v.Time.UTC()
	return nil
}

func tc(dst *time.Time) timeCol { return timeCol{dst} }

// jsonCol scans a JSON text column into dst.
type jsonCol struct{ dst any }

func (c jsonCol) ScanText(v pgtype.Text) error {
	if !v.Valid {
		return nil
	}
	return json.Unmarshal([]byte(v.String), c.dst)
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

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUnique(err error) bool { return pgCode(err) == "23505" }
