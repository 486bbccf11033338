package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// Parsing SQL costs about a fifth of a short write transaction, so
// statements are prepared once. Writer statements must be prepared before
// any transaction holds the only writer connection: they are registered
// with writeSQL at package initialisation and prepared by Open. Reader
// statements are prepared on first use.

var writerSQL []string

// writeSQL registers q to be prepared on the writer by Open and returns it.
func writeSQL(q string) string {
	writerSQL = append(writerSQL, q)
	return q
}

func (s *Store) prepareWriter(ctx context.Context) error {
	s.wst = make(map[string]*sql.Stmt, len(writerSQL))
	for _, q := range writerSQL {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", q, err)
		}
		s.wst[q] = st
	}
	return nil
}

// wstmt returns q prepared for the writer inside tx, or nil when q was
// not registered.
func (s *Store) wstmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	if st := s.wst[q]; st != nil {
		return tx.StmtContext(ctx, st)
	}
	return nil
}

// exec runs q on the writer: in tx, or as a write of its own when tx is
// nil.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if tx == nil {
		var res sql.Result
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
			res, err = s.exec(ctx, tx, q, args...)
			return err
		})
		return res, err
	}
	if st := s.wstmt(ctx, tx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// queryRow runs q on the writer in tx.
func (s *Store) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := s.wstmt(ctx, tx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// query runs q on the writer in tx.
func (s *Store) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st := s.wstmt(ctx, tx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// rstmt returns q prepared for the readers.
func (s *Store) rstmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.rst.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.rst.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// readRow runs q on a reader.
func (s *Store) readRow(ctx context.Context, q string, args ...any) scanner {
	if s.closed.Load() {
		return errRow{errClosed}
	}
	st, err := s.rstmt(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// read runs q on a reader.
func (s *Store) read(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	st, err := s.rstmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (s *Store) closeStmts() {
	for _, st := range s.wst {
		st.Close()
	}
	s.rst.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
}
