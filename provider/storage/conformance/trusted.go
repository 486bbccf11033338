package conformance

import (
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func newTrustedBrowser(hash, id, userID string, expires time.Time) storage.TrustedBrowser {
	return storage.TrustedBrowser{Hash: hash, ID: id, UserID: userID, Name: "Firefox on Linux", Method: "totp",
		Levels: []string{"aal2"}, AMR: []string{"otp"}, CreatedAt: base().Add(-time.Minute), ExpiresAt: expires}
}

// eventTypesOf returns the types of the user's events, newest first.
func eventTypesOf(t *testing.T, s storage.Store, userID string) []string {
	t.Helper()
	evs, err := s.ListEvents(t.Context(), storage.EventFilter{UserID: userID})
	must(t, "ListEvents", err)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	return types
}

// testTrustedBrowsers: a trusted browser is found by its hash, listed
// for its user only, touched, forgotten one by one only by its own user
// and all at once, each change with its events in one write.
func testTrustedBrowsers(t *testing.T, s storage.Store) {
	ctx := t.Context()
	ev := func(typ, user string) storage.Event {
		return storage.Event{Time: base(), Type: typ, UserID: user, Outcome: "success", Details: map[string]string{"browser": "x"}}
	}
	a1 := newTrustedBrowser("h-a1", "tb-a1", "u-a", future())
	a2 := newTrustedBrowser("h-a2", "tb-a2", "u-a", future())
	a2.CreatedAt = base()
	b1 := newTrustedBrowser("h-b1", "tb-b1", "u-b", future())
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, a1, ev("trusted_browser.trusted", "u-a")))
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, a2))
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, b1))
	mustEqual(t, "events of CreateTrustedBrowser", eventTypesOf(t, s, "u-a"), []string{"trusted_browser.trusted"})

	dup := newTrustedBrowser("h-a1", "tb-new", "u-a", future())
	mustErr(t, "CreateTrustedBrowser of a taken hash", s.CreateTrustedBrowser(ctx, dup, ev("dup", "u-a")), storage.ErrAlreadyExists)
	dup = newTrustedBrowser("h-new", "tb-a1", "u-a", future())
	mustErr(t, "CreateTrustedBrowser of a taken ID", s.CreateTrustedBrowser(ctx, dup, ev("dup", "u-a")), storage.ErrAlreadyExists)
	mustEqual(t, "events after refused creates", eventTypesOf(t, s, "u-a"), []string{"trusted_browser.trusted"})

	got, err := s.GetTrustedBrowser(ctx, "h-a1")
	must(t, "GetTrustedBrowser", err)
	mustEqual(t, "GetTrustedBrowser", got, a1)
	_, err = s.GetTrustedBrowser(ctx, "h-none")
	mustErr(t, "GetTrustedBrowser of an unknown hash", err, storage.ErrNotFound)

	used := base().Add(time.Second)
	must(t, "TouchTrustedBrowser", s.TouchTrustedBrowser(ctx, "h-a1", used))
	mustErr(t, "TouchTrustedBrowser of an unknown hash", s.TouchTrustedBrowser(ctx, "h-none", used), storage.ErrNotFound)
	a1.LastUsedAt = used
	got, err = s.GetTrustedBrowser(ctx, "h-a1")
	must(t, "GetTrustedBrowser after touch", err)
	mustEqual(t, "GetTrustedBrowser after touch", got, a1)

	list, err := s.ListTrustedBrowsers(ctx, "u-a")
	must(t, "ListTrustedBrowsers", err)
	mustEqual(t, "ListTrustedBrowsers (newest first, the user's only)", list, []storage.TrustedBrowser{a2, a1})
	list, err = s.ListTrustedBrowsers(ctx, "u-none")
	must(t, "ListTrustedBrowsers of a user without", err)
	if len(list) != 0 {
		t.Fatalf("ListTrustedBrowsers of a user without: %d", len(list))
	}

	// Another user's browser is not the user's to forget.
	mustErr(t, "DeleteTrustedBrowser of another user's", s.DeleteTrustedBrowser(ctx, "u-a", "tb-b1", ev("forgot", "u-a")), storage.ErrNotFound)
	_, err = s.GetTrustedBrowser(ctx, "h-b1")
	must(t, "GetTrustedBrowser of the other user's after a refused delete", err)
	must(t, "DeleteTrustedBrowser", s.DeleteTrustedBrowser(ctx, "u-a", "tb-a1", ev("trusted_browser.forgotten", "u-a")))
	_, err = s.GetTrustedBrowser(ctx, "h-a1")
	mustErr(t, "GetTrustedBrowser after delete", err, storage.ErrNotFound)
	mustErr(t, "DeleteTrustedBrowser again", s.DeleteTrustedBrowser(ctx, "u-a", "tb-a1", ev("again", "u-a")), storage.ErrNotFound)
	mustEqual(t, "events of DeleteTrustedBrowser", eventTypesOf(t, s, "u-a"), []string{"trusted_browser.forgotten", "trusted_browser.trusted"})

	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, newTrustedBrowser("h-a3", "tb-a3", "u-a", future())))
	n, err := s.DeleteUserTrustedBrowsers(ctx, "u-a", ev("trusted_browser.forgotten_all", "u-a"))
	must(t, "DeleteUserTrustedBrowsers", err)
	if n != 2 {
		t.Fatalf("DeleteUserTrustedBrowsers removed %d, want 2", n)
	}
	list, err = s.ListTrustedBrowsers(ctx, "u-a")
	must(t, "ListTrustedBrowsers after DeleteUserTrustedBrowsers", err)
	if len(list) != 0 {
		t.Fatalf("ListTrustedBrowsers after DeleteUserTrustedBrowsers: %d left", len(list))
	}
	n, err = s.DeleteUserTrustedBrowsers(ctx, "u-a", ev("trusted_browser.forgotten_all", "u-a"))
	must(t, "DeleteUserTrustedBrowsers again", err)
	if n != 0 {
		t.Fatalf("DeleteUserTrustedBrowsers again removed %d, want 0", n)
	}
	mustEqual(t, "events of DeleteUserTrustedBrowsers", eventTypesOf(t, s, "u-a")[:2], []string{"trusted_browser.forgotten_all", "trusted_browser.forgotten_all"})
	_, err = s.GetTrustedBrowser(ctx, "h-b1")
	must(t, "GetTrustedBrowser of the other user's after DeleteUserTrustedBrowsers", err)
}

// testTrustedBrowserExpiry: a trusted browser lives until its ExpiresAt
// by the store's clock, for every method, and PurgeExpired removes it.
func testTrustedBrowserExpiry(t *testing.T, s storage.Store, c *clock) {
	ctx := t.Context()
	exp := base().Add(30 * 24 * time.Hour)
	for _, id := range []string{"get", "touch", "list", "delete", "count"} {
		must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, newTrustedBrowser("h-"+id, "tb-"+id, "u-"+id, exp)))
	}
	live := func(id string) []error {
		_, get := s.GetTrustedBrowser(ctx, "h-"+id)
		list, lerr := s.ListTrustedBrowsers(ctx, "u-"+id)
		if lerr == nil && len(list) == 0 {
			lerr = storage.ErrNotFound
		}
		return []error{get, s.TouchTrustedBrowser(ctx, "h-"+id, c.Now()), lerr}
	}
	c.Set(exp.Add(-time.Millisecond))
	for _, err := range live("get") {
		must(t, "a trusted browser a millisecond before its expiry", err)
	}
	c.Set(exp)
	for i, err := range live("get") {
		mustErr(t, []string{"GetTrustedBrowser", "TouchTrustedBrowser", "ListTrustedBrowsers"}[i]+" at its expiry", err, storage.ErrNotFound)
	}
	mustErr(t, "DeleteTrustedBrowser at its expiry", s.DeleteTrustedBrowser(ctx, "u-delete", "tb-delete"), storage.ErrNotFound)
	n, err := s.DeleteUserTrustedBrowsers(ctx, "u-count")
	must(t, "DeleteUserTrustedBrowsers at its expiry", err)
	if n != 0 {
		t.Fatalf("DeleteUserTrustedBrowsers at expiry counted %d live, want 0", n)
	}

	// Purged once past their expiry: the four left, and not a live one.
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, newTrustedBrowser("h-live", "tb-live", "u-live", exp.Add(time.Hour))))
	n, err = s.PurgeExpired(ctx, exp.Add(time.Millisecond))
	must(t, "PurgeExpired", err)
	if n != 4 {
		t.Fatalf("PurgeExpired removed %d rows, want the 4 expired trusted browsers", n)
	}
	c.Set(base())
	_, err = s.GetTrustedBrowser(ctx, "h-get")
	mustErr(t, "GetTrustedBrowser of a purged browser, the clock turned back", err, storage.ErrNotFound)
	_, err = s.GetTrustedBrowser(ctx, "h-live")
	must(t, "GetTrustedBrowser of a live browser after the purge", err)
}
