package notify_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

// clock is a settable clock: the worker never reads the wall clock here.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// flakySender fails its first fails sends with a temporary error (or
// with err when set), then delivers into sent.
type flakySender struct {
	mu    sync.Mutex
	fails int
	err   error
	tries int
	sent  []notify.Message
}

func (s *flakySender) Send(_ context.Context, m notify.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	if s.err != nil {
		return s.err
	}
	if s.fails > 0 {
		s.fails--
		return errors.New("451 try again later")
	}
	s.sent = append(s.sent, m)
	return nil
}

func openStore(t *testing.T, c *clock) storage.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stepup.db"), storage.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func queue(t *testing.T, s storage.Store, c *clock, subject string) {
	t.Helper()
	msg := notify.Message{To: "alice@example.com", Subject: subject, Text: "Hello,\n"}
	e := storage.Event{Time: c.Now(), Type: "method.added", Actor: "u1", UserID: "u1", Outcome: "success",
		Mail: notify.Queued(msg, "method added", "u1")}
	if err := s.AppendEvent(t.Context(), e); err != nil {
		t.Fatal(err)
	}
}

func givenUp(t *testing.T, s storage.Store) []storage.Event {
	t.Helper()
	evs, err := s.ListEvents(t.Context(), storage.EventFilter{Type: notify.GivenUpEvent})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

var start = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

// TestWorkerRetriesWithBackoff: a failed mail is not sent again before
// its backoff has passed (30 s, then 60 s), and is sent once it has.
func TestWorkerRetriesWithBackoff(t *testing.T) {
	c := &clock{now: start}
	s := openStore(t, c)
	snd := &flakySender{fails: 2}
	w := &notify.Worker{Store: s, Sender: snd, Now: c.Now, Backoff: 30 * time.Second, MaxAttempts: 5}
	queue(t, s, c, "added")
	for _, step := range []struct {
		advance time.Duration
		tries   int
		sent    int
	}{
		{0, 1, 0},                // fails
		{29 * time.Second, 1, 0}, // not due yet
		{time.Second, 2, 0},      // fails again: 60 s now
		{59 * time.Second, 2, 0}, // not due yet
		{time.Second, 3, 1},      // sent
		{time.Hour, 3, 1},        // and never again
	} {
		c.Add(step.advance)
		before := len(snd.sent)
		n, err := w.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if snd.tries != step.tries || len(snd.sent) != step.sent || n != step.sent-before {
			t.Fatalf("at +%v: %d tries, %d sent (RunOnce said %d), want %d tries, %d sent", c.Now().Sub(start), snd.tries, len(snd.sent), n, step.tries, step.sent)
		}
	}
	if ev := givenUp(t, s); len(ev) != 0 {
		t.Fatalf("a delivered mail was given up: %+v", ev)
	}
}

// TestWorkerGivesUpAfterMaxAttempts: a mail that keeps failing is tried
// MaxAttempts times, then given up with a notify.mail_given_up event,
// and never tried again.
func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	c := &clock{now: start}
	s := openStore(t, c)
	snd := &flakySender{fails: 1000}
	w := &notify.Worker{Store: s, Sender: snd, Now: c.Now, Backoff: time.Second, MaxBackoff: time.Minute, MaxAttempts: 4}
	queue(t, s, c, "added")
	for range 10 {
		if _, err := w.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Hour)
	}
	if snd.tries != 4 {
		t.Fatalf("%d tries, want 4 (max_attempts)", snd.tries)
	}
	ev := givenUp(t, s)
	if len(ev) != 1 || ev[0].UserID != "u1" || ev[0].Outcome != "failure" || ev[0].Details["attempts"] != "4" ||
		ev[0].Details["what"] != "method added" || ev[0].Details["error"] != "451 try again later" {
		t.Fatalf("given-up events: %+v", ev)
	}
}

// TestWorkerGivesUpAnInvalidMessageAtOnce: a message that can never be
// sent is not retried.
func TestWorkerGivesUpAnInvalidMessageAtOnce(t *testing.T) {
	c := &clock{now: start}
	s := openStore(t, c)
	snd := &flakySender{err: fmt.Errorf("%w: recipient is not an email address", notify.ErrInvalidMessage)}
	w := &notify.Worker{Store: s, Sender: snd, Now: c.Now, MaxAttempts: 8}
	queue(t, s, c, "added")
	for range 3 {
		if _, err := w.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Hour)
	}
	if snd.tries != 1 || len(givenUp(t, s)) != 1 {
		t.Fatalf("%d tries, %d given up; want 1 and 1", snd.tries, len(givenUp(t, s)))
	}
}

// TestWorkerRedeliversAfterADeadWorker: a worker that claimed a mail and
// died before it was sent leaves it to another once the lease lapses: at
// least once, never lost.
func TestWorkerRedeliversAfterADeadWorker(t *testing.T) {
	c := &clock{now: start}
	s := openStore(t, c)
	queue(t, s, c, "added")
	// The dead worker: it claimed, then nothing.
	if ms, err := s.ClaimMail(t.Context(), c.Now(), 2*time.Minute, 10); err != nil || len(ms) != 1 {
		t.Fatalf("claim: %+v, %v", ms, err)
	}
	snd := &flakySender{}
	w := &notify.Worker{Store: s, Sender: snd, Now: c.Now, Lease: 2 * time.Minute, SendTimeout: 10 * time.Second}
	if n, err := w.RunOnce(t.Context()); err != nil || n != 0 || snd.tries != 0 {
		t.Fatalf("within the lease: %d sent, %d tries, %v; want none", n, snd.tries, err)
	}
	c.Add(2 * time.Minute)
	if n, err := w.RunOnce(t.Context()); err != nil || n != 1 || len(snd.sent) != 1 || snd.sent[0].Subject != "added" {
		t.Fatalf("after the lease: %d sent, %+v, %v; want the mail", n, snd.sent, err)
	}
}

// TestWorkersOnOneStoreSendEachMailOnce: several workers (replicas)
// passing at once deliver every mail exactly once.
func TestWorkersOnOneStoreSendEachMailOnce(t *testing.T) {
	c := &clock{now: start}
	s := openStore(t, c)
	const n = 30
	for i := range n {
		queue(t, s, c, fmt.Sprintf("mail-%02d", i))
	}
	snd := &flakySender{}
	var wg sync.WaitGroup
	for range 4 {
		w := &notify.Worker{Store: s, Sender: snd, Now: c.Now, Batch: 2}
		wg.Go(func() {
			if _, err := w.RunOnce(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range snd.sent {
		seen[m.Subject]++
	}
	if len(snd.sent) != n || len(seen) != n {
		t.Fatalf("%d sent, %d distinct, want %d each exactly once: %v", len(snd.sent), len(seen), n, seen)
	}
}

// TestWorkerWithoutSender keeps the mail queued.
func TestWorkerWithoutSender(t *testing.T) {
	c := &clock{now: start}
	s := openStore(t, c)
	queue(t, s, c, "added")
	if n, err := (&notify.Worker{Store: s, Now: c.Now}).RunOnce(t.Context()); err != nil || n != 0 {
		t.Fatalf("RunOnce without a sender: %d, %v", n, err)
	}
	if ms, err := s.ClaimMail(t.Context(), c.Now(), time.Minute, 10); err != nil || len(ms) != 1 {
		t.Fatalf("the mail is gone: %+v, %v", ms, err)
	}
}

// finishCounter records the store's FinishMails calls: how many messages
// each removed, and when.
type finishCounter struct {
	storage.Store
	c     *clock
	calls []int
	at    []time.Time
}

func (f *finishCounter) FinishMails(ctx context.Context, sent []storage.MailClaim) ([]int64, error) {
	f.calls, f.at = append(f.calls, len(sent)), append(f.at, f.c.Now())
	return f.Store.FinishMails(ctx, sent)
}

// slowSender delivers after d on the clock.
type slowSender struct {
	c *clock
	d time.Duration
	flakySender
}

func (s *slowSender) Send(ctx context.Context, m notify.Message) error {
	s.c.Add(s.d)
	return s.flakySender.Send(ctx, m)
}

// TestWorkerFinishesAClaimInOneWrite: the messages of one claim that were
// sent leave the outbox in one write; with slow sends, those sent by half
// the lease leave then, before the lease can lapse.
func TestWorkerFinishesAClaimInOneWrite(t *testing.T) {
	c := &clock{now: start}
	s := &finishCounter{Store: openStore(t, c), c: c}
	snd := &flakySender{fails: 1}
	w := &notify.Worker{Store: s, Sender: snd, Now: c.Now, Batch: 10}
	for i := range 5 {
		queue(t, s, c, fmt.Sprint("mail ", i))
	}
	if n, err := w.RunOnce(t.Context()); err != nil || n != 4 {
		t.Fatalf("RunOnce: %d sent, %v; want 4 (one failed)", n, err)
	}
	if len(s.calls) != 1 || s.calls[0] != 4 {
		t.Fatalf("FinishMails calls %v, want one of the 4 sent", s.calls)
	}

	c.Add(time.Hour) // the failed one is due again, and goes
	s.calls, s.at = nil, nil
	for i := range 4 {
		queue(t, s, c, fmt.Sprint("slow mail ", i))
	}
	claimed := c.Now()
	slow := &slowSender{c: c, d: 40 * time.Second}
	w = &notify.Worker{Store: s, Sender: slow, Now: c.Now, Batch: 10, Lease: 2 * time.Minute}
	if n, err := w.RunOnce(t.Context()); err != nil || n != 5 {
		t.Fatalf("RunOnce with slow sends: %d sent, %v; want 5", n, err)
	}
	if len(s.calls) == 0 || s.calls[0] != 2 || s.at[0].Sub(claimed) >= w.Lease {
		t.Fatalf("FinishMails calls %v at %v (claimed at %v), want the first 2 sent finished within the 2 min lease", s.calls, s.at, claimed)
	}
}
