package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// A database that goes away (restarted, its postmaster killed, the
// network cut, the pool closed) reaches the store as a dozen different
// errors from pgx: a ConnectError, a PgError of SQLSTATE 57P01 or 57P03, a
// broken read, a closed pool. The callers must tell "the database did not
// answer" from "the database said no" (a verdict on a token or a code), so
// every error passes through classify, here, on its way out of pgx: an
// outage comes out wrapping storage.ErrUnavailable, whatever the method
// and whatever pgx said. Everything the store does with the database goes
// through db, and through the rows, batches and transactions it hands out,
// so no path escapes the classification.

// classify wraps err with storage.ErrUnavailable when it means the
// database could not be reached or could not finish the work, and returns
// every other error (nil, pgx.ErrNoRows, a constraint violation)
// unchanged.
func classify(err error) error {
	if err == nil || errors.Is(err, storage.ErrUnavailable) || !outage(err) {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// outage reports whether err is a failure to reach the database rather
// than its answer.
func outage(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, puddle.ErrClosedPool) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return outageState(pe.Code)
	}
	// A connection that broke half-way: pgconn wraps the read or write
	// error, which storage.Unavailable knows (EOF, reset, refused, net).
	return storage.Unavailable(err)
}

// outageState reports whether a SQLSTATE is the server going away or not
// taking work now, rather than a verdict on the statement: class 08
// (connection exception), 57P01..57P05 (terminated by an administrator, a
// crash, starting up or shutting down, the database dropped, an idle
// session timeout), and 53300 (too many connections).
func outageState(code string) bool {
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300"
}

// db is the connection pool as the store uses it, with every error
// classified.
type db struct{ p *pgxpool.Pool }

func (d db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := d.p.Exec(ctx, sql, args...)
	return tag, classify(err)
}

func (d db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := d.p.Query(ctx, sql, args...)
	if err != nil {
		return rows, classify(err)
	}
	return classifiedRows{rows}, nil
}

func (d db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return classifiedRow{d.p.QueryRow(ctx, sql, args...)}
}

func (d db) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return classifiedBatch{d.p.SendBatch(ctx, b)}
}

func (d db) Begin(ctx context.Context) (pgx.Tx, error) {
	return d.BeginTx(ctx, pgx.TxOptions{})
}

func (d db) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	tx, err := d.p.BeginTx(ctx, opts)
	if err != nil {
		return nil, classify(err)
	}
	return classifiedTx{tx}, nil
}

func (d db) Ping(ctx context.Context) error { return classify(d.p.Ping(ctx)) }

func (d db) Close() { d.p.Close() }

type classifiedRow struct{ r pgx.Row }

func (r classifiedRow) Scan(dest ...any) error { return classify(r.r.Scan(dest...)) }

// classifiedRows is pgx.Rows with its errors classified; pgx.CollectRows
// and friends read them through Scan and Err.
type classifiedRows struct{ pgx.Rows }

func (r classifiedRows) Scan(dest ...any) error { return classify(r.Rows.Scan(dest...)) }
func (r classifiedRows) Err() error             { return classify(r.Rows.Err()) }

type classifiedBatch struct{ b pgx.BatchResults }

func (b classifiedBatch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.b.Exec()
	return tag, classify(err)
}

func (b classifiedBatch) Query() (pgx.Rows, error) {
	rows, err := b.b.Query()
	if err != nil {
		return rows, classify(err)
	}
	return classifiedRows{rows}, nil
}

func (b classifiedBatch) QueryRow() pgx.Row { return classifiedRow{b.b.QueryRow()} }
func (b classifiedBatch) Close() error      { return classify(b.b.Close()) }

func (b classifiedBatch) Tx() pgx.Tx {
	tx := b.b.Tx()
	if tx == nil {
		return nil
	}
	return classifiedTx{tx}
}

// classifiedTx is pgx.Tx with the errors of what the store calls on it
// classified.
type classifiedTx struct{ pgx.Tx }

func (t classifiedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, classify(err)
	}
	return classifiedTx{tx}, nil
}

func (t classifiedTx) Commit(ctx context.Context) error   { return classify(t.Tx.Commit(ctx)) }
func (t classifiedTx) Rollback(ctx context.Context) error { return classify(t.Tx.Rollback(ctx)) }

func (t classifiedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.Tx.Exec(ctx, sql, args...)
	return tag, classify(err)
}

func (t classifiedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		return rows, classify(err)
	}
	return classifiedRows{rows}, nil
}

func (t classifiedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return classifiedRow{t.Tx.QueryRow(ctx, sql, args...)}
}

func (t classifiedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return classifiedBatch{t.Tx.SendBatch(ctx, b)}
}
