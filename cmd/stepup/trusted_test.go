package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

// A new password is a fresh start: set-password forgets the browsers the
// user trusted, and says so in the audit log.
func TestSetPasswordForgetsTrustedBrowsers(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, cheapArgon)
	if _, stderr, code := stepup(t, dir, "a long password\n", "user", "add", "alice", "--password-stdin", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	path := filepath.Join(dir, "stepup-data", "stepup.db")
	ctx := context.Background()
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.GetUserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// Expiring never (a zero ExpiresAt), so that no clock is involved.
	if err := store.CreateTrustedBrowser(ctx, storage.TrustedBrowser{Hash: "h", ID: "tb", UserID: u.ID, Name: "Firefox on Linux",
		Method: "totp", Levels: []string{"aal2"}, AMR: []string{"otp"}}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	if _, stderr, code := stepup(t, dir, "another long password\n", "user", "set-password", "alice", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	store, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if left, err := store.ListTrustedBrowsers(ctx, u.ID); err != nil || len(left) != 0 {
		t.Fatalf("trusted browsers after set-password: %v %+v", err, left)
	}
	ev, err := store.ListEvents(ctx, storage.EventFilter{Type: "trusted_browser.forgotten"})
	if err != nil || len(ev) != 1 || ev[0].UserID != u.ID || ev[0].Actor != "cli" || ev[0].Details["reason"] != "password changed" {
		t.Fatalf("forgetting not audited: %v %+v", err, ev)
	}
}
