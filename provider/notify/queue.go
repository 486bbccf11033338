package notify

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// Queued is msg as a mail for the store's outbox, to be queued with the
// event of the change it follows (storage.Event.Mail): kind says what it
// is ("method added") and userID whom it is for, for the log and the
// audit, never its text. nil when msg has no recipient: there is nobody
// to tell.
func Queued(msg Message, kind, userID string) *storage.Mail {
	if msg.To == "" {
		return nil
	}
	return &storage.Mail{Kind: kind, UserID: userID, To: msg.To, Subject: msg.Subject, Text: msg.Text}
}

// Worker delivers the store's outbox: the mails queued with the changes
// they follow, once those changes have committed. Any number of workers
// (one per replica) may run on one store: each message is claimed by one
// of them at a time. Delivery is at least once: a worker that dies while
// sending leaves its claim to lapse, and the message is sent again (as
// are those of its claim it sent but had not yet removed: they go in
// one write per claim, or per half lease). A
// failed attempt is retried with exponential backoff; a message that
// fails MaxAttempts times, or that can never be sent
// (ErrInvalidMessage), is given up with a notify.mail_given_up event.
// Everything is on the clock Now; RunOnce is one pass, which tests drive.
type Worker struct {
	Store  storage.Store
	Sender Sender // nil: nothing is delivered, the outbox keeps its mail
	Now    func() time.Time
	Log    *slog.Logger

	// MaxAttempts bounds the tries of one message (default 8).
	MaxAttempts int
	// Backoff is the wait after the first failure (default 30 s); it
	// doubles after each further one, up to MaxBackoff (default 1 h).
	Backoff, MaxBackoff time.Duration
	// Lease is how long a claim holds a message (default 2 min): longer
	// than a send takes, which SendTimeout bounds (default 30 s).
	Lease, SendTimeout time.Duration
	// Batch is how many messages one claim takes (default 20).
	Batch int

	// mu makes the passes of one Worker one at a time: a pass that
	// returns has seen every message that was due when it began, even one
	// a concurrent pass (Run's) had claimed.
	mu   sync.Mutex
	once sync.Once
}

// GivenUpEvent is the type of the event of a message given up.
const GivenUpEvent = "notify.mail_given_up"

func (w *Worker) defaults() { w.once.Do(w.fill) }

func (w *Worker) fill() {
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = 8
	}
	if w.Backoff <= 0 {
		w.Backoff = 30 * time.Second
	}
	if w.MaxBackoff <= 0 {
		w.MaxBackoff = time.Hour
	}
	if w.SendTimeout <= 0 {
		w.SendTimeout = 30 * time.Second
	}
	if w.Lease <= w.SendTimeout {
		w.Lease = 4 * w.SendTimeout
	}
	if w.Batch <= 0 {
		w.Batch = 20
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	if w.Now == nil {
		w.Now = time.Now
	}
}

// backoff is the wait after the attempts-th failure.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.Backoff
	for i := 1; i < attempts && d < w.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.MaxBackoff)
}

// RunOnce delivers every message due now, claim after claim until none
// is left, and returns how many were sent. A message that fails is left
// for a later pass (or given up); an error is the store's.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	if w.Sender == nil {
		return 0, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.defaults()
	sent := 0
	for {
		now := w.Now()
		ms, err := w.Store.ClaimMail(ctx, now, w.Lease, w.Batch)
		if err != nil || len(ms) == 0 {
			return sent, err
		}
		// The sent messages of a claim are removed together, in one
		// write, or sooner once half the lease has gone by: a crash
		// before that sends them again (at least once).
		var done []storage.Mail
		finish := func() error {
			n, err := w.finish(ctx, done)
			sent, done = sent+n, done[:0]
			return err
		}
		for _, m := range ms {
			ok, err := w.deliver(ctx, m)
			if err != nil {
				_ = finish()
				return sent, err
			}
			if ok {
				done = append(done, m)
			}
			if w.Now().Sub(now) >= w.Lease/2 {
				if err := finish(); err != nil {
					return sent, err
				}
			}
		}
		if err := finish(); err != nil {
			return sent, err
		}
	}
}

// finish removes the sent messages from the outbox, and returns how many
// were sent.
func (w *Worker) finish(ctx context.Context, done []storage.Mail) (int, error) {
	if len(done) == 0 {
		return 0, nil
	}
	claims := make([]storage.MailClaim, len(done))
	for i, m := range done {
		claims[i] = storage.MailClaim{ID: m.ID, Claim: m.Claim}
	}
	lapsed, err := w.Store.FinishMails(ctx, claims)
	if err != nil {
		return 0, err
	}
	for _, m := range done {
		if slices.Contains(lapsed, m.ID) {
			// Sent, but the claim lapsed meanwhile: another worker may
			// send it again (at least once), nothing to undo here.
			w.Log.Warn("email sent after its claim lapsed", "what", m.Kind, "user", m.UserID, "mail", m.ID)
		}
	}
	return len(done), nil
}

// deliver sends one claimed message and records a failure; it reports
// whether the message was sent, for RunOnce to finish it.
func (w *Worker) deliver(ctx context.Context, m storage.Mail) (bool, error) {
	sctx, cancel := context.WithTimeout(ctx, w.SendTimeout)
	err := w.Sender.Send(sctx, Message{To: m.To, Subject: m.Subject, Text: m.Text})
	cancel()
	if err == nil {
		return true, nil
	}
	if ctx.Err() != nil { // shutting down: the claim lapses and another pass retries
		return false, ctx.Err()
	}
	invalid := errors.Is(err, ErrInvalidMessage)
	if invalid || m.Attempts >= w.MaxAttempts {
		w.Log.Error("email given up", "what", m.Kind, "user", m.UserID, "mail", m.ID, "attempts", m.Attempts, "err", err)
		e := storage.Event{Time: w.Now(), Type: GivenUpEvent, Actor: "system", UserID: m.UserID, Outcome: "failure",
			Details: map[string]string{"what": m.Kind, "attempts": strconv.Itoa(m.Attempts), "error": err.Error()}}
		if ferr := w.Store.FinishMail(ctx, m.ID, m.Claim, e); ferr != nil && !errors.Is(ferr, storage.ErrConflict) {
			return false, ferr
		}
		return false, nil
	}
	next := w.Now().Add(w.backoff(m.Attempts))
	w.Log.Warn("email not sent; will retry", "what", m.Kind, "user", m.UserID, "mail", m.ID, "attempts", m.Attempts,
		"retry_at", next.UTC().Format(time.RFC3339), "err", err)
	if rerr := w.Store.RetryMail(ctx, m.ID, m.Claim, next, err.Error()); rerr != nil && !errors.Is(rerr, storage.ErrConflict) {
		return false, rerr
	}
	return false, nil
}

// Run runs a pass at once and then after every tick until ctx ends,
// logging a store error rather than stopping.
func (w *Worker) Run(ctx context.Context, every time.Duration) {
	w.defaults()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("outbox delivery", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
