package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// Group commit. SQLite has one writer at a time, and on a small machine a
// write transaction costs more in its BEGIN and COMMIT (locks on the
// shared-memory index, WAL frames for every page touched) than in its
// statements. So every write goes through one goroutine, which runs the
// writes that are waiting together in one transaction, each in its own
// savepoint: a failing write rolls back only itself, and every caller
// returns once the COMMIT holding its write is done (or failed). Alone, a
// write runs in a transaction of its own, as before.

// maxBatch bounds how many writes share one transaction.
const maxBatch = 64

var (
	savepointSQL  = writeSQL(`SAVEPOINT job`)
	releaseSQL    = writeSQL(`RELEASE job`)
	rollbackToSQL = writeSQL(`ROLLBACK TO job`)
)

var errClosed = fmt.Errorf("%w: the sqlite store is closed", storage.ErrUnavailable)

type writeJob struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan writeResult
}

type writeResult struct {
	err   error
	panic any // a panic of fn, raised again in the caller's goroutine
}

// write runs fn in a BEGIN IMMEDIATE transaction on the writer, possibly
// shared with other writes (see above), and returns once that transaction
// has committed or failed. An error from fn is returned unchanged and
// undoes only fn's own changes. fn gets ctx without its cancellation: once
// started, a write of a few statements finishes rather than being
// interrupted half-way in a shared transaction.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	job := &writeJob{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	select {
	case s.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.writerStop:
		return errClosed
	}
	res := <-job.done
	if res.panic != nil {
		panic(res.panic)
	}
	return classify(res.err)
}

// writeLoop is the writer goroutine: it takes the first waiting write and
// every other one already waiting, up to maxBatch, and commits them
// together.
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	batch := make([]*writeJob, 0, maxBatch)
	for {
		select {
		case <-s.writerStop:
			return
		case job := <-s.jobs:
			batch = gather(append(batch[:0], job), s.jobs)
		}
		s.commit(batch)
	}
}

// gather adds to batch the writes already waiting on jobs, up to maxBatch.
func gather(batch []*writeJob, jobs <-chan *writeJob) []*writeJob {
	for len(batch) < maxBatch {
		select {
		case job := <-jobs:
			batch = append(batch, job)
		default:
			return batch
		}
	}
	return batch
}

// commit runs one batch in one transaction and tells each caller how its
// write ended.
func (s *Store) commit(batch []*writeJob) {
	results := make([]writeResult, len(batch))
	deliver := func(fail error) {
		for i, job := range batch {
			if fail != nil && results[i].ok() {
				results[i].err = fail
			}
			job.done <- results[i]
		}
	}
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		deliver(fmt.Errorf("storage: sqlite begin: %w", err))
		return
	}
	defer tx.Rollback() // after a failed commit or an abandoned batch
	if len(batch) == 1 {
		if results[0] = run(batch[0], tx); !results[0].ok() {
			deliver(nil)
			return
		}
	} else {
		for i, job := range batch {
			if err := job.ctx.Err(); err != nil {
				results[i].err = err
				continue
			}
			if _, err := s.exec(context.Background(), tx, savepointSQL); err != nil {
				deliver(fmt.Errorf("storage: sqlite savepoint: %w", err))
				return
			}
			if results[i] = run(job, tx); !results[i].ok() {
				if _, err := s.exec(context.Background(), tx, rollbackToSQL); err != nil {
					// The failure took the whole transaction with it (an
					// I/O error, say): nothing of the batch is written.
					deliver(fmt.Errorf("storage: sqlite transaction aborted by another write: %w", err))
					return
				}
			}
			if _, err := s.exec(context.Background(), tx, releaseSQL); err != nil {
				deliver(fmt.Errorf("storage: sqlite release savepoint: %w", err))
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		deliver(fmt.Errorf("storage: sqlite commit: %w", err))
		return
	}
	deliver(nil)
}

func (r writeResult) ok() bool { return r.err == nil && r.panic == nil }

// run calls one write's fn, turning a panic into a result.
func run(job *writeJob, tx *sql.Tx) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panic: p}
		}
	}()
	return writeResult{err: job.fn(context.WithoutCancel(job.ctx), tx)}
}
