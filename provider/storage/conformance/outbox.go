package conformance

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// badEvent is an event whose write the store refuses (an event needs a
// type), after the change it goes with was written: the way to show that
// a change is rolled back with its event.
func badEvent(userID string) storage.Event {
	return storage.Event{Time: base(), Type: "", Actor: "test", UserID: userID, Outcome: "success"}
}

// mailEvent is an event that queues a mail to to.
func mailEvent(typ, userID, to string) storage.Event {
	return storage.Event{Time: base(), Type: typ, Actor: userID, UserID: userID, Outcome: "success",
		Mail: &storage.Mail{Kind: typ, UserID: userID, To: to, Subject: "About " + typ, Text: "Hello,\n" + typ + "\n"}}
}

func eventsOf(t *testing.T, s storage.Store, typ string) []storage.Event {
	t.Helper()
	got, err := s.ListEvents(t.Context(), storage.EventFilter{Type: typ, Limit: 100})
	must(t, "ListEvents "+typ, err)
	return got
}

// testChangeWithItsEvent: every write that takes events (UpdateUser,
// KVPut, KVDelete) commits them with the change, and a failing event write
// rolls the change back: neither is there.
func testChangeWithItsEvent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	deactivate := func(u storage.User) (storage.User, error) { u.Active = false; return u, nil }

	// UpdateUser.
	if _, err := s.UpdateUser(ctx, "u1", deactivate, badEvent("u1")); err == nil {
		t.Fatal("UpdateUser with an event the store refuses succeeded")
	}
	if u, err := s.GetUser(ctx, "u1"); err != nil || !u.Active {
		t.Fatalf("after a refused event the user is %+v, %v: the change was not rolled back", u, err)
	}
	ev := storage.Event{Time: base(), Type: "admin.user.update", Actor: "helpdesk", UserID: "u1", Outcome: "success",
		Details: map[string]string{"active": "false"}}
	if _, err := s.UpdateUser(ctx, "u1", deactivate, ev); err != nil {
		t.Fatalf("UpdateUser with its event: %v", err)
	}
	if u, _ := s.GetUser(ctx, "u1"); u.Active {
		t.Fatal("UpdateUser with its event did not change the user")
	}
	if got := eventsOf(t, s, "admin.user.update"); len(got) != 1 || got[0].Details["active"] != "false" {
		t.Fatalf("events after UpdateUser: %+v", got)
	}
	// fn refuses: no event either.
	refuse := errors.New("refused")
	if _, err := s.UpdateUser(ctx, "u1", func(storage.User) (storage.User, error) { return storage.User{}, refuse }, ev); !errors.Is(err, refuse) {
		t.Fatalf("UpdateUser whose fn refuses: %v", err)
	}
	if got := eventsOf(t, s, "admin.user.update"); len(got) != 1 {
		t.Fatalf("a refused update wrote its event: %d events", len(got))
	}

	// KVPut.
	now := base()
	if _, err := s.KVPut(ctx, "method/totp", "acct/u1", []byte("secret"), 0, time.Time{}, now, badEvent("u1")); err == nil {
		t.Fatal("KVPut with an event the store refuses succeeded")
	}
	mustErr(t, "KVGet after a refused event", kvGetErr(t, s, "method/totp", "acct/u1"), storage.ErrNotFound)
	added := mailEvent("method.added", "u1", "alice@example.com")
	v, err := s.KVPut(ctx, "method/totp", "acct/u1", []byte("secret"), 0, time.Time{}, now, added)
	must(t, "KVPut with its event", err)
	if got := eventsOf(t, s, "method.added"); len(got) != 1 || got[0].Mail != nil {
		t.Fatalf("events after KVPut: %+v", got)
	}
	// A put refused by its compare-and-swap writes no event and no mail.
	if _, err := s.KVPut(ctx, "method/totp", "acct/u1", []byte("again"), 0, time.Time{}, now, added); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	if got := eventsOf(t, s, "method.added"); len(got) != 1 {
		t.Fatalf("a refused KVPut wrote its event: %d events", len(got))
	}

	// KVDelete.
	if err := s.KVDelete(ctx, "method/totp", "acct/u1", v, badEvent("u1")); err == nil {
		t.Fatal("KVDelete with an event the store refuses succeeded")
	}
	must(t, "KVGet after a refused delete", kvGetErr(t, s, "method/totp", "acct/u1"))
	removed := mailEvent("method.removed", "u1", "alice@example.com")
	if err := s.KVDelete(ctx, "method/totp", "acct/u1", v+1, removed); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("KVDelete at a stale version: %v, want ErrConflict", err)
	}
	if got := eventsOf(t, s, "method.removed"); len(got) != 0 {
		t.Fatalf("a refused KVDelete wrote its event: %+v", got)
	}
	must(t, "KVDelete with its event", s.KVDelete(ctx, "method/totp", "acct/u1", v, removed))
	mustErr(t, "KVGet after the delete", kvGetErr(t, s, "method/totp", "acct/u1"), storage.ErrNotFound)
	if got := eventsOf(t, s, "method.removed"); len(got) != 1 {
		t.Fatalf("events after KVDelete: %+v", got)
	}

	// The mails of the committed events, and only those, are queued.
	ms, err := s.ClaimMail(ctx, now, time.Minute, 10)
	must(t, "ClaimMail", err)
	var kinds []string
	for _, m := range ms {
		kinds = append(kinds, m.Kind)
		if m.To != "alice@example.com" || m.UserID != "u1" || m.Subject != "About "+m.Kind || m.Attempts != 1 || m.Claim == "" {
			t.Errorf("claimed mail %+v", m)
		}
	}
	if !slices.Equal(kinds, []string{"method.added", "method.removed"}) {
		t.Fatalf("queued mails %v, want the two committed ones in order", kinds)
	}

	// A mail the outbox refuses (no recipient) rolls back the change and
	// its event too.
	noAddr := mailEvent("method.added", "u1", "")
	if _, err := s.KVPut(ctx, "method/totp", "acct/u1", []byte("secret"), 0, time.Time{}, now, noAddr); err == nil {
		t.Fatal("KVPut with a mail without a recipient succeeded")
	}
	mustErr(t, "KVGet after a refused mail", kvGetErr(t, s, "method/totp", "acct/u1"), storage.ErrNotFound)
	if got := eventsOf(t, s, "method.added"); len(got) != 1 {
		t.Fatalf("a refused mail left its event: %d events", len(got))
	}
}

// testDeleteWithItsEvent: ending a session and revoking a token write
// their event with the delete, and an event the store refuses keeps the
// row.
func testDeleteWithItsEvent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "alice")))
	must(t, "SaveLogin of a new session", createSession(ctx, s, newSession("s1", "u1", future())))
	rt := newRefreshToken("h1", "u1", "client-1", future())
	at := newAccessToken("at1", "u1", "client-1", future())
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt, &at))
	deletes := []struct {
		what   string
		delete func(...storage.Event) error
		gone   func() error
	}{
		{"DeleteSession", func(ev ...storage.Event) error { return s.DeleteSession(ctx, "s1", ev...) },
			func() error { _, err := s.GetSession(ctx, "s1"); return err }},
		{"DeleteAccessToken", func(ev ...storage.Event) error { return s.DeleteAccessToken(ctx, "at1", ev...) },
			func() error { _, err := s.GetAccessToken(ctx, "at1"); return err }},
		{"DeleteRefreshToken", func(ev ...storage.Event) error { return s.DeleteRefreshToken(ctx, "h1", ev...) },
			func() error { _, err := s.GetRefreshToken(ctx, "h1"); return err }},
	}
	for _, d := range deletes {
		if err := d.delete(badEvent("u1")); err == nil {
			t.Fatalf("%s with an event the store refuses succeeded", d.what)
		}
		must(t, d.what+" refused: the row is still there", d.gone())
		ev := storage.Event{Time: base(), Type: "deleted." + d.what, Actor: "u1", UserID: "u1", Outcome: "success"}
		must(t, d.what+" with its event", d.delete(ev))
		mustErr(t, d.what+" done", d.gone(), storage.ErrNotFound)
		if got := eventsOf(t, s, ev.Type); len(got) != 1 {
			t.Fatalf("events after %s: %+v", d.what, got)
		}
	}
}

func kvGetErr(t *testing.T, s storage.Store, ns, key string) error {
	_, err := s.KVGet(t.Context(), ns, key, base())
	return err
}

// queueMails queues n mails through AppendEvent and returns their
// subjects.
func queueMails(t *testing.T, s storage.Store, n int) []string {
	var subjects []string
	for i := range n {
		e := mailEvent("recovery.used", "u1", "alice@example.com")
		e.Mail.Subject = id("mail", i)
		must(t, "AppendEvent with a mail", s.AppendEvent(t.Context(), e))
		subjects = append(subjects, e.Mail.Subject)
	}
	return subjects
}

// testOutboxRetry: a claim is exclusive while its lease runs; a released
// message is due again when RetryMail says, with its error kept; a lapsed
// claim is taken again (a worker that died) and the stale claimant can
// neither finish nor release it; FinishMail removes it with its events.
func testOutboxRetry(t *testing.T, s storage.Store, c *clock) {
	ctx := t.Context()
	queueMails(t, s, 1)
	now := base()
	got, err := s.ClaimMail(ctx, now, time.Minute, 10)
	must(t, "ClaimMail", err)
	if len(got) != 1 || got[0].Attempts != 1 {
		t.Fatalf("first claim: %+v", got)
	}
	first := got[0]
	if again, err := s.ClaimMail(ctx, now.Add(59*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("a claimed mail was claimed again within its lease: %+v, %v", again, err)
	}
	must(t, "RetryMail", s.RetryMail(ctx, first.ID, first.Claim, now.Add(5*time.Minute), "connection refused"))
	mustErr(t, "RetryMail again with the released claim", s.RetryMail(ctx, first.ID, first.Claim, now, "x"), storage.ErrConflict)
	if early, err := s.ClaimMail(ctx, now.Add(4*time.Minute), time.Minute, 10); err != nil || len(early) != 0 {
		t.Fatalf("a mail was claimed before it was due again: %+v, %v", early, err)
	}
	got, err = s.ClaimMail(ctx, now.Add(5*time.Minute), time.Minute, 10)
	must(t, "ClaimMail when due again", err)
	if len(got) != 1 || got[0].ID != first.ID || got[0].Attempts != 2 || got[0].LastError != "connection refused" || got[0].Claim == first.Claim {
		t.Fatalf("second claim: %+v", got)
	}
	second := got[0]
	// The worker holding it dies: after the lease, another claims it.
	got, err = s.ClaimMail(ctx, now.Add(6*time.Minute), time.Minute, 10)
	must(t, "ClaimMail after the lease lapsed", err)
	if len(got) != 1 || got[0].Attempts != 3 {
		t.Fatalf("claim after a lapsed lease: %+v", got)
	}
	third := got[0]
	mustErr(t, "FinishMail with a lapsed claim", s.FinishMail(ctx, second.ID, second.Claim), storage.ErrConflict)
	mustErr(t, "RetryMail with a lapsed claim", s.RetryMail(ctx, second.ID, second.Claim, now, "x"), storage.ErrConflict)
	// FinishMail with an event the store refuses keeps the mail.
	if err := s.FinishMail(ctx, third.ID, third.Claim, badEvent("u1")); err == nil {
		t.Fatal("FinishMail with a refused event succeeded")
	}
	gaveUp := storage.Event{Time: base(), Type: "notify.mail_given_up", Actor: "system", UserID: "u1", Outcome: "failure"}
	must(t, "FinishMail", s.FinishMail(ctx, third.ID, third.Claim, gaveUp))
	if ev := eventsOf(t, s, "notify.mail_given_up"); len(ev) != 1 {
		t.Fatalf("events after FinishMail: %+v", ev)
	}
	if rest, err := s.ClaimMail(ctx, now.Add(time.Hour), time.Minute, 10); err != nil || len(rest) != 0 {
		t.Fatalf("a finished mail is still queued: %+v, %v", rest, err)
	}
	mustErr(t, "FinishMail twice", s.FinishMail(ctx, third.ID, third.Claim), storage.ErrConflict)
}

// testFinishMails: the sent messages of a claim go in one write, but for
// one whose claim lapsed and went to another worker, which keeps it.
func testFinishMails(t *testing.T, s storage.Store, _ *clock) {
	ctx, now := t.Context(), base()
	queueMails(t, s, 3)
	got, err := s.ClaimMail(ctx, now, time.Minute, 2)
	must(t, "ClaimMail", err)
	if len(got) != 2 {
		t.Fatalf("claimed %d mails, want 2", len(got))
	}
	// The third is claimed later and its lease lapses; another worker
	// takes it over.
	late, err := s.ClaimMail(ctx, now.Add(30*time.Second), time.Minute, 10)
	must(t, "ClaimMail", err)
	taken, err := s.ClaimMail(ctx, now.Add(2*time.Minute), time.Minute, 10)
	must(t, "ClaimMail after the lease lapsed", err)
	if len(late) != 1 || len(taken) != 3 {
		t.Fatalf("claims %d then %d, want 1 then 3 (every lease lapsed)", len(late), len(taken))
	}
	// The first worker finishes its three: every claim of it lapsed.
	sent := []storage.MailClaim{{ID: got[0].ID, Claim: got[0].Claim}, {ID: got[1].ID, Claim: got[1].Claim}, {ID: late[0].ID, Claim: late[0].Claim}}
	lapsed, err := s.FinishMails(ctx, sent)
	must(t, "FinishMails with lapsed claims", err)
	if len(lapsed) != 3 {
		t.Fatalf("FinishMails with three lapsed claims: lapsed %v", lapsed)
	}
	// The second worker finishes two of its three, and one with a claim
	// that is not its own.
	sent = []storage.MailClaim{{ID: taken[0].ID, Claim: taken[0].Claim}, {ID: taken[1].ID, Claim: "not-the-claim"}, {ID: taken[2].ID, Claim: taken[2].Claim}}
	lapsed, err = s.FinishMails(ctx, sent)
	must(t, "FinishMails", err)
	if len(lapsed) != 1 || lapsed[0] != taken[1].ID {
		t.Fatalf("FinishMails: lapsed %v, want [%d]", lapsed, taken[1].ID)
	}
	rest, err := s.ClaimMail(ctx, now.Add(time.Hour), time.Minute, 10)
	must(t, "ClaimMail", err)
	if len(rest) != 1 || rest[0].ID != taken[1].ID {
		t.Fatalf("left queued: %+v, want the one not finished", rest)
	}
	if lapsed, err := s.FinishMails(ctx, nil); err != nil || len(lapsed) != 0 {
		t.Fatalf("FinishMails of none: %v, %v", lapsed, err)
	}
}

// testConcurrentClaimMail: workers claiming at once (on one store or on
// two sharing a database) each get distinct messages, and every message
// goes to exactly one of them.
func testConcurrentClaimMail(t *testing.T, ss []storage.Store) {
	ctx := t.Context()
	const n = 40
	want := queueMails(t, ss[0], n)
	var mu sync.Mutex
	seen := map[string]int{}
	errs := atOnce(concurrency, func(i int) error {
		for {
			got, err := ss[i%len(ss)].ClaimMail(ctx, base(), time.Minute, 3)
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return nil
			}
			for _, m := range got {
				mu.Lock()
				seen[m.Subject]++
				mu.Unlock()
				if err := ss[i%len(ss)].FinishMail(ctx, m.ID, m.Claim); err != nil {
					return fmt.Errorf("FinishMail %d: %w", m.ID, err)
				}
			}
		}
	})
	tally(t, "ClaimMail", errs, nil)
	for _, s := range want {
		if seen[s] != 1 {
			t.Errorf("mail %s was claimed %d times, want exactly once", s, seen[s])
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct mails claimed, want %d", len(seen), n)
	}
}
