package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "stepup.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// queued runs the writes of calls while the writer is held busy, so that
// they wait together, and commits them as the writer would: in one batch
// of every write that was waiting. It returns their errors and the size
// of that batch.
func queued(t *testing.T, s *Store, calls []func() error) ([]error, int) {
	t.Helper()
	release := make(chan struct{})
	holding := make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.write(t.Context(), func(context.Context, *sql.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
	}
	// Take each write off the queue here, the writer being busy: once all
	// have arrived, they wait in a queue of their own for gather.
	waiting := make(chan *writeJob, len(calls))
	for range calls {
		waiting <- <-s.jobs
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	batch := gather(nil, waiting)
	s.commit(batch)
	wg.Wait()
	return errs, len(batch)
}

func TestGroupCommitKeepsWritesApart(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	future := time.Now().Add(time.Hour)
	if err := createSession(ctx, s, storage.Session{ID: "taken", ExpiresAt: future}); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	var calls []func() error
	for i := range 12 {
		switch i % 3 {
		case 0: // succeeds
			calls = append(calls, func() error {
				return createSession(ctx, s, storage.Session{ID: fmt.Sprintf("s%d", i), ExpiresAt: future})
			})
		case 1: // fails in SQLite
			calls = append(calls, func() error {
				return createSession(ctx, s, storage.Session{ID: "taken", ExpiresAt: future})
			})
		case 2: // writes, then fails in Go: its row must not stay
			calls = append(calls, func() error {
				return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
					if _, err := s.exec(ctx, tx, insertSessionSQL, fmt.Sprintf("s%d", i), "", "[]", 0, 0, future.UnixMicro()); err != nil {
						return err
					}
					return errBoom
				})
			})
		}
	}
	errs, batch := queued(t, s, calls)
	if batch != len(calls) {
		t.Fatalf("a batch of %d: the %d waiting writes did not share a transaction", batch, len(calls))
	}
	for i, err := range errs {
		_, getErr := s.GetSession(ctx, fmt.Sprintf("s%d", i))
		switch i % 3 {
		case 0:
			if err != nil || getErr != nil {
				t.Errorf("write %d: %v, then read: %v", i, err, getErr)
			}
		case 1:
			if !errors.Is(err, storage.ErrAlreadyExists) {
				t.Errorf("write %d: %v, want ErrAlreadyExists", i, err)
			}
		case 2:
			if err != errBoom || !errors.Is(getErr, storage.ErrNotFound) {
				t.Errorf("write %d: %v (want boom unchanged), then read: %v (want not found)", i, err, getErr)
			}
		}
	}
}

func TestGroupCommitPanicReachesItsCaller(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	future := time.Now().Add(time.Hour)
	errs, _ := queued(t, s, []func() error{
		func() (err error) {
			defer func() {
				if p := recover(); p != "write panicked" {
					err = fmt.Errorf("recovered %v, want the write's panic", p)
				}
			}()
			return s.write(ctx, func(context.Context, *sql.Tx) error { panic("write panicked") })
		},
		func() error { return createSession(ctx, s, storage.Session{ID: "next", ExpiresAt: future}) },
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetSession(ctx, "next"); err != nil {
		t.Fatalf("the write beside the panic: %v", err)
	}
}

func TestWriteAfterClose(t *testing.T) {
	s := openTest(t)
	s.Close()
	if err := s.DeleteSession(context.Background(), "x"); !errors.Is(err, errClosed) {
		t.Fatalf("write after Close: %v", err)
	}
}

func createSession(ctx context.Context, s *Store, sess storage.Session) error {
	_, err := s.SaveLogin(ctx, storage.LoginWrite{Session: sess})
	return err
}

// The savepoints of a group commit journal to memory, not a temporary
// file (temp_store 2 is MEMORY).
func TestWriterKeepsSavepointJournalInMemory(t *testing.T) {
	s := openTest(t)
	var mode int
	err := s.write(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Fatalf("temp_store = %d on the writer, want 2 (MEMORY)", mode)
	}
}
